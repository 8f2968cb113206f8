-- A ring at a large house records a thousand call_devices rows and a row of
-- call_accounts per account in one transaction, and their foreign keys were
-- checked row by row, each check locking the call or the account: about 7
-- of the 10 ms that recording a call to 1,000 devices took (issue 9). The
-- rows are only ever written with the call they belong to, so the
-- references are kept instead by deleting, once per statement, what hung off
-- a deleted call or account. An account deleted while a ring records it
-- (the key used to order the two) may leave a row in call_accounts that
-- nothing reads, ids never being reused, and its devices in that ringing
-- call: pushed to, but unable to answer, having no token left.
ALTER TABLE call_devices DROP CONSTRAINT call_devices_call_id_fkey;
ALTER TABLE call_accounts DROP CONSTRAINT call_accounts_call_id_fkey;
ALTER TABLE call_accounts DROP CONSTRAINT call_accounts_user_id_fkey;

CREATE FUNCTION calls_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM call_devices WHERE call_id IN (SELECT id FROM gone);
	DELETE FROM call_accounts WHERE call_id IN (SELECT id FROM gone);
	RETURN NULL;
END $$;
CREATE TRIGGER calls_forget AFTER DELETE ON calls
	REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION calls_forget();

CREATE FUNCTION users_forget_calls() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM call_accounts WHERE user_id IN (SELECT id FROM gone);
	RETURN NULL;
END $$;
CREATE TRIGGER users_forget_calls AFTER DELETE ON users
	REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION users_forget_calls();
