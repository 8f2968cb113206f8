package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"intercom"
)

// UpdateIntercomSettings runs fn on the intercom and saves what the operator
// sets of it. Views show intercoms, rosters do not: quiet.
func (db *DB) UpdateIntercomSettings(ctx context.Context, id int64, fn func(*intercom.Intercom) error) (intercom.Intercom, error) {
	var ic intercom.Intercom
	err := db.quiet(ctx, func(q querier) error {
		var err error
		if ic, err = intercomRow(q, `id = ?`, id); err != nil {
			return err
		}
		camera := ic.CameraID
		if err := fn(&ic); err != nil {
			return err
		}
		if ic.CameraID != nil && (camera == nil || *camera != *ic.CameraID) {
			var n int
			if err := q.QueryRow(`SELECT count(*) FROM cameras WHERE id = ?`, *ic.CameraID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return intercom.Invalid("camera_id", intercom.MsgIn("camera_id"))
			}
		}
		_, err = q.Exec(`UPDATE intercoms SET address = ?, department = ?, camera_id = ?, control_url = ?, door_open_seconds = ?,
				secret_hash = ?, control_key = ?, first_flat = ?, last_flat = ?, open_door_code = ?, open_door_key = ?,
				analog_line = ?, landline_line = ? WHERE id = ?`,
			ic.Address, ic.Department, ic.CameraID, ic.ControlURL, ic.DoorOpenSeconds, ic.SecretHash, ic.ControlKey,
			ic.FirstFlat, ic.LastFlat, boolInt(ic.OpenDoorCode), boolInt(ic.OpenDoorKey),
			boolInt(ic.AnalogLine), boolInt(ic.LandlineLine), id)
		return err
	})
	return ic, err
}

// CreatePairingCode gives the account a code, replacing its previous one.
func (db *DB) CreatePairingCode(ctx context.Context, pc intercom.PairingCode, at time.Time) error {
	return db.quiet(ctx, func(q querier) error {
		if _, err := q.Exec(`DELETE FROM pairing_codes WHERE expires_at <= ? OR user_id = ?`, micros(at), pc.UserID); err != nil {
			return err
		}
		_, err := q.Exec(`INSERT INTO pairing_codes (user_id, code, client, expires_at) VALUES (?, ?, ?, ?)`,
			pc.UserID, pc.Code, pc.Client, micros(pc.ExpiresAt))
		return err
	})
}

// Pair takes a code and a key typed at an intercom: it loads the facts
// DecidePairing needs and writes what it decides.
func (db *DB) Pair(ctx context.Context, intercomID int64, code, keyID string, flatBy, at time.Time) (intercom.Pairing, error) {
	var out intercom.Pairing
	err := db.update(ctx, func(q querier) error {
		out = intercom.Pairing{}
		ic, err := intercomRow(q, `id = ?`, intercomID)
		if err != nil {
			return err
		}
		var f intercom.PairingFacts
		err = q.QueryRow(`DELETE FROM pairing_codes WHERE code = ? AND expires_at > ? RETURNING user_id, client`,
			code, micros(at)).Scan(&out.UserID, &out.Client)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		f.CodeLive, f.UserID = err == nil, out.UserID
		if f.CodeLive {
			if f, err = pairingFacts(q, f, intercomID, keyID); err != nil {
				return err
			}
		}
		d := intercom.DecidePairing(f, at)
		if d.ReleaseKey {
			if _, err := q.Exec(`DELETE FROM memberships WHERE intercom_id = ? AND key_id = ? AND status = 'key_confirmed'`,
				intercomID, keyID); err != nil {
				return err
			}
		}
		if out.Problem = d.Problem; d.Problem != "" {
			return nil
		}
		// A pairing in progress (or one the operator began) is replaced.
		if _, err := q.Exec(`INSERT INTO memberships (user_id, intercom_id, flat, title, status, created_at, updated_at, key_id, flat_by)
			VALUES (?1, ?2, NULL, ?3, 'key_confirmed', ?4, ?4, ?5, ?6)
			ON CONFLICT (user_id, intercom_id) DO UPDATE SET flat = NULL, status = 'key_confirmed', updated_at = ?4,
				key_id = ?5, flat_by = ?6`,
			out.UserID, intercomID, ic.Address, micros(at), keyID, micros(flatBy)); err != nil {
			return err
		}
		out.View, err = scanView(q.QueryRow(membershipViewQuery+` AND i.id = ?3`, 0, out.UserID, intercomID))
		return err
	})
	return out, err
}

// pairingFacts loads the key's registration, the code's account's
// membership and the key's holder into f.
func pairingFacts(q querier, f intercom.PairingFacts, intercomID int64, keyID string) (intercom.PairingFacts, error) {
	var registered, confirmed int
	if err := q.QueryRow(`SELECT (SELECT count(*) FROM intercom_keys WHERE intercom_id = ?1 AND key_id = ?2),
			(SELECT count(*) FROM memberships WHERE user_id = ?3 AND intercom_id = ?1 AND status = 'confirmed')`,
		intercomID, keyID, f.UserID).Scan(&registered, &confirmed); err != nil {
		return f, err
	}
	f.KeyRegistered, f.Confirmed = registered > 0, confirmed > 0
	var h intercom.KeyHolder
	var flatBy sql.NullInt64
	err := q.QueryRow(`SELECT user_id, status, flat_by FROM memberships WHERE intercom_id = ? AND key_id = ?`,
		intercomID, keyID).Scan(&h.UserID, &h.Status, &flatBy)
	switch {
	case err == nil:
		h.FlatBy = fromNullMicros(flatBy)
		f.Holder = &h
	case !errors.Is(err, sql.ErrNoRows):
		return f, err
	}
	return f, nil
}

// ChooseFlat confirms a pairing with its flat: it loads the facts CheckFlat
// needs and writes the choice. SQLite has one writer: what is read here
// stays true until the write, so of concurrent choices of one flat the first
// wins and the others find it taken.
func (db *DB) ChooseFlat(ctx context.Context, v intercom.Viewer, id, flat int64, at time.Time) (intercom.IntercomView, error) {
	var view intercom.IntercomView
	err := db.update(ctx, func(q querier) error {
		var keyID sql.NullString
		err := q.QueryRow(`SELECT key_id FROM memberships WHERE user_id = ? AND intercom_id = ? AND status = 'key_confirmed'
			AND (flat_by IS NULL OR flat_by > ?)`, v.UserID, id, micros(at)).Scan(&keyID)
		if err != nil {
			return err // ErrNoRows: ENOTFOUND
		}
		f := intercom.FlatFacts{KeyBound: keyID.Valid}
		if f.Intercom, err = intercomRow(q, `id = ?`, id); err != nil {
			return err
		}
		if keyID.Valid {
			var keyFlat sql.NullInt64
			switch err := q.QueryRow(`SELECT flat FROM intercom_keys WHERE intercom_id = ? AND key_id = ?`, id, keyID.String).Scan(&keyFlat); {
			case err == nil:
				f.Key = &intercom.Key{IntercomID: id, ID: keyID.String, Flat: nullInt(keyFlat)}
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		var taken int
		if err := q.QueryRow(`SELECT count(*) FROM memberships WHERE intercom_id = ? AND flat = ? AND user_id <> ?`,
			id, flat, v.UserID).Scan(&taken); err != nil {
			return err
		}
		f.Taken = taken > 0
		if err := intercom.CheckFlat(f, flat); err != nil {
			return err
		}
		if _, err := q.Exec(`UPDATE memberships SET flat = ?, status = 'confirmed', flat_by = NULL, updated_at = ?
			WHERE user_id = ? AND intercom_id = ?`, flat, micros(at), v.UserID, id); err != nil {
			return err
		}
		view, err = viewOne(q, v, id)
		return err
	})
	return view, err
}

// PutKey registers or updates a key.
func (db *DB) PutKey(ctx context.Context, k intercom.Key, at time.Time) (intercom.Key, bool, error) {
	var created bool
	err := db.quiet(ctx, func(q querier) error {
		if err := intercomExists(q, k.IntercomID); err != nil {
			return err
		}
		var n int
		if err := q.QueryRow(`SELECT count(*) FROM intercom_keys WHERE intercom_id = ? AND key_id = ?`, k.IntercomID, k.ID).Scan(&n); err != nil {
			return err
		}
		created = n == 0
		var createdAt int64
		err := q.QueryRow(`INSERT INTO intercom_keys (intercom_id, key_id, flat, note, created_at, updated_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?5)
			ON CONFLICT (intercom_id, key_id) DO UPDATE SET flat = excluded.flat, note = excluded.note, updated_at = excluded.updated_at
			RETURNING created_at`, k.IntercomID, k.ID, k.Flat, k.Note, micros(at)).Scan(&createdAt)
		if err != nil {
			return err
		}
		k.CreatedAt, k.UpdatedAt = fromMicros(createdAt), at.UTC()
		var user sql.NullInt64
		err = q.QueryRow(`SELECT user_id FROM memberships WHERE intercom_id = ? AND key_id = ?`, k.IntercomID, k.ID).Scan(&user)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		k.UserID = nullInt(user)
		return nil
	})
	return k, created, err
}

// DeleteKey unregisters a key. The account that paired with it holds it no
// more: a pairing waiting for its flat is gone, a confirmed membership stays
// without its key.
func (db *DB) DeleteKey(ctx context.Context, intercomID int64, keyID string) error {
	return db.update(ctx, func(q querier) error {
		if err := mustAffect(q.Exec(`DELETE FROM intercom_keys WHERE intercom_id = ? AND key_id = ?`, intercomID, keyID)); err != nil {
			return err
		}
		if _, err := q.Exec(`DELETE FROM memberships WHERE intercom_id = ? AND key_id = ? AND status = 'key_confirmed'`,
			intercomID, keyID); err != nil {
			return err
		}
		_, err := q.Exec(`UPDATE memberships SET key_id = NULL WHERE intercom_id = ? AND key_id = ?`, intercomID, keyID)
		return err
	})
}

const keyColumns = `k.intercom_id, k.key_id, k.flat, k.note, m.user_id, k.created_at, k.updated_at`

const keyFrom = ` FROM intercom_keys k LEFT JOIN memberships m ON m.intercom_id = k.intercom_id AND m.key_id = k.key_id`

func scanKeys(rows *sql.Rows, err error) ([]intercom.Key, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []intercom.Key{}
	for rows.Next() {
		var k intercom.Key
		var flat, user sql.NullInt64
		var created, updated int64
		if err := rows.Scan(&k.IntercomID, &k.ID, &flat, &k.Note, &user, &created, &updated); err != nil {
			return nil, err
		}
		k.Flat, k.UserID, k.CreatedAt, k.UpdatedAt = nullInt(flat), nullInt(user), fromMicros(created), fromMicros(updated)
		out = append(out, k)
	}
	return out, rows.Err()
}

// intercomExists is ENOTFOUND when the intercom does not exist.
func intercomExists(q querier, id int64) error {
	var n int
	if err := q.QueryRow(`SELECT count(*) FROM intercoms WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return intercom.ErrNotFound
	}
	return nil
}

// Keys lists an intercom's keys.
func (db *DB) Keys(ctx context.Context, intercomID int64, p intercom.Page) ([]intercom.Key, int, error) {
	q := db.reader(ctx)
	if err := intercomExists(q, intercomID); err != nil {
		return nil, 0, wrap(err)
	}
	var total int
	if err := q.QueryRow(`SELECT count(*) FROM intercom_keys WHERE intercom_id = ?`, intercomID).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	keys, err := scanKeys(q.Query(`SELECT `+keyColumns+keyFrom+` WHERE k.intercom_id = ? ORDER BY k.key_id LIMIT ? OFFSET ?`,
		intercomID, p.PerPage, p.Offset()))
	return keys, total, wrap(err)
}

// Key returns one key of an intercom.
func (db *DB) Key(ctx context.Context, intercomID int64, keyID string) (intercom.Key, error) {
	keys, err := scanKeys(db.reader(ctx).Query(`SELECT `+keyColumns+keyFrom+` WHERE k.intercom_id = ? AND k.key_id = ?`, intercomID, keyID))
	if err == nil && len(keys) == 0 {
		err = intercom.ErrNotFound
	}
	if err != nil {
		return intercom.Key{}, wrap(err)
	}
	return keys[0], nil
}

// CreateVisitorCode adds a visitor code.
func (db *DB) CreateVisitorCode(ctx context.Context, c intercom.VisitorCode, maxLive int) (intercom.VisitorCode, error) {
	err := db.quiet(ctx, func(q querier) error {
		now := micros(c.CreatedAt)
		if _, err := q.Exec(`DELETE FROM visitor_codes WHERE expired_at <= ?`, micros(c.CreatedAt.Add(-intercom.VisitorCodeRetention))); err != nil {
			return err
		}
		var n int
		if err := q.QueryRow(`SELECT count(*) FROM memberships WHERE user_id = ? AND intercom_id = ? AND status = 'confirmed'`,
			c.UserID, c.IntercomID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return intercom.ErrNotFound
		}
		if err := q.QueryRow(`SELECT count(*) FROM visitor_codes WHERE user_id = ? AND expired_at > ?`, c.UserID, now).Scan(&n); err != nil {
			return err
		}
		if n >= maxLive {
			return intercom.ErrTooManyCodes
		}
		if err := q.QueryRow(`SELECT count(*) FROM visitor_codes WHERE intercom_id = ? AND code = ? AND expired_at > ?`,
			c.IntercomID, c.Code, now).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &intercom.Error{Code: intercom.ECONFLICT, Message: "The code is taken."}
		}
		return q.QueryRow(`INSERT INTO visitor_codes (user_id, intercom_id, title, code, expired_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, c.UserID, c.IntercomID, c.Title, c.Code, micros(c.ExpiredAt), now).Scan(&c.ID)
	})
	return c, err
}

const codeColumns = `id, user_id, intercom_id, title, code, expired_at, created_at`

func scanCodes(rows *sql.Rows, err error) ([]intercom.VisitorCode, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []intercom.VisitorCode{}
	for rows.Next() {
		var c intercom.VisitorCode
		var expired, created int64
		if err := rows.Scan(&c.ID, &c.UserID, &c.IntercomID, &c.Title, &c.Code, &expired, &created); err != nil {
			return nil, err
		}
		c.ExpiredAt, c.CreatedAt = fromMicros(expired), fromMicros(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// VisitorCodes lists the account's codes not yet removed.
func (db *DB) VisitorCodes(ctx context.Context, userID int64, p intercom.Page, at time.Time) ([]intercom.VisitorCode, int, error) {
	q := db.reader(ctx)
	keep := micros(at.Add(-intercom.VisitorCodeRetention)) // removed once expired_at + retention has come
	var total int
	if err := q.QueryRow(`SELECT count(*) FROM visitor_codes WHERE user_id = ? AND expired_at > ?`, userID, keep).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	codes, err := scanCodes(q.Query(`SELECT `+codeColumns+` FROM visitor_codes WHERE user_id = ? AND expired_at > ?
		ORDER BY id DESC LIMIT ? OFFSET ?`, userID, keep, p.PerPage, p.Offset()))
	return codes, total, wrap(err)
}

// DeleteVisitorCodes removes the account's codes among ids.
func (db *DB) DeleteVisitorCodes(ctx context.Context, userID int64, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return []int64{}, nil
	}
	var out []int64
	err := db.quiet(ctx, func(q querier) error {
		var err error
		out, err = scanIDs(q.Query(`DELETE FROM visitor_codes WHERE user_id = ?1 AND id IN (`+marks(2, len(ids))+`) RETURNING id`,
			int64Args(userID, ids)...))
		return err
	})
	return out, err
}

// CheckAccess decides on a key or a code and records the decision.
func (db *DB) CheckAccess(ctx context.Context, intercomID int64, kind, credential string, at time.Time) (intercom.AccessEntry, error) {
	e := intercom.AccessEntry{IntercomID: intercomID, Kind: kind, Credential: credential, At: at.UTC()}
	err := db.quiet(ctx, func(q querier) error {
		e.UserID, e.CodeID, e.Open, e.Reason = nil, nil, false, ""
		ic, err := intercomRow(q, `id = ?`, intercomID)
		if err != nil {
			return err
		}
		switch kind {
		case intercom.AccessKey:
			keys, err := scanKeys(q.Query(`SELECT `+keyColumns+keyFrom+` WHERE k.intercom_id = ? AND k.key_id = ?`, intercomID, credential))
			if err != nil {
				return err
			}
			var key *intercom.Key
			if len(keys) > 0 {
				key = &keys[0]
			}
			intercom.DecideKey(ic, key, &e)
		default:
			keep := micros(at.Add(-intercom.VisitorCodeRetention))
			if _, err := q.Exec(`DELETE FROM visitor_codes WHERE expired_at <= ?`, keep); err != nil {
				return err
			}
			// The newest matching code: one not expired if there is one.
			codes, err := scanCodes(q.Query(`SELECT `+codeColumns+` FROM visitor_codes WHERE intercom_id = ? AND code = ?
				ORDER BY expired_at DESC LIMIT 1`, intercomID, credential))
			if err != nil {
				return err
			}
			var code *intercom.VisitorCode
			if len(codes) > 0 {
				code = &codes[0]
			}
			intercom.DecideCode(ic, code, &e)
		}
		return insertAccess(q, &e)
	})
	return e, err
}

func insertAccess(q querier, e *intercom.AccessEntry) error {
	return q.QueryRow(`INSERT INTO access_log (intercom_id, kind, credential, user_id, code_id, at, open, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.IntercomID, e.Kind, e.Credential, e.UserID, e.CodeID, micros(e.At),
		boolInt(e.Open), e.Reason).Scan(&e.ID)
}

// RecordAccess records a decision taken without the store.
func (db *DB) RecordAccess(ctx context.Context, e intercom.AccessEntry) (intercom.AccessEntry, error) {
	err := db.quiet(ctx, func(q querier) error { return insertAccess(q, &e) })
	return e, err
}

// AccessLog lists an intercom's access decisions, newest first.
func (db *DB) AccessLog(ctx context.Context, intercomID int64, f intercom.AccessFilter, p intercom.Page) ([]intercom.AccessEntry, int, error) {
	q := db.reader(ctx)
	if err := intercomExists(q, intercomID); err != nil {
		return nil, 0, wrap(err)
	}
	open := -1
	if f.Open != nil {
		open = boolInt(*f.Open)
	}
	const where = ` FROM access_log WHERE intercom_id = ?1 AND (?2 = '' OR kind = ?2) AND (?3 < 0 OR open = ?3)
		AND (?4 = 0 OR user_id = ?4)`
	var total int
	if err := q.QueryRow(`SELECT count(*)`+where, intercomID, f.Kind, open, f.UserID).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	rows, err := q.Query(`SELECT id, intercom_id, kind, credential, user_id, code_id, at, open, reason`+where+`
		ORDER BY id DESC LIMIT ?5 OFFSET ?6`, intercomID, f.Kind, open, f.UserID, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, wrap(err)
	}
	defer rows.Close()
	out := []intercom.AccessEntry{}
	for rows.Next() {
		var e intercom.AccessEntry
		var user, code sql.NullInt64
		var at int64
		if err := rows.Scan(&e.ID, &e.IntercomID, &e.Kind, &e.Credential, &user, &code, &at, &e.Open, &e.Reason); err != nil {
			return nil, 0, wrap(err)
		}
		e.UserID, e.CodeID, e.At = nullInt(user), nullInt(code), fromMicros(at)
		out = append(out, e)
	}
	return out, total, wrap(rows.Err())
}

// Credentials returns an intercom's keys and live visitor codes.
func (db *DB) Credentials(ctx context.Context, intercomID int64, at time.Time) (intercom.Intercom, []intercom.Key, []intercom.VisitorCode, error) {
	q := db.reader(ctx)
	ic, err := intercomRow(q, `id = ?`, intercomID)
	if err != nil {
		return ic, nil, nil, wrap(err)
	}
	keys, err := scanKeys(q.Query(`SELECT `+keyColumns+keyFrom+` WHERE k.intercom_id = ? ORDER BY k.key_id`, intercomID))
	if err != nil {
		return ic, nil, nil, wrap(err)
	}
	codes, err := scanCodes(q.Query(`SELECT `+codeColumns+` FROM visitor_codes WHERE intercom_id = ? AND expired_at > ? ORDER BY id`,
		intercomID, micros(at)))
	return ic, keys, codes, wrap(err)
}
