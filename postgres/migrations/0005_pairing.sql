-- Residents pair themselves (issue 11): the operator's flat range and door
-- features per intercom, the keys registered for it, pairing codes, the key a
-- pairing membership is bound to (and how long it waits for its flat),
-- visitor codes and the panel's access decisions.
ALTER TABLE intercoms ADD COLUMN first_flat bigint;
ALTER TABLE intercoms ADD COLUMN last_flat bigint;
ALTER TABLE intercoms ADD COLUMN open_door_code boolean NOT NULL DEFAULT false;
ALTER TABLE intercoms ADD COLUMN open_door_key boolean NOT NULL DEFAULT false;

ALTER TABLE memberships ADD COLUMN key_id text;
ALTER TABLE memberships ADD COLUMN flat_by timestamptz; -- a key_confirmed pairing waits for its flat until then
-- A key pairs one account with its intercom.
CREATE UNIQUE INDEX memberships_key ON memberships (intercom_id, key_id) WHERE key_id IS NOT NULL;

CREATE TABLE intercom_keys (
	intercom_id bigint      NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	key_id      text        NOT NULL,
	flat        bigint,
	note        text        NOT NULL,
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	PRIMARY KEY (intercom_id, key_id)
);

-- One live code per account; a code is unique among the rows, and rows
-- whose code expired are dropped before a new code is stored.
CREATE TABLE pairing_codes (
	user_id    bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	code       text        NOT NULL UNIQUE,
	client     text        NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX pairing_codes_expires ON pairing_codes (expires_at);

CREATE TABLE visitor_codes (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	intercom_id bigint      NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	title       text        NOT NULL,
	code        text        NOT NULL,
	expired_at  timestamptz NOT NULL,
	created_at  timestamptz NOT NULL
);
CREATE INDEX visitor_codes_user ON visitor_codes (user_id, id);
CREATE INDEX visitor_codes_intercom ON visitor_codes (intercom_id, code);
CREATE INDEX visitor_codes_expired ON visitor_codes (expired_at);

-- Every decision on a key or a code at a panel. user_id and code_id are not
-- foreign keys: the log outlives accounts and codes.
CREATE TABLE access_log (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	intercom_id bigint      NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	kind        text        NOT NULL,
	credential  text        NOT NULL,
	user_id     bigint,
	code_id     bigint,
	at          timestamptz NOT NULL,
	open        boolean     NOT NULL,
	reason      text        NOT NULL
);
CREATE INDEX access_log_intercom ON access_log (intercom_id, id);
