-- Issue 17: an account's sessions (their last use) and its own settings.

-- The last recorded use of a token (coalesced, not every request): the
-- client's address and User-Agent, and when; NULL last_used_at: none since
-- the login, whose are the address and User-Agent.
ALTER TABLE access_tokens ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN last_used_at INTEGER;
-- Covers the listing of an account's live sessions.
CREATE INDEX access_tokens_user_live ON access_tokens (user_id, id) WHERE revoked_at IS NULL;

-- The language the account chose.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
