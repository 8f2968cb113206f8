-- Issue 18: named admin credentials, created and revoked without a restart
-- (only the SHA-256 of each token), and the audit log of every admin write.
-- An entry keeps its credential's id (0: the bootstrap --admin-token) and
-- name, so it outlives the credential. before_json and after_json are the
-- resource as the admin API showed it, secrets redacted.
CREATE TABLE admin_credentials (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text        NOT NULL UNIQUE,
	token_hash bytea       NOT NULL UNIQUE,
	created_at timestamptz NOT NULL
);
CREATE TABLE audit_log (
	id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	credential_id   bigint      NOT NULL,
	credential_name text        NOT NULL,
	method          text        NOT NULL,
	route           text        NOT NULL,
	resource        text        NOT NULL,
	before_json     text,
	after_json      text,
	at              timestamptz NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_credential ON audit_log (credential_id, id);
CREATE INDEX audit_log_resource ON audit_log (resource, id);
