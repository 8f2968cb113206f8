package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// CreateUser adds an account.
func (db *DB) CreateUser(ctx context.Context, u intercom.User) (intercom.User, error) {
	err := db.txFor(ctx, change{}, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO users (login, password_hash, name, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			u.Login, u.PasswordHash, u.Name, u.CreatedAt, u.UpdatedAt).Scan(&u.ID)
	})
	return u, wrap(err)
}

// DeleteUser removes an account and everything that hangs off it, and ends
// its part in the calls still ringing: its devices can no longer answer them
// (issue 7, as the sqlite engine does). Finished calls keep their record of
// its devices, for the admin's history.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	return db.txFor(ctx, change{Sessions: []int64{id}}, func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM call_devices WHERE user_id = $1
			AND call_id IN (SELECT id FROM calls WHERE status = 'ring')`, id)
		return err
	})
}

const userColumns = `id, login, password_hash, name, language, created_at, updated_at`

func scanUser(row pgx.Row) (intercom.User, error) {
	var u intercom.User
	err := row.Scan(&u.ID, &u.Login, &u.PasswordHash, &u.Name, &u.Language, &u.CreatedAt, &u.UpdatedAt)
	return u, wrap(err)
}

// UserByLogin finds an account by its exact login.
func (db *DB) UserByLogin(ctx context.Context, login string) (intercom.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE login = $1`, login))
	if err == errBadText { // no login holds a NUL
		err = intercom.ErrNotFound
	}
	return u, err
}

// UserByID finds an account.
func (db *DB) UserByID(ctx context.Context, id int64) (intercom.User, error) {
	return scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// CreateAccessToken records a session, creating its device if needed.
func (db *DB) CreateAccessToken(ctx context.Context, t intercom.AccessToken) (intercom.AccessToken, error) {
	err := db.txFor(ctx, change{Sessions: []int64{t.UserID}}, func(tx pgx.Tx) error { return insertToken(ctx, tx, &t) })
	return t, err
}

// insertToken records the device t.DeviceUUID of t.UserID and the token,
// setting t.DeviceID and t.ID.
func insertToken(ctx context.Context, tx pgx.Tx, t *intercom.AccessToken) error {
	err := tx.QueryRow(ctx, `INSERT INTO devices (user_id, uuid, client, created_at, updated_at, lang)
		SELECT id, $1, $2, $3, $3, $5 FROM users WHERE id = $4
		ON CONFLICT (user_id, uuid) DO UPDATE SET client = excluded.client, updated_at = excluded.updated_at,
			lang = CASE WHEN excluded.lang = '' THEN devices.lang ELSE excluded.lang END
		RETURNING id`, t.DeviceUUID, t.Client, t.CreatedAt, t.UserID, t.Lang).Scan(&t.DeviceID)
	if fkViolation(err) { // the account, found, was being deleted
		return intercom.ErrNotFound
	} else if err != nil {
		return err
	}
	t.LastUsedAt = t.CreatedAt
	err = tx.QueryRow(ctx, `INSERT INTO access_tokens (public_id, token_hash, user_id, device_id, created_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		t.PublicID, t.Hash, t.UserID, t.DeviceID, t.CreatedAt, t.ExpiresAt, t.IP, t.UserAgent).Scan(&t.ID)
	if fkViolation(err) { // the account was deleted meanwhile
		return intercom.ErrNotFound
	}
	return err
}

// AccessTokenByHash finds a token by the hash of its secret.
func (db *DB) AccessTokenByHash(ctx context.Context, hash []byte) (intercom.AccessToken, error) {
	if t, ok := db.cachedSession(ctx, hash); ok {
		return t, nil
	}
	read := db.beginRead()
	t, err := scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenColumns+`
		FROM access_tokens t JOIN devices d ON d.id = t.device_id
		WHERE t.token_hash = $1`, hash))
	if err == nil {
		db.keepSession(read, t)
	}
	return t, wrap(err)
}

const tokenColumns = `t.id, t.public_id, t.token_hash, t.user_id, t.device_id, d.uuid, d.client,
	t.created_at, t.expires_at, t.revoked_at, t.ip, t.user_agent, coalesce(t.last_used_at, t.created_at)`

func scanToken(row pgx.Row) (intercom.AccessToken, error) {
	var t intercom.AccessToken
	err := row.Scan(&t.ID, &t.PublicID, &t.Hash, &t.UserID, &t.DeviceID, &t.DeviceUUID, &t.Client,
		&t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.IP, &t.UserAgent, &t.LastUsedAt)
	return t, err
}

// RevokeAccessToken marks a token revoked. Like every write to a device or
// token, it takes the account's roster lock (migration 0006) and may prune
// the roster logs of the account's intercoms, so it may deadlock: db.txFor
// retries it.
func (db *DB) RevokeAccessToken(ctx context.Context, id int64, at time.Time) error {
	var user int64
	err := db.txFor(ctx, change{}, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `UPDATE access_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING user_id`,
			at, id).Scan(&user)
	})
	switch {
	case err == nil:
		db.changed(ctx, change{Sessions: []int64{user}})
	case !errors.Is(err, pgx.ErrNoRows) && intercom.ErrorCode(err) != intercom.ENOTFOUND:
		db.changed(ctx, everything) // a failed COMMIT may have committed
	}
	return wrap(err)
}

// Device returns one device.
func (db *DB) Device(ctx context.Context, id int64) (intercom.Device, error) {
	var d intercom.Device
	err := db.pool.QueryRow(ctx, `SELECT id, user_id, uuid, client, fcm_token, apn_token, voip_token, huawei_token,
			created_at, updated_at FROM devices WHERE id = $1`, id).Scan(&d.ID, &d.UserID, &d.UUID, &d.Client,
		&d.FCMToken, &d.APNToken, &d.VoIPToken, &d.HuaweiToken, &d.CreatedAt, &d.UpdatedAt)
	return d, wrap(err)
}

// UpdatePushTokens applies u to the device's push tokens.
func (db *DB) UpdatePushTokens(ctx context.Context, deviceID int64, u intercom.PushTokensUpdate, at time.Time) error {
	// A CASE per column keeps this one statement: a true flag means "set".
	arg := func(p **string) (bool, *string) {
		if p == nil {
			return false, nil
		}
		return true, *p
	}
	fs, fv := arg(u.FCM)
	as, av := arg(u.APN)
	vs, vv := arg(u.VoIP)
	hs, hv := arg(u.Huawei)
	// db.execFor: it may deadlock on the roster locks (RevokeAccessToken).
	return wrap(mustAffect(db.execFor(ctx, change{}, `UPDATE devices SET
		fcm_token    = CASE WHEN $1::boolean THEN $2::text ELSE fcm_token END,
		apn_token    = CASE WHEN $3::boolean THEN $4::text ELSE apn_token END,
		voip_token   = CASE WHEN $5::boolean THEN $6::text ELSE voip_token END,
		huawei_token = CASE WHEN $7::boolean THEN $8::text ELSE huawei_token END,
		lang         = coalesce($11::text, lang),
		updated_at   = $9
		WHERE id = $10`, fs, fv, as, av, vs, vv, hs, hv, at, deviceID, u.Lang)))
}

// Holdings lists the first limit logins (in byte order, as SQLite sorts
// them), intercom ids and camera ids.
func (db *DB) Holdings(ctx context.Context, limit int) (intercom.Holdings, error) {
	var h intercom.Holdings
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT login FROM users ORDER BY login COLLATE "C" LIMIT $1`, limit)
		if err != nil {
			return err
		}
		if h.Logins, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if h.Intercoms, err = scanIDs(tx.Query(ctx, `SELECT id FROM intercoms ORDER BY id LIMIT $1`, limit)); err != nil {
			return err
		}
		h.Cameras, err = scanIDs(tx.Query(ctx, `SELECT id FROM cameras ORDER BY id LIMIT $1`, limit))
		return err
	})
	if len(h.Intercoms) == 0 {
		h.Intercoms = nil
	}
	if len(h.Cameras) == 0 {
		h.Cameras = nil
	}
	return h, err
}
