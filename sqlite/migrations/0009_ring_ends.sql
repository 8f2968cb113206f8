-- Issue 15: every end of a ring reaches the phones it rang, and no call
-- outlives its conversation.

-- The language a device's notifications are written in (its last hl).
ALTER TABLE devices ADD COLUMN lang TEXT NOT NULL DEFAULT '';

-- When an answered call's voice connected, and why a call ended.
ALTER TABLE calls ADD COLUMN connected_at INTEGER;
ALTER TABLE calls ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX calls_answered ON calls (status) WHERE status = 'answered';

-- When and how each rung device was first seen acting on the call.
ALTER TABLE call_devices ADD COLUMN seen_at INTEGER;
ALTER TABLE call_devices ADD COLUMN seen_by TEXT NOT NULL DEFAULT '';

-- A device gets several pushes about one call (the ring, its cancel, the
-- missed-call notification), each recorded with the provider's id of it.
CREATE TABLE call_sends_new (
	call_id     INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	device_id   INTEGER NOT NULL,
	channel     TEXT    NOT NULL,
	type        TEXT    NOT NULL,
	attempts    INTEGER NOT NULL,
	outcome     TEXT    NOT NULL,
	status      INTEGER NOT NULL,
	reason      TEXT    NOT NULL,
	provider_id TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	PRIMARY KEY (call_id, device_id, channel, type)
) WITHOUT ROWID;
INSERT INTO call_sends_new (call_id, device_id, channel, type, attempts, outcome, status, reason, provider_id, at)
	SELECT call_id, device_id, channel, 'intercom_ring', attempts, outcome, status, reason, '', at FROM call_sends;
DROP TABLE call_sends;
ALTER TABLE call_sends_new RENAME TO call_sends;
