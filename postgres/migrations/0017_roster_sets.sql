-- Issue 19: what the roster versions (0006) cost a login or a device write.
-- Such a write moved the version of each intercom of the account one at a
-- time, three statements an intercom (the version, the change, the log's
-- pruning): 150 for an account in 50 intercoms. roster_touch_user now moves
-- them all in two statements, in intercom order as before, and the log is
-- pruned when a version is a multiple of 64 rather than at every change: it
-- holds the last 256 to 319 changes of an intercom (readers need the last
-- 256, rosterLog; more do no harm).
CREATE OR REPLACE FUNCTION roster_touch(ic bigint, u bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v bigint;
BEGIN
	-- An intercom being deleted takes its memberships with it: roster_forget
	-- moves its version.
	IF NOT EXISTS (SELECT 1 FROM intercoms WHERE id = ic) THEN
		RETURN;
	END IF;
	INSERT INTO roster_versions AS r (intercom_id, version) VALUES (ic, 1)
		ON CONFLICT (intercom_id) DO UPDATE SET version = r.version + 1
		RETURNING version INTO v;
	INSERT INTO roster_changes (intercom_id, version, user_id) VALUES (ic, v, u);
	IF v % 64 = 0 THEN
		DELETE FROM roster_changes WHERE intercom_id = ic AND version <= v - 256; -- rosterLog
	END IF;
END $$;

CREATE OR REPLACE FUNCTION roster_touch_user(u bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM roster_lock_user(u, true);
	WITH bumped AS (
		INSERT INTO roster_versions AS r (intercom_id, version)
			SELECT m.intercom_id, 1 FROM memberships m JOIN intercoms i ON i.id = m.intercom_id
			WHERE m.user_id = u ORDER BY m.intercom_id
			ON CONFLICT (intercom_id) DO UPDATE SET version = r.version + 1
			RETURNING intercom_id, version
	)
	INSERT INTO roster_changes (intercom_id, version, user_id) SELECT intercom_id, version, u FROM bumped;
	DELETE FROM roster_changes c USING memberships m, roster_versions r
		WHERE m.user_id = u AND r.intercom_id = m.intercom_id AND r.version % 64 = 0
		AND c.intercom_id = r.intercom_id AND c.version <= r.version - 256; -- rosterLog
END $$;
