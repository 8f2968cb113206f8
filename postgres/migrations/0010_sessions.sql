-- Issue 17: an account's sessions (their last use) and its own settings.

-- The last recorded use of a token (coalesced, not every request): the
-- client's address and User-Agent, and when; NULL last_used_at: none since
-- the login, whose are the address and User-Agent. The roster triggers
-- (0006) do not watch these columns: recording a use changes no roster.
ALTER TABLE access_tokens ADD COLUMN ip text NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN user_agent text NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN last_used_at timestamptz;

-- The language the account chose.
ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT '';
