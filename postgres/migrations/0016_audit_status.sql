-- Issue 18: an audit entry commits in its write's own transaction, before
-- the write is answered; status is the HTTP status it answered, added once
-- it is sent. NULL: the node stopped between the commit and the answer, or
-- the entry predates this migration (every one of those answered 2xx).
ALTER TABLE audit_log ADD COLUMN status INTEGER;
