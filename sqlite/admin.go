package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"strings"
	"time"

	"modernc.org/sqlite"

	"intercom"
)

// SQL function intercomd_fold(text) is text in lower case in every script,
// as intercom.LikePattern folds a search: SQLite's lower() and LIKE fold
// ASCII only, and addresses are often Cyrillic.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("intercomd_fold", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, _ := args[0].(string)
		return strings.ToLower(s), nil
	})
	// For migration 0015: SHA-256 of a blob, and a blob as package secrets
	// stores a value unsealed.
	sqlite.MustRegisterDeterministicScalarFunction("intercomd_sha256", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		sum := sha256.Sum256(blobArg(args[0]))
		return sum[:], nil
	})
	sqlite.MustRegisterDeterministicScalarFunction("intercomd_plain", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		return append([]byte("plain:"), blobArg(args[0])...), nil
	})
}

func blobArg(v driver.Value) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}

// Users lists the accounts f keeps.
func (db *DB) Users(ctx context.Context, f intercom.UserFilter, p intercom.Page) ([]intercom.User, int, error) {
	q := db.reader(ctx)
	const where = ` FROM users WHERE (? = '' OR intercomd_fold(login) LIKE ? ESCAPE '\')`
	pattern := intercom.LikePattern(f.Search)
	var total int
	if err := q.QueryRow(`SELECT count(*)`+where, f.Search, pattern).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	rows, err := q.Query(`SELECT `+userColumns+where+` ORDER BY id LIMIT ? OFFSET ?`, f.Search, pattern, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, wrap(err)
	}
	defer rows.Close()
	out := []intercom.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, wrap(err)
		}
		out = append(out, u)
	}
	return out, total, wrap(rows.Err())
}

const cameraColumns = `id, group_id, status, type, start_at, created_at, billing_id, pretty_name, lat, lng, azimuth,
	is_archive_recording, is_bridge, user_status, name`

func scanCamera(row scanner) (intercom.Camera, error) {
	var c intercom.Camera
	var group, start sql.NullInt64
	var created int64
	var billing sql.NullString
	var lat, lng, azimuth sql.NullFloat64
	err := row.Scan(&c.ID, &group, &c.Status, &c.Type, &start, &created, &billing, &c.PrettyName, &lat, &lng, &azimuth,
		&c.IsArchiveRecording, &c.IsBridge, &c.UserStatus, &c.Name)
	c.GroupID, c.StartAt, c.CreatedAt, c.BillingID = nullInt(group), fromNullMicros(start), fromMicros(created), nullString(billing)
	c.Lat, c.Lng, c.Azimuth = nullFloat(lat), nullFloat(lng), nullFloat(azimuth)
	return c, err
}

// Cameras lists the cameras.
func (db *DB) Cameras(ctx context.Context, p intercom.Page) ([]intercom.Camera, int, error) {
	q := db.reader(ctx)
	var total int
	if err := q.QueryRow(`SELECT count(*) FROM cameras`).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	rows, err := q.Query(`SELECT `+cameraColumns+` FROM cameras ORDER BY id LIMIT ? OFFSET ?`, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, wrap(err)
	}
	defer rows.Close()
	out := []intercom.Camera{}
	for rows.Next() {
		c, err := scanCamera(rows)
		if err != nil {
			return nil, 0, wrap(err)
		}
		out = append(out, c)
	}
	return out, total, wrap(rows.Err())
}

// CameraByID finds a camera.
func (db *DB) CameraByID(ctx context.Context, id int64) (intercom.Camera, error) {
	c, err := scanCamera(db.reader(ctx).QueryRow(`SELECT `+cameraColumns+` FROM cameras WHERE id = ?`, id))
	return c, wrap(err)
}

// UpdateCamera runs fn on the camera and saves it. Views show cameras, not
// rings: quiet.
func (db *DB) UpdateCamera(ctx context.Context, id int64, fn func(*intercom.Camera) error) (intercom.Camera, error) {
	var c intercom.Camera
	err := db.quiet(ctx, func(q querier) error {
		var err error
		if c, err = scanCamera(q.QueryRow(`SELECT `+cameraColumns+` FROM cameras WHERE id = ?`, id)); err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		c.ID = id
		_, err = q.Exec(`UPDATE cameras SET group_id = ?, status = ?, type = ?, start_at = ?, billing_id = ?, pretty_name = ?,
				lat = ?, lng = ?, azimuth = ?, is_archive_recording = ?, is_bridge = ?, user_status = ?, name = ? WHERE id = ?`,
			c.GroupID, c.Status, c.Type, nullMicros(c.StartAt), c.BillingID, c.PrettyName, c.Lat, c.Lng, c.Azimuth,
			boolInt(c.IsArchiveRecording), boolInt(c.IsBridge), c.UserStatus, c.Name, id)
		return err
	})
	return c, wrap(err)
}

// DeleteCamera removes a camera: its favourites go (foreign keys), the
// intercoms it watched keep none. Favourites are every account's: update.
func (db *DB) DeleteCamera(ctx context.Context, id int64) error {
	return db.update(ctx, func(q querier) error {
		return mustAffect(q.Exec(`DELETE FROM cameras WHERE id = ?`, id))
	})
}

// IntercomsByControlKey lists at most limit intercoms whose control key
// begins with prefix, by id.
func (db *DB) IntercomsByControlKey(ctx context.Context, prefix []byte, limit int) ([]intercom.Intercom, error) {
	out, err := collectIntercoms(db.reader(ctx).Query(`SELECT `+intercomColumns+` FROM intercoms
		WHERE CAST(substr(control_key, 1, ?1) AS BLOB) = ?2 ORDER BY id LIMIT ?3`, len(prefix), prefix, limit))
	return out, wrap(err)
}

// collectIntercoms scans every row of intercomColumns that rows (the
// outcome of a query with error err) holds; never nil.
func collectIntercoms(rows *sql.Rows, err error) ([]intercom.Intercom, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []intercom.Intercom{}
	for rows.Next() {
		ic, err := scanIntercom(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ic)
	}
	return out, rows.Err()
}

// AdminIntercoms lists the intercoms f keeps, by id, with the total.
func (db *DB) AdminIntercoms(ctx context.Context, f intercom.IntercomFilter, p intercom.Page) ([]intercom.Intercom, int, error) {
	q := db.reader(ctx)
	online := -1
	if f.Online != nil {
		online = boolInt(*f.Online)
	}
	// ?3: -1 any, 1 online (a heartbeat after ?4), 0 offline.
	const where = ` FROM intercoms WHERE (?1 = '' OR intercomd_fold(address) LIKE ?2 ESCAPE '\')
		AND (?3 = -1 OR (coalesce(last_heartbeat_at, 0) > ?4) = (?3 = 1))`
	args := []any{f.Search, intercom.LikePattern(f.Search), online, micros(f.AliveAfter)}
	var total int
	if err := q.QueryRow(`SELECT count(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	// One query for the page: not a read per intercom.
	out, err := collectIntercoms(q.Query(`SELECT `+intercomColumns+where+` ORDER BY id LIMIT ?5 OFFSET ?6`,
		append(args, p.PerPage, p.Offset())...))
	if err != nil {
		return nil, 0, wrap(err)
	}
	return out, total, nil
}

// DeleteIntercom removes an intercom; the foreign keys take what is its.
// Memberships and device settings are what rosters and views hold: update.
func (db *DB) DeleteIntercom(ctx context.Context, id int64) error {
	return db.update(ctx, func(q querier) error {
		return mustAffect(q.Exec(`DELETE FROM intercoms WHERE id = ?`, id))
	})
}

const membershipColumns = `user_id, intercom_id, flat, title, status, created_at, updated_at`

func scanMembership(row scanner) (intercom.Membership, error) {
	var m intercom.Membership
	var flat, created, updated sql.NullInt64
	err := row.Scan(&m.UserID, &m.IntercomID, &flat, &m.Title, &m.Status, &created, &updated)
	m.Flat, m.CreatedAt, m.UpdatedAt = nullInt(flat), fromNullMicros(created), fromNullMicros(updated)
	return m, err
}

// Memberships lists an intercom's, or an account's, memberships.
func (db *DB) Memberships(ctx context.Context, intercomID, userID int64, p intercom.Page) ([]intercom.Membership, int, error) {
	q := db.reader(ctx)
	table, col, id := "intercoms", "intercom_id", intercomID
	if intercomID == 0 {
		table, col, id = "users", "user_id", userID
	}
	var n int
	if err := q.QueryRow(`SELECT count(*) FROM `+table+` WHERE id = ?`, id).Scan(&n); err != nil {
		return nil, 0, wrap(err)
	} else if n == 0 {
		return nil, 0, intercom.ErrNotFound
	}
	var total int
	if err := q.QueryRow(`SELECT count(*) FROM memberships WHERE `+col+` = ?`, id).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	rows, err := q.Query(`SELECT `+membershipColumns+` FROM memberships WHERE `+col+` = ?
		ORDER BY intercom_id, user_id LIMIT ? OFFSET ?`, id, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, wrap(err)
	}
	defer rows.Close()
	out := []intercom.Membership{}
	for rows.Next() {
		m, err := scanMembership(rows)
		if err != nil {
			return nil, 0, wrap(err)
		}
		out = append(out, m)
	}
	return out, total, wrap(rows.Err())
}

// Membership returns one membership.
func (db *DB) Membership(ctx context.Context, intercomID, userID int64) (intercom.Membership, error) {
	m, err := scanMembership(db.reader(ctx).QueryRow(`SELECT `+membershipColumns+` FROM memberships
		WHERE intercom_id = ? AND user_id = ?`, intercomID, userID))
	return m, wrap(err)
}

// Devices lists the account's devices with their sessions.
func (db *DB) Devices(ctx context.Context, userID int64, at time.Time) ([]intercom.DeviceActivity, error) {
	q := db.reader(ctx)
	if _, err := scanUser(q.QueryRow(`SELECT `+userColumns+` FROM users WHERE id = ?`, userID)); err != nil {
		return nil, wrap(err)
	}
	rows, err := q.Query(`SELECT d.id, d.user_id, d.uuid, d.client, d.fcm_token, d.apn_token, d.voip_token, d.huawei_token,
			d.created_at, d.updated_at,
			(SELECT count(*) FROM access_tokens t WHERE t.device_id = d.id AND t.revoked_at IS NULL AND t.expires_at > ?),
			(SELECT max(coalesce(t.last_used_at, t.created_at)) FROM access_tokens t WHERE t.device_id = d.id),
			coalesce((SELECT t.ip FROM access_tokens t WHERE t.device_id = d.id
				ORDER BY coalesce(t.last_used_at, t.created_at) DESC, t.id DESC LIMIT 1), '')
		FROM devices d WHERE d.user_id = ? ORDER BY d.id`, micros(at), userID)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	out := []intercom.DeviceActivity{}
	for rows.Next() {
		var a intercom.DeviceActivity
		d := &a.Device
		var fcm, apn, voip, huawei sql.NullString
		var created, updated int64
		var last sql.NullInt64
		if err := rows.Scan(&d.ID, &d.UserID, &d.UUID, &d.Client, &fcm, &apn, &voip, &huawei, &created, &updated,
			&a.LiveSessions, &last, &a.LastIP); err != nil {
			return nil, wrap(err)
		}
		d.FCMToken, d.APNToken, d.VoIPToken, d.HuaweiToken = nullString(fcm), nullString(apn), nullString(voip), nullString(huawei)
		d.CreatedAt, d.UpdatedAt, a.LastUsedAt = fromMicros(created), fromMicros(updated), fromNullMicros(last)
		out = append(out, a)
	}
	return out, wrap(rows.Err())
}

// IntercomCalls lists an intercom's calls created in [since, until).
func (db *DB) IntercomCalls(ctx context.Context, intercomID int64, since, until time.Time, p intercom.Page) ([]intercom.Call, int, error) {
	q := db.reader(ctx)
	if err := intercomExists(q, intercomID); err != nil {
		return nil, 0, wrap(err)
	}
	const where = ` FROM calls WHERE intercom_id = ? AND created_at >= ? AND created_at < ?`
	var total int
	if err := q.QueryRow(`SELECT count(*)`+where, intercomID, micros(since), micros(until)).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	ids, err := scanIDs(q.Query(`SELECT id`+where+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		intercomID, micros(since), micros(until), p.PerPage, p.Offset()))
	if err != nil {
		return nil, 0, wrap(err)
	}
	out := make([]intercom.Call, 0, len(ids))
	for _, id := range ids {
		c, err := loadCall(q, id)
		if err == sql.ErrNoRows {
			continue // forgotten since
		} else if err != nil {
			return nil, 0, wrap(err)
		}
		out = append(out, c)
	}
	return out, total, nil
}
