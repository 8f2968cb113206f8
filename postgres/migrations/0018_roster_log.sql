-- Issue 19: the roster versions (0006, 0017) serialized every writer of an
-- intercom's members on its roster_versions row, locked to the commit. The
-- rosters are now kept exact by an append-only log ordered by transaction
-- id, which writers only insert into.
--
-- Every write a ring weighs logs (intercom, account, its transaction's id),
-- from the same triggers as before. A node reads, in one statement (one
-- snapshot), the xmin of its snapshot and the entries of the intercom whose
-- xid is at least the xmin it cached the roster at (its watermark): a
-- transaction the roster's snapshot did not see has an xid at least that
-- snapshot's xmin, so every write committed since is found. Entries of
-- transactions still in flight are found again next time, which is
-- harmless.
--
-- The account's lock (roster_lock_user, 0006) stays: a write to an
-- account's devices or tokens logs the intercoms of the memberships it
-- finds, and a membership being made meanwhile must not slip between them.
-- The version rows' lock order is gone with them: nothing but pruning
-- updates a shared row.
CREATE TABLE roster_log (
	intercom_id bigint NOT NULL,
	xid         bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
	user_id     bigint NOT NULL
);
CREATE INDEX roster_log_intercom ON roster_log (intercom_id, xid);

-- Pruning: an intercom's entries with an xid up to through may be gone, so a
-- roster cached at a watermark up to through is read whole. Only pruning and
-- roster_skip_log write these rows, never a write's trigger otherwise.
-- entries counts the entries pruned and skipped, for roster_versions below.
CREATE TABLE roster_pruned (
	intercom_id bigint PRIMARY KEY,
	through     bigint NOT NULL,
	entries     bigint NOT NULL
);

-- A node of the previous release, still running while the new ones migrate
-- (README, Upgrades), reads roster_versions and roster_changes, and serves
-- its cached roster while the version stays and reads it whole when it
-- moves past the log (256). roster_versions becomes a view whose version is
-- 257 times the entries ever logged for the intercom: it moves with every
-- commit that logs one, past the log each time, and pruning (which moves
-- entries from the log to roster_pruned.entries in one transaction) leaves
-- it. Each intercom starts past its last version, so that no roster the
-- previous release cached is served again; roster_changes stays, empty. A
-- later migration drops both.
LOCK TABLE roster_versions, roster_changes IN ACCESS EXCLUSIVE MODE; -- no write in flight: every version read
INSERT INTO roster_pruned (intercom_id, through, entries) SELECT intercom_id, 0, version + 1 FROM roster_versions;
DROP TABLE roster_versions;
DELETE FROM roster_changes;
CREATE VIEW roster_versions AS
	SELECT intercom_id, 257 * sum(n)::bigint AS version FROM (
		SELECT intercom_id, entries AS n FROM roster_pruned
		UNION ALL SELECT intercom_id, count(*) FROM roster_log GROUP BY intercom_id
	) e GROUP BY intercom_id;

-- Which entries prune their intercom's log: those whose number hashes to a
-- multiple of 64 (one in 64, spread over the intercoms whatever the order
-- writers log them in). A sequence is not locked to the commit.
CREATE SEQUENCE roster_log_n;

-- roster_prune keeps an intercom's newest 256 entries by xid (rosterLog)
-- and those it cannot see (of transactions in flight), and moves the
-- intercom's mark past what it deleted.
CREATE FUNCTION roster_prune(ic bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	cut bigint;
BEGIN
	SELECT xid INTO cut FROM roster_log WHERE intercom_id = ic ORDER BY xid DESC OFFSET 255 LIMIT 1; -- rosterLog - 1
	IF cut IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO roster_pruned AS p (intercom_id, through, entries) VALUES (ic, cut - 1, 0)
		ON CONFLICT (intercom_id) DO UPDATE SET through = greatest(p.through, excluded.through);
	WITH gone AS (DELETE FROM roster_log WHERE intercom_id = ic AND xid < cut RETURNING 1)
	UPDATE roster_pruned SET entries = entries + (SELECT count(*) FROM gone) WHERE intercom_id = ic;
END $$;

CREATE OR REPLACE FUNCTION roster_touch(ic bigint, u bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	-- An intercom being deleted takes its memberships with it: roster_forget
	-- marks its log.
	IF NOT EXISTS (SELECT 1 FROM intercoms WHERE id = ic) THEN
		RETURN;
	END IF;
	INSERT INTO roster_log (intercom_id, user_id) VALUES (ic, u);
	IF hashint8(nextval('roster_log_n')) & 63 = 0 THEN
		PERFORM roster_prune(ic);
	END IF;
END $$;

-- Every intercom the account is a member of, in one statement, after the
-- account's lock; the intercoms to prune in order (two writers pruning the
-- same ones take their marks in the same order).
CREATE OR REPLACE FUNCTION roster_touch_user(u bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	prune bigint[];
	ic bigint;
BEGIN
	PERFORM roster_lock_user(u, true);
	WITH logged AS (
		INSERT INTO roster_log (intercom_id, user_id)
			SELECT m.intercom_id, u FROM memberships m JOIN intercoms i ON i.id = m.intercom_id WHERE m.user_id = u
			RETURNING intercom_id
	)
	SELECT array_agg(intercom_id ORDER BY intercom_id) INTO prune FROM logged
		WHERE hashint8(nextval('roster_log_n')) & 63 = 0;
	IF prune IS NOT NULL THEN
		FOREACH ic IN ARRAY prune LOOP
			PERFORM roster_prune(ic);
		END LOOP;
	END IF;
END $$;

-- roster_skip_log drops an intercom's log and marks it through this
-- transaction: a roster of it cached before this transaction committed has
-- a watermark no greater than its xid, and is read whole. An intercom's
-- deletion (roster_forget: it may be created again under its id) and a bulk
-- load (copydb) end with it.
CREATE OR REPLACE FUNCTION roster_skip_log(ic bigint) RETURNS void LANGUAGE sql AS $$
	INSERT INTO roster_pruned AS p (intercom_id, through, entries) VALUES (ic, pg_current_xact_id()::text::bigint, 1)
		ON CONFLICT (intercom_id) DO UPDATE SET through = greatest(p.through, excluded.through), entries = p.entries + 1;
	WITH gone AS (DELETE FROM roster_log WHERE intercom_id = ic RETURNING 1)
	UPDATE roster_pruned SET entries = entries + (SELECT count(*) FROM gone) WHERE intercom_id = ic;
$$;
