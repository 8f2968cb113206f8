-- Ring rosters are cached on each node (issue 9) and kept exact by a version
-- per intercom and a log of which account each version changed. Every write
-- that can change what a ring weighs at an intercom (a membership, a device's
-- settings for it, a member's devices and access tokens) bumps the version in
-- its own transaction, from the triggers below, so no write path can forget
-- to. The version row stays locked until the writer commits, so versions
-- commit in order: a reader that sees version n sees every change up to n,
-- and asks only for the accounts changed after the version it cached.
--
-- A write to an account's devices or tokens bumps the intercoms of the
-- account's memberships, as it finds them; a membership being made or
-- removed meanwhile must not slip between the two. So writes of memberships
-- lock the account (roster_lock_user) and writes of its devices and tokens
-- share the lock: a device write that finds the memberships either came
-- before the membership write (which then bumps after it committed) or
-- finds it committed.
CREATE TABLE roster_versions (
	intercom_id bigint PRIMARY KEY,
	version     bigint NOT NULL
);

-- The last rosterLog changes of each intercom; a node whose cached roster is
-- older reads it whole.
CREATE TABLE roster_changes (
	intercom_id bigint NOT NULL,
	version     bigint NOT NULL,
	user_id     bigint NOT NULL,
	PRIMARY KEY (intercom_id, version)
);

-- A bulk load (copydb) turns the triggers off for its transaction (SET LOCAL
-- intercomd.rosters_off = on) and moves the versions of every intercom past
-- the log once done: a trigger per row of a whole table, each bumping the
-- same version row again in one transaction, costs time quadratic in an
-- intercom's members.
CREATE FUNCTION roster_off() RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT coalesce(current_setting('intercomd.rosters_off', true), '') = 'on'
$$;

CREATE FUNCTION roster_touch(ic bigint, u bigint) RETURNS void LANGUAGE plpgsql AS $$
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
	DELETE FROM roster_changes WHERE intercom_id = ic AND version <= v - 256; -- rosterLog
END $$;

-- The account's lock (see above), shared or not, held to commit: its users
-- row's, which nothing else takes but a deletion (foreign keys take FOR KEY
-- SHARE, which conflicts with neither). A row lock, not an advisory lock: a
-- statement writing the memberships of thousands of accounts would exhaust
-- the lock table. An account being deleted has no row left to lock, and no
-- device write can wait for it.
CREATE FUNCTION roster_lock_user(u bigint, shared boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF shared THEN
		PERFORM 1 FROM users WHERE id = u FOR SHARE;
	ELSE
		PERFORM 1 FROM users WHERE id = u FOR NO KEY UPDATE;
	END IF;
END $$;

-- A membership's change: the account's lock, then the version. An intercom
-- being deleted (roster_touch) needs neither.
CREATE FUNCTION roster_touch_member(ic bigint, u bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM intercoms WHERE id = ic) THEN
		PERFORM roster_lock_user(u, false);
		PERFORM roster_touch(ic, u);
	END IF;
END $$;

-- Every intercom the account is a member of, in order (so that two writers
-- lock the versions in the same order). The memberships are read once the
-- account's lock is shared: after any membership write under way has
-- committed.
CREATE FUNCTION roster_touch_user(u bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	ic bigint;
BEGIN
	PERFORM roster_lock_user(u, true);
	FOR ic IN SELECT intercom_id FROM memberships WHERE user_id = u ORDER BY intercom_id LOOP
		PERFORM roster_touch(ic, u);
	END LOOP;
END $$;

CREATE FUNCTION roster_memberships() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF roster_off() THEN
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		PERFORM roster_touch_member(OLD.intercom_id, OLD.user_id);
	END IF;
	IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.intercom_id <> OLD.intercom_id OR NEW.user_id <> OLD.user_id) THEN
		PERFORM roster_touch_member(NEW.intercom_id, NEW.user_id);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER roster_memberships AFTER INSERT OR DELETE ON memberships
	FOR EACH ROW EXECUTE FUNCTION roster_memberships();
CREATE TRIGGER roster_memberships_update AFTER UPDATE ON memberships
	FOR EACH ROW WHEN ((OLD.intercom_id, OLD.user_id, OLD.flat, OLD.title, OLD.status)
		IS DISTINCT FROM (NEW.intercom_id, NEW.user_id, NEW.flat, NEW.title, NEW.status))
	EXECUTE FUNCTION roster_memberships();

CREATE FUNCTION roster_device_settings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	u bigint;
BEGIN
	IF roster_off() THEN
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		-- None when the device itself is being deleted: its own trigger tells.
		SELECT user_id INTO u FROM devices WHERE id = OLD.device_id;
		IF FOUND THEN
			PERFORM roster_touch(OLD.intercom_id, u);
		END IF;
	END IF;
	IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR (NEW.device_id, NEW.intercom_id) <> (OLD.device_id, OLD.intercom_id)) THEN
		SELECT user_id INTO u FROM devices WHERE id = NEW.device_id;
		PERFORM roster_touch(NEW.intercom_id, u);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER roster_device_settings AFTER INSERT OR DELETE ON device_settings
	FOR EACH ROW EXECUTE FUNCTION roster_device_settings();
CREATE TRIGGER roster_device_settings_update AFTER UPDATE ON device_settings
	FOR EACH ROW WHEN ((OLD.device_id, OLD.intercom_id, OLD.is_enabled, OLD.timetable)
		IS DISTINCT FROM (NEW.device_id, NEW.intercom_id, NEW.is_enabled, NEW.timetable))
	EXECUTE FUNCTION roster_device_settings();

-- A member's device or access token: every roster the account is on.
CREATE FUNCTION roster_of_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF roster_off() THEN
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		PERFORM roster_touch_user(OLD.user_id);
	END IF;
	IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.user_id <> OLD.user_id) THEN
		PERFORM roster_touch_user(NEW.user_id);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER roster_devices AFTER DELETE ON devices
	FOR EACH ROW EXECUTE FUNCTION roster_of_user();
CREATE TRIGGER roster_devices_update AFTER UPDATE ON devices
	FOR EACH ROW WHEN ((OLD.user_id, OLD.uuid, OLD.client, OLD.fcm_token, OLD.voip_token, OLD.huawei_token)
		IS DISTINCT FROM (NEW.user_id, NEW.uuid, NEW.client, NEW.fcm_token, NEW.voip_token, NEW.huawei_token))
	EXECUTE FUNCTION roster_of_user();
CREATE TRIGGER roster_access_tokens AFTER INSERT OR DELETE ON access_tokens
	FOR EACH ROW EXECUTE FUNCTION roster_of_user();
CREATE TRIGGER roster_access_tokens_update AFTER UPDATE ON access_tokens
	FOR EACH ROW WHEN ((OLD.user_id, OLD.device_id, OLD.public_id, OLD.expires_at, OLD.revoked_at)
		IS DISTINCT FROM (NEW.user_id, NEW.device_id, NEW.public_id, NEW.expires_at, NEW.revoked_at))
	EXECUTE FUNCTION roster_of_user();

-- A deleted intercom's changes go with it, but not its version: an
-- intercom may be created again under its id (CreateIntercom), and a node
-- that cached the old one's roster must not find the version it cached. The
-- version jumps past the log instead (rosterLog + 1), so that every roster
-- cached before is read whole, even one cached at version 0 (before this
-- migration, no row).
-- roster_skip_log moves an intercom's version past the log (rosterLog + 1)
-- and drops its changes: every roster of it cached before is read whole. A
-- bulk load (copydb) ends with it too.
CREATE FUNCTION roster_skip_log(ic bigint) RETURNS void LANGUAGE sql AS $$
	INSERT INTO roster_versions AS r (intercom_id, version) VALUES (ic, 257)
		ON CONFLICT (intercom_id) DO UPDATE SET version = r.version + 257;
	DELETE FROM roster_changes WHERE intercom_id = ic;
$$;
CREATE FUNCTION roster_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM roster_skip_log(OLD.id);
	RETURN NULL;
END $$;
CREATE TRIGGER roster_forget AFTER DELETE ON intercoms
	FOR EACH ROW EXECUTE FUNCTION roster_forget();
