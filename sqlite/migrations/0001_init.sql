-- Times are Unix microseconds (UTC).
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	login         TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

CREATE TABLE devices (
	id           INTEGER PRIMARY KEY,
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
-- Covers the ring's look-up of an account's devices.
CREATE INDEX devices_user ON devices (user_id, id, uuid, client);

CREATE TABLE access_tokens (
	id         INTEGER PRIMARY KEY,
	public_id  TEXT    NOT NULL UNIQUE,
	token_hash BLOB    NOT NULL UNIQUE,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	device_id  INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX access_tokens_device ON access_tokens (device_id);
-- Covers the ring's look-up of a device's live tokens.
CREATE INDEX access_tokens_live ON access_tokens (device_id, expires_at, public_id) WHERE revoked_at IS NULL;

CREATE TABLE cameras (
	id                   INTEGER PRIMARY KEY,
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

CREATE TABLE camera_favorites (
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	camera_id  INTEGER NOT NULL REFERENCES cameras (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, camera_id)
);

CREATE TABLE intercoms (
	id                INTEGER PRIMARY KEY,
	address           TEXT    NOT NULL,
	department        INTEGER NOT NULL,
	camera_id         INTEGER REFERENCES cameras (id) ON DELETE SET NULL,
	secret_hash       BLOB    NOT NULL,
	control_url       TEXT,
	door_open_seconds INTEGER NOT NULL,
	last_heartbeat_at INTEGER,
	created_at        INTEGER NOT NULL
);

CREATE TABLE memberships (
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	intercom_id INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	flat        INTEGER,
	title       TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	created_at  INTEGER,
	updated_at  INTEGER,
	PRIMARY KEY (user_id, intercom_id)
);
-- Covers the ring's look-up of an intercom's members.
CREATE INDEX memberships_intercom_flat ON memberships (intercom_id, flat, user_id, status, title);

CREATE TABLE device_settings (
	device_id   INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	intercom_id INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	is_enabled  INTEGER NOT NULL,
	timetable   BLOB    NOT NULL, -- intercom.Timetable.MarshalBinary
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (device_id, intercom_id)
) WITHOUT ROWID;
CREATE INDEX device_settings_intercom ON device_settings (intercom_id);
