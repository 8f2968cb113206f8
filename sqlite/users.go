package sqlite

import (
	"context"
	"database/sql"
	"time"

	"intercom"
)

// CreateUser adds an account.
func (db *DB) CreateUser(ctx context.Context, u intercom.User) (intercom.User, error) {
	err := db.quiet(ctx, func(q querier) error {
		return q.QueryRow(`INSERT INTO users (login, password_hash, name, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			u.Login, u.PasswordHash, u.Name, micros(u.CreatedAt), micros(u.UpdatedAt)).Scan(&u.ID)
	})
	return u, err
}

// DeleteUser removes an account and everything that hangs off it, and ends
// its part in the calls still ringing: its devices can no longer answer them.
// Finished calls keep their record of its devices, for the admin's history.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	return db.scoped(ctx, func(q querier, ch *change) error {
		ch.users, ch.sessions = []int64{id}, []int64{id}
		if err := mustAffect(q.Exec(`DELETE FROM users WHERE id = ?`, id)); err != nil {
			return err
		}
		_, err := q.Exec(`DELETE FROM call_devices WHERE user_id = ?
			AND call_id IN (SELECT id FROM calls WHERE status = 'ring')`, id)
		return err
	})
}

const userColumns = `id, login, password_hash, name, language, created_at, updated_at`

func scanUser(row scanner) (intercom.User, error) {
	var u intercom.User
	var created, updated int64
	err := row.Scan(&u.ID, &u.Login, &u.PasswordHash, &u.Name, &u.Language, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return u, err
}

// UserByLogin finds an account by its exact login.
func (db *DB) UserByLogin(ctx context.Context, login string) (intercom.User, error) {
	u, err := scanUser(db.reader(ctx).QueryRow(`SELECT `+userColumns+` FROM users WHERE login = ?`, login))
	return u, wrap(err)
}

// UserByID finds an account.
func (db *DB) UserByID(ctx context.Context, id int64) (intercom.User, error) {
	u, err := scanUser(db.reader(ctx).QueryRow(`SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, wrap(err)
}

// CreateAccessToken records a session, creating its device if needed.
func (db *DB) CreateAccessToken(ctx context.Context, t intercom.AccessToken) (intercom.AccessToken, error) {
	err := db.scoped(ctx, func(q querier, ch *change) error {
		ch.sessions = []int64{t.UserID} // the device's client may change
		return insertToken(q, &t)
	})
	return t, err
}

// insertToken records the device t.DeviceUUID of t.UserID and the token,
// setting t.DeviceID and t.ID.
func insertToken(q querier, t *intercom.AccessToken) error {
	now := micros(t.CreatedAt)
	err := q.QueryRow(`INSERT INTO devices (user_id, uuid, client, created_at, updated_at, lang)
		SELECT id, ?, ?, ?, ?, ? FROM users WHERE id = ?
		ON CONFLICT (user_id, uuid) DO UPDATE SET client = excluded.client, updated_at = excluded.updated_at,
			lang = CASE WHEN excluded.lang = '' THEN devices.lang ELSE excluded.lang END
		RETURNING id`, t.DeviceUUID, t.Client, now, now, t.Lang, t.UserID).Scan(&t.DeviceID)
	if err != nil {
		return err
	}
	t.LastUsedAt = t.CreatedAt
	return q.QueryRow(`INSERT INTO access_tokens (public_id, token_hash, user_id, device_id, created_at, expires_at, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.PublicID, t.Hash, t.UserID, t.DeviceID, now, micros(t.ExpiresAt), t.IP, t.UserAgent).Scan(&t.ID)
}

// AccessTokenByHash finds a token by the hash of its secret. Tokens found
// are cached (cache.go).
func (db *DB) AccessTokenByHash(ctx context.Context, hash []byte) (intercom.AccessToken, error) {
	c := &db.caches
	if t, ok := c.sessions.Get(&c.log, string(hash), func(ch *change, t intercom.AccessToken) bool { return ch.touchesSession(t.UserID) }); ok {
		return t, nil
	}
	gen := c.log.Now()
	t, err := db.accessToken(ctx, hash)
	if err == nil {
		c.sessions.Put(&db.caches.log, string(hash), gen, t)
	}
	return t, err
}

func (db *DB) accessToken(ctx context.Context, hash []byte) (intercom.AccessToken, error) {
	t, err := scanToken(db.reader(ctx).QueryRow(`SELECT `+tokenColumns+`
		FROM access_tokens t JOIN devices d ON d.id = t.device_id
		WHERE t.token_hash = ?`, hash))
	return t, wrap(err)
}

const tokenColumns = `t.id, t.public_id, t.token_hash, t.user_id, t.device_id, d.uuid, d.client,
	t.created_at, t.expires_at, t.revoked_at, t.ip, t.user_agent, coalesce(t.last_used_at, t.created_at)`

func scanToken(row scanner) (intercom.AccessToken, error) {
	var t intercom.AccessToken
	var created, expires, last int64
	var revoked sql.NullInt64
	err := row.Scan(&t.ID, &t.PublicID, &t.Hash, &t.UserID, &t.DeviceID, &t.DeviceUUID, &t.Client,
		&created, &expires, &revoked, &t.IP, &t.UserAgent, &last)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(revoked), fromMicros(last)
	return t, err
}

// RevokeAccessToken marks a token revoked.
func (db *DB) RevokeAccessToken(ctx context.Context, id int64, at time.Time) error {
	return db.scoped(ctx, func(q querier, ch *change) error {
		var userID int64
		if err := q.QueryRow(`UPDATE access_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING user_id`,
			micros(at), id).Scan(&userID); err != nil {
			return err
		}
		ch.sessions = []int64{userID}
		return nil
	})
}

// Device returns one device.
func (db *DB) Device(ctx context.Context, id int64) (intercom.Device, error) {
	var d intercom.Device
	var fcm, apn, voip, huawei sql.NullString
	var created, updated int64
	err := db.reader(ctx).QueryRow(`SELECT id, user_id, uuid, client, fcm_token, apn_token, voip_token, huawei_token,
			created_at, updated_at FROM devices WHERE id = ?`, id).Scan(&d.ID, &d.UserID, &d.UUID, &d.Client,
		&fcm, &apn, &voip, &huawei, &created, &updated)
	d.FCMToken, d.APNToken, d.VoIPToken, d.HuaweiToken = nullString(fcm), nullString(apn), nullString(voip), nullString(huawei)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, wrap(err)
}

// UpdatePushTokens applies u to the device's push tokens.
func (db *DB) UpdatePushTokens(ctx context.Context, deviceID int64, u intercom.PushTokensUpdate, at time.Time) error {
	return db.scoped(ctx, func(q querier, ch *change) error {
		// A CASE per column keeps this one statement: ?N = 1 means "set".
		arg := func(p **string) (int, any) {
			if p == nil {
				return 0, nil
			}
			if *p == nil {
				return 1, nil
			}
			return 1, **p
		}
		fs, fv := arg(u.FCM)
		as, av := arg(u.APN)
		vs, vv := arg(u.VoIP)
		hs, hv := arg(u.Huawei)
		var userID int64
		if err := q.QueryRow(`UPDATE devices SET
			fcm_token    = CASE WHEN ? = 1 THEN ? ELSE fcm_token END,
			apn_token    = CASE WHEN ? = 1 THEN ? ELSE apn_token END,
			voip_token   = CASE WHEN ? = 1 THEN ? ELSE voip_token END,
			huawei_token = CASE WHEN ? = 1 THEN ? ELSE huawei_token END,
			lang         = coalesce(?, lang),
			updated_at   = ?
			WHERE id = ? RETURNING user_id`, fs, fv, as, av, vs, vv, hs, hv, u.Lang, micros(at), deviceID).Scan(&userID); err != nil {
			return err
		}
		ch.users = []int64{userID}
		return nil
	})
}

// Holdings lists the first limit logins, intercom ids and camera ids.
func (db *DB) Holdings(ctx context.Context, limit int) (intercom.Holdings, error) {
	var h intercom.Holdings
	q := db.reader(ctx)
	rows, err := q.Query(`SELECT login FROM users ORDER BY login LIMIT ?`, limit)
	if err != nil {
		return h, wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var login string
		if err := rows.Scan(&login); err != nil {
			return h, wrap(err)
		}
		h.Logins = append(h.Logins, login)
	}
	if err := rows.Err(); err != nil {
		return h, wrap(err)
	}
	if h.Intercoms, err = scanIDs(q.Query(`SELECT id FROM intercoms ORDER BY id LIMIT ?`, limit)); err != nil {
		return h, wrap(err)
	}
	h.Cameras, err = scanIDs(q.Query(`SELECT id FROM cameras ORDER BY id LIMIT ?`, limit))
	return h, wrap(err)
}

// KeepSecret stores value under name unless one is stored there, and
// returns the one stored.
func (db *DB) KeepSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var stored []byte
	err := db.uncached(ctx, func(q querier) error {
		if _, err := q.Exec(`INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return q.QueryRow(`SELECT value FROM secrets WHERE name = ?`, name).Scan(&stored)
	})
	return stored, err
}

// StoredSecret returns the value stored under name.
func (db *DB) StoredSecret(ctx context.Context, name string) ([]byte, error) {
	var stored []byte
	err := db.reader(ctx).QueryRow(`SELECT value FROM secrets WHERE name = ?`, name).Scan(&stored)
	return stored, wrap(err)
}

// ForgetSecret removes the value stored under name.
func (db *DB) ForgetSecret(ctx context.Context, name string) (bool, error) {
	var n int64
	err := db.uncached(ctx, func(q querier) error {
		res, err := q.Exec(`DELETE FROM secrets WHERE name = ?`, name)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}
