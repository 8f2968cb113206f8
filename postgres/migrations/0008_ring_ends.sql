-- Issue 15: every end of a ring reaches the phones it rang, and no call
-- outlives its conversation.

-- The language a device's notifications are written in (its last hl).
ALTER TABLE devices ADD COLUMN lang text NOT NULL DEFAULT '';

-- When an answered call's voice connected, and why a call ended.
ALTER TABLE calls ADD COLUMN connected_at timestamptz;
ALTER TABLE calls ADD COLUMN end_reason text NOT NULL DEFAULT '';
CREATE INDEX calls_answered ON calls (id) WHERE status = 'answered';

-- When and how each rung device was first seen acting on the call.
ALTER TABLE call_devices ADD COLUMN seen_at timestamptz;
ALTER TABLE call_devices ADD COLUMN seen_by text NOT NULL DEFAULT '';

-- A device gets several pushes about one call (the ring, its cancel, the
-- missed-call notification), each recorded with the provider's id of it.
ALTER TABLE call_sends ADD COLUMN type text NOT NULL DEFAULT 'intercom_ring';
ALTER TABLE call_sends ALTER COLUMN type DROP DEFAULT;
ALTER TABLE call_sends ADD COLUMN provider_id text NOT NULL DEFAULT '';
ALTER TABLE call_sends DROP CONSTRAINT call_sends_pkey;
ALTER TABLE call_sends ADD PRIMARY KEY (call_id, device_id, channel, type);
