package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// UpdateIntercomSettings runs fn on the intercom, its row locked, and saves
// what the operator sets of it.
func (db *DB) UpdateIntercomSettings(ctx context.Context, id int64, fn func(*intercom.Intercom) error) (intercom.Intercom, error) {
	var ic intercom.Intercom
	err := db.txFor(ctx, change{Intercoms: []int64{id}}, func(tx pgx.Tx) error {
		var err error
		if ic, err = intercomRow(ctx, tx, `id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		if err := fn(&ic); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE intercoms SET first_flat = $1, last_flat = $2, open_door_code = $3, open_door_key = $4,
				analog_line = $5, landline_line = $6, address = $7, department = $8, camera_id = $9, control_url = $10,
				door_open_seconds = $11, secret_hash = $12, control_key = $13 WHERE id = $14`,
			ic.FirstFlat, ic.LastFlat, ic.OpenDoorCode, ic.OpenDoorKey, ic.AnalogLine, ic.LandlineLine,
			ic.Address, ic.Department, ic.CameraID, ic.ControlURL, ic.DoorOpenSeconds, ic.SecretHash, ic.ControlKey, id)
		if fkViolation(err) { // the only foreign key: camera_id
			return intercom.Invalid("camera_id", intercom.MsgIn("camera_id"))
		}
		return err
	})
	return ic, err
}

// CreatePairingCode gives the account a code, replacing its previous one.
// A code taken by a concurrent request is a unique violation: ECONFLICT.
func (db *DB) CreatePairingCode(ctx context.Context, pc intercom.PairingCode, at time.Time) error {
	return db.txFor(ctx, change{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM pairing_codes WHERE expires_at <= $1 OR user_id = $2`, at, pc.UserID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO pairing_codes (user_id, code, client, expires_at) VALUES ($1, $2, $3, $4)`,
			pc.UserID, pc.Code, pc.Client, pc.ExpiresAt)
		if fkViolation(err) {
			return intercom.ErrNotFound
		}
		return err
	})
}

// Pair takes a code and a key typed at an intercom: it loads the facts
// DecidePairing needs and writes what it decides. The intercom's row is
// locked: pairings and flat choices of one intercom run one at a time.
func (db *DB) Pair(ctx context.Context, intercomID int64, code, keyID string, flatBy, at time.Time) (intercom.Pairing, error) {
	var out intercom.Pairing
	err := db.txFor(ctx, change{Intercoms: []int64{intercomID}}, func(tx pgx.Tx) error {
		out = intercom.Pairing{}
		ic, err := intercomRow(ctx, tx, `id = $1 FOR UPDATE`, intercomID)
		if err != nil {
			return err
		}
		var f intercom.PairingFacts
		err = tx.QueryRow(ctx, `DELETE FROM pairing_codes WHERE code = $1 AND expires_at > $2 RETURNING user_id, client`,
			code, at).Scan(&out.UserID, &out.Client)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		f.CodeLive, f.UserID = err == nil, out.UserID
		if f.CodeLive {
			if f, err = pairingFacts(ctx, tx, f, intercomID, keyID); err != nil {
				return err
			}
		}
		d := intercom.DecidePairing(f, at)
		if d.ReleaseKey {
			if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE intercom_id = $1 AND key_id = $2 AND status = 'key_confirmed'`,
				intercomID, keyID); err != nil {
				return err
			}
		}
		if out.Problem = d.Problem; d.Problem != "" {
			return nil
		}
		// A pairing in progress (or one the operator began) is replaced.
		if _, err := tx.Exec(ctx, `INSERT INTO memberships (user_id, intercom_id, flat, title, status, created_at, updated_at, key_id, flat_by)
			VALUES ($1, $2, NULL, $3, 'key_confirmed', $4, $4, $5, $6)
			ON CONFLICT (user_id, intercom_id) DO UPDATE SET flat = NULL, status = 'key_confirmed', updated_at = $4,
				key_id = $5, flat_by = $6`,
			out.UserID, intercomID, ic.Address, at, keyID, flatBy); err != nil {
			return err
		}
		out.View, err = scanView(tx.QueryRow(ctx, membershipViewQuery+` AND i.id = $3`, 0, out.UserID, intercomID))
		return err
	})
	return out, err
}

// pairingFacts loads the key's registration, the code's account's
// membership and the key's holder into f.
func pairingFacts(ctx context.Context, tx pgx.Tx, f intercom.PairingFacts, intercomID int64, keyID string) (intercom.PairingFacts, error) {
	if err := tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM intercom_keys WHERE intercom_id = $1 AND key_id = $2),
			EXISTS (SELECT 1 FROM memberships WHERE user_id = $3 AND intercom_id = $1 AND status = 'confirmed')`,
		intercomID, keyID, f.UserID).Scan(&f.KeyRegistered, &f.Confirmed); err != nil {
		return f, err
	}
	var h intercom.KeyHolder
	err := tx.QueryRow(ctx, `SELECT user_id, status, flat_by FROM memberships WHERE intercom_id = $1 AND key_id = $2`,
		intercomID, keyID).Scan(&h.UserID, &h.Status, &h.FlatBy)
	switch {
	case err == nil:
		f.Holder = &h
	case !errors.Is(err, pgx.ErrNoRows):
		return f, err
	}
	return f, nil
}

// ChooseFlat confirms a pairing with its flat: it loads the facts CheckFlat
// needs and writes the choice. The intercom's row is locked first, so that
// concurrent choices on one intercom run one at a time: of two accounts
// choosing one flat, the second finds it taken.
func (db *DB) ChooseFlat(ctx context.Context, v intercom.Viewer, id, flat int64, at time.Time) (intercom.IntercomView, error) {
	var view intercom.IntercomView
	err := db.txFor(ctx, change{Users: []int64{v.UserID}}, func(tx pgx.Tx) error {
		ic, err := intercomRow(ctx, tx, `id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		var keyID *string
		if err := tx.QueryRow(ctx, `SELECT key_id FROM memberships WHERE user_id = $1 AND intercom_id = $2
			AND status = 'key_confirmed' AND (flat_by IS NULL OR flat_by > $3)`, v.UserID, id, at).Scan(&keyID); err != nil {
			return err // ErrNoRows: ENOTFOUND
		}
		f := intercom.FlatFacts{Intercom: ic, KeyBound: keyID != nil}
		if keyID != nil {
			var keyFlat *int64
			switch err := tx.QueryRow(ctx, `SELECT flat FROM intercom_keys WHERE intercom_id = $1 AND key_id = $2`, id, *keyID).Scan(&keyFlat); {
			case err == nil:
				f.Key = &intercom.Key{IntercomID: id, ID: *keyID, Flat: keyFlat}
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM memberships WHERE intercom_id = $1 AND flat = $2 AND user_id <> $3)`,
			id, flat, v.UserID).Scan(&f.Taken); err != nil {
			return err
		}
		if err := intercom.CheckFlat(f, flat); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE memberships SET flat = $1, status = 'confirmed', flat_by = NULL, updated_at = $2
			WHERE user_id = $3 AND intercom_id = $4`, flat, at, v.UserID, id); err != nil {
			return err
		}
		view, err = viewOne(ctx, tx, v, id)
		return err
	})
	return view, err
}

// PutKey registers or updates a key.
func (db *DB) PutKey(ctx context.Context, k intercom.Key, at time.Time) (intercom.Key, bool, error) {
	var created bool
	err := db.txFor(ctx, change{Intercoms: []int64{k.IntercomID}}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO intercom_keys (intercom_id, key_id, flat, note, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (intercom_id, key_id) DO UPDATE SET flat = excluded.flat, note = excluded.note, updated_at = excluded.updated_at
			RETURNING created_at, updated_at, xmax = 0`, k.IntercomID, k.ID, k.Flat, k.Note, at).Scan(&k.CreatedAt, &k.UpdatedAt, &created)
		if fkViolation(err) {
			return intercom.ErrNotFound
		} else if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT user_id FROM memberships WHERE intercom_id = $1 AND key_id = $2`, k.IntercomID, k.ID).Scan(&k.UserID)
		if errors.Is(err, pgx.ErrNoRows) {
			k.UserID = nil
			return nil
		}
		return err
	})
	return k, created, err
}

// DeleteKey unregisters a key. The account that paired with it holds it no
// more: a pairing waiting for its flat is gone, a confirmed membership stays
// without its key.
func (db *DB) DeleteKey(ctx context.Context, intercomID int64, keyID string) error {
	return db.txFor(ctx, change{Intercoms: []int64{intercomID}}, func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `DELETE FROM intercom_keys WHERE intercom_id = $1 AND key_id = $2`, intercomID, keyID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE intercom_id = $1 AND key_id = $2 AND status = 'key_confirmed'`,
			intercomID, keyID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE memberships SET key_id = NULL WHERE intercom_id = $1 AND key_id = $2`, intercomID, keyID)
		return err
	})
}

const keyColumns = `k.intercom_id, k.key_id, k.flat, k.note, m.user_id, k.created_at, k.updated_at`

const keyFrom = ` FROM intercom_keys k LEFT JOIN memberships m ON m.intercom_id = k.intercom_id AND m.key_id = k.key_id`

func scanKeys(rows pgx.Rows, err error) ([]intercom.Key, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []intercom.Key{}
	for rows.Next() {
		var k intercom.Key
		if err := rows.Scan(&k.IntercomID, &k.ID, &k.Flat, &k.Note, &k.UserID, &k.CreatedAt, &k.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// intercomExists is ENOTFOUND when the intercom does not exist.
func intercomExists(ctx context.Context, q querier, id int64) error {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM intercoms WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return intercom.ErrNotFound
	}
	return nil
}

// Keys lists an intercom's keys.
func (db *DB) Keys(ctx context.Context, intercomID int64, p intercom.Page) ([]intercom.Key, int, error) {
	var keys []intercom.Key
	var total int
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := intercomExists(ctx, tx, intercomID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM intercom_keys WHERE intercom_id = $1`, intercomID).Scan(&total); err != nil {
			return err
		}
		var err error
		keys, err = scanKeys(tx.Query(ctx, `SELECT `+keyColumns+keyFrom+` WHERE k.intercom_id = $1 ORDER BY k.key_id COLLATE "C"
			LIMIT $2 OFFSET $3`, intercomID, p.PerPage, p.Offset()))
		return err
	})
	return keys, total, err
}

// Key returns one key of an intercom.
func (db *DB) Key(ctx context.Context, intercomID int64, keyID string) (intercom.Key, error) {
	keys, err := scanKeys(db.pool.Query(ctx, `SELECT `+keyColumns+keyFrom+` WHERE k.intercom_id = $1 AND k.key_id = $2`, intercomID, keyID))
	if err == nil && len(keys) == 0 {
		err = intercom.ErrNotFound
	}
	if err != nil {
		return intercom.Key{}, wrap(err)
	}
	return keys[0], nil
}

// CreateVisitorCode adds a visitor code. The account's and the intercom's
// codes are counted under advisory locks of each, so that concurrent
// creations cannot pass the limit or share digits.
func (db *DB) CreateVisitorCode(ctx context.Context, c intercom.VisitorCode, maxLive int) (intercom.VisitorCode, error) {
	err := db.txFor(ctx, change{}, func(tx pgx.Tx) error {
		for _, key := range []string{"intercomd.codes.user." + itoa(c.UserID), "intercomd.codes.intercom." + itoa(c.IntercomID)} {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM visitor_codes WHERE expired_at <= $1`, c.CreatedAt.Add(-intercom.VisitorCodeRetention)); err != nil {
			return err
		}
		var member bool
		var live int
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM memberships WHERE user_id = $1 AND intercom_id = $2 AND status = 'confirmed'),
				(SELECT count(*) FROM visitor_codes WHERE user_id = $1 AND expired_at > $3),
				EXISTS (SELECT 1 FROM visitor_codes WHERE intercom_id = $2 AND code = $4 AND expired_at > $3)`,
			c.UserID, c.IntercomID, c.CreatedAt, c.Code).Scan(&member, &live, &taken); err != nil {
			return err
		}
		switch {
		case !member:
			return intercom.ErrNotFound
		case live >= maxLive:
			return intercom.ErrTooManyCodes
		case taken:
			return &intercom.Error{Code: intercom.ECONFLICT, Message: "The code is taken."}
		}
		return tx.QueryRow(ctx, `INSERT INTO visitor_codes (user_id, intercom_id, title, code, expired_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, c.UserID, c.IntercomID, c.Title, c.Code, c.ExpiredAt, c.CreatedAt).Scan(&c.ID)
	})
	return c, err
}

const codeColumns = `id, user_id, intercom_id, title, code, expired_at, created_at`

func scanCodes(rows pgx.Rows, err error) ([]intercom.VisitorCode, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []intercom.VisitorCode{}
	for rows.Next() {
		var c intercom.VisitorCode
		if err := rows.Scan(&c.ID, &c.UserID, &c.IntercomID, &c.Title, &c.Code, &c.ExpiredAt, &c.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// VisitorCodes lists the account's codes not yet removed.
func (db *DB) VisitorCodes(ctx context.Context, userID int64, p intercom.Page, at time.Time) ([]intercom.VisitorCode, int, error) {
	keep := at.Add(-intercom.VisitorCodeRetention) // removed once expired_at + retention has come
	var codes []intercom.VisitorCode
	var total int
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM visitor_codes WHERE user_id = $1 AND expired_at > $2`, userID, keep).Scan(&total); err != nil {
			return err
		}
		var err error
		codes, err = scanCodes(tx.Query(ctx, `SELECT `+codeColumns+` FROM visitor_codes WHERE user_id = $1 AND expired_at > $2
			ORDER BY id DESC LIMIT $3 OFFSET $4`, userID, keep, p.PerPage, p.Offset()))
		return err
	})
	return codes, total, err
}

// DeleteVisitorCodes removes the account's codes among ids.
func (db *DB) DeleteVisitorCodes(ctx context.Context, userID int64, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return []int64{}, nil
	}
	out, err := scanIDs(db.pool.Query(ctx, `DELETE FROM visitor_codes WHERE user_id = $1 AND id = ANY($2) RETURNING id`, userID, ids))
	return out, wrap(err)
}

// CheckAccess decides on a key or a code and records the decision.
func (db *DB) CheckAccess(ctx context.Context, intercomID int64, kind, credential string, at time.Time) (intercom.AccessEntry, error) {
	e := intercom.AccessEntry{IntercomID: intercomID, Kind: kind, Credential: credential, At: at.UTC()}
	err := db.txFor(ctx, change{}, func(tx pgx.Tx) error {
		e.UserID, e.CodeID, e.Open, e.Reason = nil, nil, false, ""
		ic, err := intercomRow(ctx, tx, `id = $1`, intercomID)
		if err != nil {
			return err
		}
		switch kind {
		case intercom.AccessKey:
			keys, err := scanKeys(tx.Query(ctx, `SELECT `+keyColumns+keyFrom+` WHERE k.intercom_id = $1 AND k.key_id = $2`, intercomID, credential))
			if err != nil {
				return err
			}
			var key *intercom.Key
			if len(keys) > 0 {
				key = &keys[0]
			}
			intercom.DecideKey(ic, key, &e)
		default:
			if _, err := tx.Exec(ctx, `DELETE FROM visitor_codes WHERE expired_at <= $1`, at.Add(-intercom.VisitorCodeRetention)); err != nil {
				return err
			}
			// The newest matching code not yet removed: one not expired if
			// there is one.
			codes, err := scanCodes(tx.Query(ctx, `SELECT `+codeColumns+` FROM visitor_codes WHERE intercom_id = $1 AND code = $2
				AND expired_at > $3 ORDER BY expired_at DESC LIMIT 1`, intercomID, credential, at.Add(-intercom.VisitorCodeRetention)))
			if err != nil {
				return err
			}
			var code *intercom.VisitorCode
			if len(codes) > 0 {
				code = &codes[0]
			}
			intercom.DecideCode(ic, code, &e)
		}
		return insertAccess(ctx, tx, &e)
	})
	return e, err
}

func insertAccess(ctx context.Context, q querier, e *intercom.AccessEntry) error {
	return q.QueryRow(ctx, `INSERT INTO access_log (intercom_id, kind, credential, user_id, code_id, at, open, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, e.IntercomID, e.Kind, e.Credential, e.UserID, e.CodeID, e.At,
		e.Open, e.Reason).Scan(&e.ID)
}

// RecordAccess records a decision taken without the store.
func (db *DB) RecordAccess(ctx context.Context, e intercom.AccessEntry) (intercom.AccessEntry, error) {
	err := insertAccess(ctx, db.pool, &e)
	if fkViolation(err) {
		return e, intercom.ErrNotFound
	}
	return e, wrap(err)
}

// AccessLog lists an intercom's access decisions, newest first.
func (db *DB) AccessLog(ctx context.Context, intercomID int64, f intercom.AccessFilter, p intercom.Page) ([]intercom.AccessEntry, int, error) {
	out := []intercom.AccessEntry{}
	var total int
	const where = ` FROM access_log WHERE intercom_id = $1 AND ($2 = '' OR kind = $2) AND ($3::boolean IS NULL OR open = $3)
		AND ($4 = 0 OR user_id = $4)`
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := intercomExists(ctx, tx, intercomID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*)`+where, intercomID, f.Kind, f.Open, f.UserID).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, intercom_id, kind, credential, user_id, code_id, at, open, reason`+where+`
			ORDER BY id DESC LIMIT $5 OFFSET $6`, intercomID, f.Kind, f.Open, f.UserID, p.PerPage, p.Offset())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e intercom.AccessEntry
			if err := rows.Scan(&e.ID, &e.IntercomID, &e.Kind, &e.Credential, &e.UserID, &e.CodeID, &e.At, &e.Open, &e.Reason); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// Credentials returns an intercom's keys and live visitor codes, in one
// snapshot.
func (db *DB) Credentials(ctx context.Context, intercomID int64, at time.Time) (intercom.Intercom, []intercom.Key, []intercom.VisitorCode, error) {
	var ic intercom.Intercom
	var keys []intercom.Key
	var codes []intercom.VisitorCode
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		if ic, err = intercomRow(ctx, tx, `id = $1`, intercomID); err != nil {
			return err
		}
		if keys, err = scanKeys(tx.Query(ctx, `SELECT `+keyColumns+keyFrom+` WHERE k.intercom_id = $1 ORDER BY k.key_id COLLATE "C"`,
			intercomID)); err != nil {
			return err
		}
		codes, err = scanCodes(tx.Query(ctx, `SELECT `+codeColumns+` FROM visitor_codes WHERE intercom_id = $1 AND expired_at > $2
			ORDER BY id`, intercomID, at))
		return err
	})
	return ic, keys, codes, err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
