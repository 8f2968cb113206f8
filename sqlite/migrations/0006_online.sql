-- Whether an intercom was last announced online (intercom.status): a
-- heartbeat sets it, the offline sweep clears it, each change once.
ALTER TABLE intercoms ADD COLUMN online INTEGER NOT NULL DEFAULT 0;
UPDATE intercoms SET online = 1 WHERE last_heartbeat_at IS NOT NULL;
CREATE INDEX intercoms_online ON intercoms (last_heartbeat_at) WHERE online = 1;
