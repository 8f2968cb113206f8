package sqlite

import (
	"context"
	"time"

	"intercom"
)

// OpenSession records a session under the account's limit (DecideSessions).
// Writes are serialized, so no other OpenSession of the account runs beside.
func (db *DB) OpenSession(ctx context.Context, t intercom.AccessToken, decide func(live []intercom.AccessToken) ([]int64, error)) (intercom.AccessToken, error) {
	err := db.scoped(ctx, func(q querier, ch *change) error {
		ch.sessions = []int64{t.UserID}
		live, err := liveTokens(q, t.UserID, t.CreatedAt)
		if err != nil {
			return err
		}
		revoke, err := decide(live)
		if err != nil {
			return err
		}
		for _, id := range revoke {
			if _, err := q.Exec(`UPDATE access_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
				micros(t.CreatedAt), id, t.UserID); err != nil {
				return err
			}
		}
		return insertToken(q, &t)
	})
	return t, wrap(err) // decide's errors as they are
}

// LiveAccessTokens lists the account's live tokens.
func (db *DB) LiveAccessTokens(ctx context.Context, userID int64, at time.Time) ([]intercom.AccessToken, error) {
	live, err := liveTokens(db.reader(ctx), userID, at)
	return live, wrap(err)
}

func liveTokens(q querier, userID int64, at time.Time) ([]intercom.AccessToken, error) {
	rows, err := q.Query(`SELECT `+tokenColumns+`
		FROM access_tokens t JOIN devices d ON d.id = t.device_id
		WHERE t.user_id = ? AND t.revoked_at IS NULL AND t.expires_at > ? ORDER BY t.id`, userID, micros(at))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intercom.AccessToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeSession revokes one live token of the account by its public id.
func (db *DB) RevokeSession(ctx context.Context, userID int64, publicID string, at time.Time) (intercom.AccessToken, error) {
	var t intercom.AccessToken
	err := db.scoped(ctx, func(q querier, ch *change) error {
		ch.sessions = []int64{userID}
		var err error
		t, err = scanToken(q.QueryRow(`SELECT `+tokenColumns+`
			FROM access_tokens t JOIN devices d ON d.id = t.device_id
			WHERE t.public_id = ? AND t.user_id = ? AND t.revoked_at IS NULL AND t.expires_at > ?`, publicID, userID, micros(at)))
		if err != nil {
			return err
		}
		_, err = q.Exec(`UPDATE access_tokens SET revoked_at = ? WHERE id = ?`, micros(at), t.ID)
		return err
	})
	return t, wrap(err)
}

// RecordTokenUses writes the tokens' last uses. No cache holds them (a
// cached token keeps the use it was read with, which nobody reads from the
// cache), so the write drops no cached entry.
func (db *DB) RecordTokenUses(ctx context.Context, uses []intercom.TokenUse) error {
	if len(uses) == 0 {
		return nil
	}
	return wrap(db.uncached(ctx, func(q querier) error {
		for _, u := range uses {
			if _, err := q.Exec(`UPDATE access_tokens SET ip = ?, user_agent = ?, last_used_at = ?
				WHERE id = ? AND coalesce(last_used_at, created_at) < ?`,
				u.IP, u.UserAgent, micros(u.At), u.TokenID, micros(u.At)); err != nil {
				return err
			}
		}
		return nil
	}))
}

// UpdateUser changes an account; a new password ends its other sessions.
func (db *DB) UpdateUser(ctx context.Context, id int64, u intercom.UserUpdate, at time.Time) (intercom.User, []string, error) {
	var user intercom.User
	var revoked []string
	err := db.scoped(ctx, func(q querier, ch *change) error {
		ch.users, ch.sessions = []int64{id}, []int64{id}
		var err error
		user, err = scanUser(q.QueryRow(`UPDATE users SET language = coalesce(?, language),
			password_hash = coalesce(?, password_hash), login = coalesce(?, login), name = coalesce(?, name),
			updated_at = ? WHERE id = ? RETURNING `+userColumns,
			u.Language, u.PasswordHash, u.Login, u.Name, micros(at), id))
		if err != nil || u.PasswordHash == nil {
			return err
		}
		rows, err := q.Query(`UPDATE access_tokens SET revoked_at = ?
			WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ? RETURNING public_id`,
			micros(at), id, u.KeepToken, micros(at))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				return err
			}
			revoked = append(revoked, p)
		}
		return rows.Err()
	})
	return user, revoked, wrap(err)
}
