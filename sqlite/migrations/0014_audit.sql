-- Issue 18: named admin credentials, created and revoked without a restart
-- (only the SHA-256 of each token), and the audit log of every admin write.
-- An entry keeps its credential's id (0: the bootstrap --admin-token) and
-- name, so it outlives the credential. before_json and after_json are the
-- resource as the admin API showed it, secrets redacted.
CREATE TABLE admin_credentials (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT    NOT NULL UNIQUE,
	token_hash BLOB    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);
CREATE TABLE audit_log (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	credential_id   INTEGER NOT NULL,
	credential_name TEXT    NOT NULL,
	method          TEXT    NOT NULL,
	route           TEXT    NOT NULL,
	resource        TEXT    NOT NULL,
	before_json     TEXT,
	after_json      TEXT,
	at              INTEGER NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_credential ON audit_log (credential_id, id);
CREATE INDEX audit_log_resource ON audit_log (resource, id);
