CREATE TABLE calls (
	id          INTEGER PRIMARY KEY,
	intercom_id INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	flat        INTEGER,
	status      TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	started_at  INTEGER,
	ended_at    INTEGER,
	answered_by INTEGER -- a device id; the device may be gone since
);
CREATE INDEX calls_ringing ON calls (status) WHERE status = 'ring';

-- Every device a call concerned: rung (channels set) or skipped (reason set).
CREATE TABLE call_devices (
	call_id     INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	device_id   INTEGER NOT NULL,
	user_id     INTEGER NOT NULL,
	uuid        TEXT    NOT NULL,
	client      TEXT    NOT NULL,
	title       TEXT    NOT NULL, -- the account's name for the intercom then
	channels    TEXT    NOT NULL, -- comma-separated
	reason      TEXT    NOT NULL, -- '' when rung
	tokens      TEXT    NOT NULL, -- comma-separated access_token_ids: its event channels
	declined_at INTEGER,
	PRIMARY KEY (call_id, device_id)
);

-- The accounts whose history holds a call.
CREATE TABLE call_accounts (
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	call_id INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, call_id)
);

-- Intercoms authenticate by their secret's hash.
CREATE UNIQUE INDEX intercoms_secret_hash ON intercoms (secret_hash);
