-- intercomd: foreign_keys=off
-- Ids are never reused, not even after a deletion (API.md §1): SQLite hands
-- out max(rowid)+1, so deleting the newest account gave its id (and its
-- device's and token's) to the next one. AUTOINCREMENT keeps the highest id
-- ever used in sqlite_sequence and never goes below it, but SQLite adds it
-- only by rebuilding a table: SQLite's own procedure for schema changes
-- (https://sqlite.org/lang_altertable.html#otheralter), run with foreign keys
-- off so that dropping the old tables cascades nothing; the runner checks
-- foreign_key_check before committing. Columns, constraints and indexes are
-- exactly those of 0001-0004.

CREATE TABLE users_new (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	login         TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
INSERT INTO users_new SELECT id, login, password_hash, name, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE devices_new (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	uuid         TEXT    NOT NULL,
	client       TEXT    NOT NULL,
	fcm_token    TEXT,
	apn_token    TEXT,
	voip_token   TEXT,
	huawei_token TEXT,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (user_id, uuid)
);
INSERT INTO devices_new SELECT id, user_id, uuid, client, fcm_token, apn_token, voip_token, huawei_token, created_at, updated_at FROM devices;
DROP TABLE devices;
ALTER TABLE devices_new RENAME TO devices;
-- Covers the ring's look-up of an account's devices.
CREATE INDEX devices_user ON devices (user_id, id, uuid, client);

CREATE TABLE access_tokens_new (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	public_id  TEXT    NOT NULL UNIQUE,
	token_hash BLOB    NOT NULL UNIQUE,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	device_id  INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER
);
INSERT INTO access_tokens_new SELECT id, public_id, token_hash, user_id, device_id, created_at, expires_at, revoked_at FROM access_tokens;
DROP TABLE access_tokens;
ALTER TABLE access_tokens_new RENAME TO access_tokens;
CREATE INDEX access_tokens_device ON access_tokens (device_id);
-- Covers the ring's look-up of a device's live tokens.
CREATE INDEX access_tokens_live ON access_tokens (device_id, expires_at, public_id) WHERE revoked_at IS NULL;

CREATE TABLE cameras_new (
	id                   INTEGER PRIMARY KEY AUTOINCREMENT,
	group_id             INTEGER,
	status               TEXT    NOT NULL,
	type                 TEXT    NOT NULL,
	start_at             INTEGER,
	created_at           INTEGER NOT NULL,
	billing_id           TEXT,
	pretty_name          TEXT    NOT NULL,
	lat                  REAL,
	lng                  REAL,
	azimuth              REAL,
	is_archive_recording INTEGER NOT NULL,
	is_bridge            INTEGER NOT NULL,
	user_status          TEXT    NOT NULL,
	name                 TEXT    NOT NULL
);
INSERT INTO cameras_new SELECT id, group_id, status, type, start_at, created_at, billing_id, pretty_name, lat, lng, azimuth,
	is_archive_recording, is_bridge, user_status, name FROM cameras;
DROP TABLE cameras;
ALTER TABLE cameras_new RENAME TO cameras;

CREATE TABLE intercoms_new (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	address           TEXT    NOT NULL,
	department        INTEGER NOT NULL,
	camera_id         INTEGER REFERENCES cameras (id) ON DELETE SET NULL,
	secret_hash       BLOB    NOT NULL,
	control_url       TEXT,
	door_open_seconds INTEGER NOT NULL,
	last_heartbeat_at INTEGER,
	created_at        INTEGER NOT NULL
);
INSERT INTO intercoms_new SELECT id, address, department, camera_id, secret_hash, control_url, door_open_seconds,
	last_heartbeat_at, created_at FROM intercoms;
DROP TABLE intercoms;
ALTER TABLE intercoms_new RENAME TO intercoms;
-- Intercoms authenticate by their secret's hash.
CREATE UNIQUE INDEX intercoms_secret_hash ON intercoms (secret_hash);

CREATE TABLE calls_new (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	intercom_id INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	flat        INTEGER,
	status      TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	started_at  INTEGER,
	ended_at    INTEGER,
	answered_by INTEGER -- a device id; the device may be gone since
);
INSERT INTO calls_new SELECT id, intercom_id, flat, status, created_at, started_at, ended_at, answered_by FROM calls;
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;
CREATE INDEX calls_ringing ON calls (status) WHERE status = 'ring';

CREATE TABLE control_log_new (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	intercom_id INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	event       TEXT    NOT NULL,
	call_id     INTEGER,
	user_id     INTEGER,
	device      TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	ok          INTEGER NOT NULL,
	status      INTEGER NOT NULL,
	error       TEXT    NOT NULL,
	timed_out   INTEGER NOT NULL
);
INSERT INTO control_log_new SELECT id, intercom_id, event, call_id, user_id, device, at, ok, status, error, timed_out FROM control_log;
DROP TABLE control_log;
ALTER TABLE control_log_new RENAME TO control_log;
CREATE INDEX control_log_intercom ON control_log (intercom_id, event, id);
