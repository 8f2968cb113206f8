package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// OpenSession records a session under the account's limit (DecideSessions).
// The account's row is locked first, so the OpenSessions of one account run
// one after the other: each decides on the tokens the one before left.
func (db *DB) OpenSession(ctx context.Context, t intercom.AccessToken, decide func(live []intercom.AccessToken) ([]int64, error)) (intercom.AccessToken, error) {
	err := db.txFor(ctx, change{Sessions: []int64{t.UserID}}, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, t.UserID).Scan(&id); err != nil {
			return err
		}
		live, err := liveTokens(ctx, tx, t.UserID, t.CreatedAt)
		if err != nil {
			return err
		}
		revoke, err := decide(live)
		if err != nil {
			return err
		}
		if len(revoke) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE access_tokens SET revoked_at = $1
				WHERE id = ANY($2) AND user_id = $3 AND revoked_at IS NULL`, t.CreatedAt, revoke, t.UserID); err != nil {
				return err
			}
		}
		return insertToken(ctx, tx, &t)
	})
	return t, err
}

// LiveAccessTokens lists the account's live tokens.
func (db *DB) LiveAccessTokens(ctx context.Context, userID int64, at time.Time) ([]intercom.AccessToken, error) {
	var live []intercom.AccessToken
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		live, err = liveTokens(ctx, tx, userID, at)
		return err
	})
	return live, err
}

func liveTokens(ctx context.Context, tx pgx.Tx, userID int64, at time.Time) ([]intercom.AccessToken, error) {
	rows, err := tx.Query(ctx, `SELECT `+tokenColumns+`
		FROM access_tokens t JOIN devices d ON d.id = t.device_id
		WHERE t.user_id = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 ORDER BY t.id`, userID, at)
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
	err := db.txFor(ctx, change{Sessions: []int64{userID}}, func(tx pgx.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+`
			FROM access_tokens t JOIN devices d ON d.id = t.device_id
			WHERE t.public_id = $1 AND t.user_id = $2 AND t.revoked_at IS NULL AND t.expires_at > $3
			FOR UPDATE OF t`, publicID, userID, at))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE access_tokens SET revoked_at = $1 WHERE id = $2`, at, t.ID)
		return err
	})
	if err == errBadText { // no public id holds a NUL
		err = intercom.ErrNotFound
	}
	return t, err
}

// RecordTokenUses writes the tokens' last uses in one statement. The roster
// triggers do not watch these columns (migration 0010), and the caches drop
// nothing for them: a cached token keeps the use it was read with, which
// only members' own bookkeeping of uses reads (at worst, a use is written
// again).
func (db *DB) RecordTokenUses(ctx context.Context, uses []intercom.TokenUse) error {
	if len(uses) == 0 {
		return nil
	}
	ids, ips, agents, ats := make([]int64, len(uses)), make([]string, len(uses)), make([]string, len(uses)), make([]time.Time, len(uses))
	for i, u := range uses {
		ids[i], ips[i], agents[i], ats[i] = u.TokenID, u.IP, u.UserAgent, u.At
	}
	_, err := db.execFor(ctx, change{}, `UPDATE access_tokens t SET ip = u.ip, user_agent = u.user_agent, last_used_at = u.at
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) AS u(id, ip, user_agent, at)
		WHERE t.id = u.id AND coalesce(t.last_used_at, t.created_at) < u.at`, ids, ips, agents, ats)
	return err
}

// UpdateUser changes an account; a new password ends its other sessions.
func (db *DB) UpdateUser(ctx context.Context, id int64, u intercom.UserUpdate, at time.Time) (intercom.User, []string, error) {
	var user intercom.User
	var revoked []string
	err := db.txFor(ctx, change{Sessions: []int64{id}}, func(tx pgx.Tx) error {
		var err error
		user, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET language = coalesce($1, language),
			password_hash = coalesce($2, password_hash), login = coalesce($5, login), name = coalesce($6, name),
			updated_at = $3 WHERE id = $4 RETURNING `+userColumns,
			u.Language, u.PasswordHash, at, id, u.Login, u.Name))
		if err != nil || u.PasswordHash == nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE access_tokens SET revoked_at = $1
			WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL AND expires_at > $1 RETURNING public_id`,
			at, id, u.KeepToken)
		if err != nil {
			return err
		}
		revoked, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return user, revoked, err
}
