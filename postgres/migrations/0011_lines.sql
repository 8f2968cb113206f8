-- Issue 17: the flat's handset and landline.

-- Which lines an intercom has besides the apps: flats' analog handsets, and
-- forwarding to flats' SIP landlines. The operator sets them.
ALTER TABLE intercoms ADD COLUMN analog_line boolean NOT NULL DEFAULT false;
ALTER TABLE intercoms ADD COLUMN landline_line boolean NOT NULL DEFAULT false;

-- A flat's choice of its handset and landline, shared by its accounts, and
-- the landline's SIP URI the operator set. No row: intercom.DefaultFlatLines.
CREATE TABLE flat_lines (
	intercom_id  bigint      NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	flat         bigint      NOT NULL, -- -1: a private house (memberships without a flat)
	analog       boolean     NOT NULL,
	landline     boolean     NOT NULL,
	landline_uri text        NOT NULL,
	updated_at   timestamptz NOT NULL,
	PRIMARY KEY (intercom_id, flat)
);

-- What a call rang besides the apps (the handset; the landline's URI, '' for
-- none), and which of them answered ('' for none: a device, or nobody).
ALTER TABLE calls ADD COLUMN analog boolean NOT NULL DEFAULT false;
ALTER TABLE calls ADD COLUMN landline text NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN answered_on text NOT NULL DEFAULT '';
