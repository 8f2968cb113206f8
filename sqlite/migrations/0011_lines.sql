-- Issue 17: the flat's handset and landline.

-- Which lines an intercom has besides the apps: flats' analog handsets, and
-- forwarding to flats' SIP landlines. The operator sets them.
ALTER TABLE intercoms ADD COLUMN analog_line INTEGER NOT NULL DEFAULT 0;
ALTER TABLE intercoms ADD COLUMN landline_line INTEGER NOT NULL DEFAULT 0;

-- A flat's choice of its handset and landline, shared by its accounts, and
-- the landline's SIP URI the operator set. No row: intercom.DefaultFlatLines.
CREATE TABLE flat_lines (
	intercom_id  INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	flat         INTEGER NOT NULL, -- -1: a private house (memberships without a flat)
	analog       INTEGER NOT NULL,
	landline     INTEGER NOT NULL,
	landline_uri TEXT    NOT NULL,
	updated_at   INTEGER NOT NULL,
	PRIMARY KEY (intercom_id, flat)
);

-- What a call rang besides the apps (the handset; the landline's URI, '' for
-- none), and which of them answered ('' for none: a device, or nobody).
ALTER TABLE calls ADD COLUMN analog INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN landline TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN answered_on TEXT NOT NULL DEFAULT '';
