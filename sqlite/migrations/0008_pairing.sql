-- Residents pair themselves (issue 11): the operator's flat range and door
-- features per intercom, the keys registered for it, pairing codes, the key a
-- pairing membership is bound to (and how long it waits for its flat),
-- visitor codes and the panel's access decisions.
ALTER TABLE intercoms ADD COLUMN first_flat INTEGER;
ALTER TABLE intercoms ADD COLUMN last_flat INTEGER;
ALTER TABLE intercoms ADD COLUMN open_door_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE intercoms ADD COLUMN open_door_key INTEGER NOT NULL DEFAULT 0;

ALTER TABLE memberships ADD COLUMN key_id TEXT;
ALTER TABLE memberships ADD COLUMN flat_by INTEGER; -- a key_confirmed pairing waits for its flat until then
-- A key pairs one account with its intercom.
CREATE UNIQUE INDEX memberships_key ON memberships (intercom_id, key_id) WHERE key_id IS NOT NULL;

CREATE TABLE intercom_keys (
	intercom_id INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	key_id      TEXT    NOT NULL,
	flat        INTEGER,
	note        TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (intercom_id, key_id)
) WITHOUT ROWID;

-- One live code per account; a code is unique among the rows, and rows
-- whose code expired are dropped before a new code is stored.
CREATE TABLE pairing_codes (
	user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	code       TEXT    NOT NULL UNIQUE,
	client     TEXT    NOT NULL,
	expires_at INTEGER NOT NULL
);

CREATE TABLE visitor_codes (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	intercom_id INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	title       TEXT    NOT NULL,
	code        TEXT    NOT NULL,
	expired_at  INTEGER NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX visitor_codes_user ON visitor_codes (user_id, id);
CREATE INDEX visitor_codes_intercom ON visitor_codes (intercom_id, code);
CREATE INDEX visitor_codes_expired ON visitor_codes (expired_at);

-- Every decision on a key or a code at a panel. user_id and code_id are not
-- foreign keys: the log outlives accounts and codes.
CREATE TABLE access_log (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	intercom_id INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	kind        TEXT    NOT NULL,
	credential  TEXT    NOT NULL,
	user_id     INTEGER,
	code_id     INTEGER,
	at          INTEGER NOT NULL,
	open        INTEGER NOT NULL,
	reason      TEXT    NOT NULL
);
CREATE INDEX access_log_intercom ON access_log (intercom_id, id);
