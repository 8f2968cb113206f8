package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// bumpSequence moves the identity sequence of table past id, a row id the
// caller chose, so that no id generated later collides with it. It runs
// before the insert, under a lock per table that explicit-id inserts share:
// setval is not transactional, and two of them must not move it backwards.
func bumpSequence(ctx context.Context, tx pgx.Tx, table string, id int64) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('intercomd.sequence.' || $1, 0))`, table); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT setval(s, greatest($2, coalesce(pg_sequence_last_value(s), 0)))
		FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS s) seq`, table, id)
	return err
}

// CreateCamera adds a camera.
func (db *DB) CreateCamera(ctx context.Context, c intercom.Camera) (intercom.Camera, error) {
	err := db.txFor(ctx, change{}, func(tx pgx.Tx) error {
		const columns = `group_id, status, type, start_at, created_at, billing_id,
			pretty_name, lat, lng, azimuth, is_archive_recording, is_bridge, user_status, name`
		args := []any{c.GroupID, c.Status, c.Type, c.StartAt, c.CreatedAt, c.BillingID,
			c.PrettyName, c.Lat, c.Lng, c.Azimuth, c.IsArchiveRecording, c.IsBridge, c.UserStatus, c.Name}
		if c.ID == 0 {
			return tx.QueryRow(ctx, `INSERT INTO cameras (`+columns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`, args...).Scan(&c.ID)
		}
		if err := bumpSequence(ctx, tx, "cameras", c.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO cameras (id, `+columns+`)
			VALUES ($15, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, append(args, c.ID)...)
		return err
	})
	return c, err
}

// SetCameraFavorite marks or unmarks a camera as the account's favourite.
func (db *DB) SetCameraFavorite(ctx context.Context, userID, cameraID int64, favorite bool) error {
	return db.txFor(ctx, change{Users: []int64{userID}}, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AND EXISTS (SELECT 1 FROM cameras WHERE id = $2)`,
			userID, cameraID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return intercom.ErrNotFound
		}
		var err error
		if favorite {
			_, err = tx.Exec(ctx, `INSERT INTO camera_favorites (user_id, camera_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, userID, cameraID)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM camera_favorites WHERE user_id = $1 AND camera_id = $2`, userID, cameraID)
		}
		if fkViolation(err) { // deleted since the check
			return intercom.ErrNotFound
		}
		return err
	})
}

// CreateIntercom adds an intercom.
func (db *DB) CreateIntercom(ctx context.Context, ic intercom.Intercom) (intercom.Intercom, error) {
	err := db.txFor(ctx, change{}, func(tx pgx.Tx) error {
		const columns = `address, department, camera_id, secret_hash, control_url, door_open_seconds, last_heartbeat_at, created_at,
			first_flat, last_flat, open_door_code, open_door_key, analog_line, landline_line, control_key`
		args := []any{ic.Address, ic.Department, ic.CameraID, ic.SecretHash, ic.ControlURL, ic.DoorOpenSeconds,
			ic.LastHeartbeatAt, ic.CreatedAt, ic.FirstFlat, ic.LastFlat, ic.OpenDoorCode, ic.OpenDoorKey,
			ic.AnalogLine, ic.LandlineLine, ic.ControlKey}
		var err error
		if ic.ID == 0 {
			err = tx.QueryRow(ctx, `INSERT INTO intercoms (`+columns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`, args...).Scan(&ic.ID)
		} else if err = bumpSequence(ctx, tx, "intercoms", ic.ID); err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO intercoms (id, `+columns+`)
				VALUES ($16, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, append(args, ic.ID)...)
		}
		if fkViolation(err) { // the only foreign key: camera_id
			return intercom.Invalid("camera_id", intercom.MsgIn("camera_id"))
		}
		return err
	})
	return ic, err
}

// RecordHeartbeats notes the heartbeats in one transaction and returns the
// intercoms that came online. The rows are locked in id order, so that nodes
// recording overlapping batches at once cannot deadlock, and each transition
// is seen by one of them.
func (db *DB) RecordHeartbeats(ctx context.Context, beats map[int64]time.Time) ([]int64, error) {
	ids := make([]int64, 0, len(beats))
	for id := range beats {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ats := make([]time.Time, len(ids))
	for i, id := range ids {
		ats[i] = beats[id].UTC()
	}
	var came []int64
	err := db.txFor(ctx, change{Intercoms: ids}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH beat AS (SELECT * FROM unnest($1::bigint[], $2::timestamptz[]) AS b(id, at)),
			old AS (SELECT i.id, i.online FROM intercoms i JOIN beat USING (id) ORDER BY i.id FOR UPDATE OF i)
			UPDATE intercoms i SET last_heartbeat_at = greatest(i.last_heartbeat_at, beat.at), online = true
			FROM beat, old WHERE i.id = beat.id AND old.id = beat.id RETURNING i.id, old.online`, ids, ats)
		if err != nil {
			return err
		}
		came = came[:0]
		for rows.Next() {
			var id int64
			var was bool
			if err := rows.Scan(&id, &was); err != nil {
				return err
			}
			if !was {
				came = append(came, id)
			}
		}
		return rows.Err()
	})
	slices.Sort(came)
	return came, wrap(err)
}

// SweepOffline marks offline the online intercoms silent since lastBefore.
func (db *DB) SweepOffline(ctx context.Context, lastBefore time.Time) ([]int64, error) {
	gone, err := scanIDs(db.pool.Query(ctx, `UPDATE intercoms SET online = false WHERE online AND last_heartbeat_at <= $1
		RETURNING id`, lastBefore.UTC()))
	slices.Sort(gone)
	return gone, err
}

// OldestOnline returns the earliest last heartbeat of an online intercom.
func (db *DB) OldestOnline(ctx context.Context) (*time.Time, error) {
	var at *time.Time
	err := db.pool.QueryRow(ctx, `SELECT min(last_heartbeat_at) FROM intercoms WHERE online`).Scan(&at)
	return at, wrap(err)
}

const intercomColumns = `id, address, department, camera_id, secret_hash, control_url, door_open_seconds,
	last_heartbeat_at, created_at, first_flat, last_flat, open_door_code, open_door_key, analog_line, landline_line, control_key`

// IntercomBySecretHash finds the intercom whose secret hashes to hash.
func (db *DB) IntercomBySecretHash(ctx context.Context, hash []byte) (intercom.Intercom, error) {
	return db.intercomWhere(ctx, `secret_hash = $1`, hash)
}

// IntercomByID finds an intercom by its id.
func (db *DB) IntercomByID(ctx context.Context, id int64) (intercom.Intercom, error) {
	return db.intercomWhere(ctx, `id = $1`, id)
}

// intercomWhere loads the one intercom that cond (on a unique column) picks.
func (db *DB) intercomWhere(ctx context.Context, cond string, arg any) (intercom.Intercom, error) {
	ic, err := intercomRow(ctx, db.pool, cond, arg)
	return ic, wrap(err)
}

// intercomRow loads the one intercom that cond (on a unique column) picks;
// cond may end in a locking clause.
func intercomRow(ctx context.Context, q querier, cond string, arg any) (intercom.Intercom, error) {
	return scanIntercom(q.QueryRow(ctx, `SELECT `+intercomColumns+` FROM intercoms WHERE `+cond, arg))
}

// scanIntercom scans the columns of intercomColumns.
func scanIntercom(row pgx.Row) (intercom.Intercom, error) {
	var ic intercom.Intercom
	err := row.Scan(&ic.ID, &ic.Address, &ic.Department, &ic.CameraID, &ic.SecretHash, &ic.ControlURL, &ic.DoorOpenSeconds,
		&ic.LastHeartbeatAt, &ic.CreatedAt, &ic.FirstFlat, &ic.LastFlat, &ic.OpenDoorCode, &ic.OpenDoorKey,
		&ic.AnalogLine, &ic.LandlineLine, &ic.ControlKey)
	return ic, err
}

// collectIntercoms scans every row of intercomColumns rows holds; never nil.
func collectIntercoms(rows pgx.Rows) ([]intercom.Intercom, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (intercom.Intercom, error) { return scanIntercom(row) })
	if out == nil {
		out = []intercom.Intercom{}
	}
	return out, err
}

// LastHeartbeat returns an intercom's last heartbeat.
func (db *DB) LastHeartbeat(ctx context.Context, intercomID int64) (*time.Time, error) {
	var at *time.Time
	err := db.pool.QueryRow(ctx, `SELECT last_heartbeat_at FROM intercoms WHERE id = $1`, intercomID).Scan(&at)
	return at, wrap(err)
}

// IntercomMembers lists the accounts whose membership of an intercom is
// confirmed.
func (db *DB) IntercomMembers(ctx context.Context, intercomID int64) ([]int64, error) {
	out, err := scanIDs(db.pool.Query(ctx, `SELECT user_id FROM memberships WHERE intercom_id = $1 AND status = 'confirmed'
		ORDER BY user_id`, intercomID))
	if len(out) == 0 {
		out = nil
	}
	return out, wrap(err)
}

// PutMembership creates or replaces a membership. The account's row is
// locked first, so that concurrent puts of its memberships run one at a
// time and each reads the status the one before left.
func (db *DB) PutMembership(ctx context.Context, m intercom.Membership, at time.Time) (intercom.MembershipChange, error) {
	created := at
	if m.CreatedAt != nil {
		created = *m.CreatedAt
	}
	var out intercom.MembershipChange
	err := db.txFor(ctx, change{Users: []int64{m.UserID}}, func(tx pgx.Tx) error {
		out = intercom.MembershipChange{}
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE`, m.UserID).Scan(new(int64)); err != nil {
			return err // ErrNoRows: ENOTFOUND
		}
		// The account's codes lock (CreateVisitorCode's): a code being
		// made on the membership is made before its codes go, or not at all.
		if m.Status != intercom.StatusConfirmed {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
				"intercomd.codes.user."+itoa(m.UserID)); err != nil {
				return err
			}
		}
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1 AND intercom_id = $2 AND status = 'confirmed')`,
			m.UserID, m.IntercomID).Scan(&out.WasConfirmed)
		if err != nil {
			return err
		}
		// xmax is 0 on a row just inserted.
		err = tx.QueryRow(ctx, `INSERT INTO memberships (user_id, intercom_id, flat, title, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (user_id, intercom_id) DO UPDATE SET flat = excluded.flat, title = excluded.title,
				status = excluded.status, updated_at = excluded.updated_at
			RETURNING created_at, updated_at, xmax = 0`,
			m.UserID, m.IntercomID, m.Flat, m.Title, m.Status, created, at).Scan(&m.CreatedAt, &m.UpdatedAt, &out.Created)
		if fkViolation(err) { // no such intercom
			return intercom.ErrNotFound
		} else if err != nil {
			return err
		}
		out.Membership = m
		if m.Status == intercom.StatusConfirmed {
			v, err := viewOne(ctx, tx, intercom.Viewer{UserID: m.UserID}, m.IntercomID)
			if err != nil {
				return err
			}
			out.View = &v
			return nil
		}
		// A membership that is no longer confirmed is not the account's
		// intercom: its visitor codes go, as an unlink's do.
		_, err = tx.Exec(ctx, `DELETE FROM visitor_codes WHERE user_id = $1 AND intercom_id = $2`, m.UserID, m.IntercomID)
		return err
	})
	return out, err
}

// DeleteMembership unlinks an account from an intercom. It locks the
// account's row as PutMembership does.
func (db *DB) DeleteMembership(ctx context.Context, intercomID, userID int64) (intercom.Membership, error) {
	m := intercom.Membership{UserID: userID, IntercomID: intercomID}
	err := db.txFor(ctx, change{Users: []int64{userID}}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID).Scan(new(int64)); err != nil {
			return err // ErrNoRows: ENOTFOUND
		}
		if err := tx.QueryRow(ctx, `DELETE FROM memberships WHERE user_id = $1 AND intercom_id = $2
			RETURNING flat, title, status, created_at, updated_at`, userID, intercomID).Scan(&m.Flat, &m.Title, &m.Status,
			&m.CreatedAt, &m.UpdatedAt); err != nil {
			return err // ErrNoRows: ENOTFOUND
		}
		if _, err := tx.Exec(ctx, `DELETE FROM visitor_codes WHERE user_id = $1 AND intercom_id = $2`, userID, intercomID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM device_settings WHERE intercom_id = $1
			AND device_id IN (SELECT id FROM devices WHERE user_id = $2)`, intercomID, userID)
		return err
	})
	return m, err
}

// viewQuery selects IntercomViews for device $1 of user $2: only confirmed
// memberships are the account's intercoms (a key_confirmed one is a pairing
// in progress). Callers append their conditions and ordering.
var viewQuery = membershipViewQuery + ` AND m.status = 'confirmed'`

// membershipViewQuery is viewQuery for memberships of any status.
var membershipViewQuery = viewQueryOf("memberships m", "$1", "$2")

// tokenViewQuery is viewQuery of intercom $2 for the device and account of
// the access token whose hash is $1.
var tokenViewQuery = viewQueryOf("access_tokens t JOIN memberships m ON m.user_id = t.user_id", "t.device_id", "t.user_id") +
	` AND t.token_hash = $1 AND m.status = 'confirmed' AND i.id = $2`

// viewQueryOf selects the IntercomViews of the memberships m of from for
// device and account user (SQL expressions).
func viewQueryOf(from, device, user string) string {
	return `SELECT i.id, i.address, i.department, i.camera_id, i.control_url, i.door_open_seconds,
		i.last_heartbeat_at, i.created_at, i.secret_hash, ` + intercomExtras + `,
		m.user_id, m.flat, m.title, m.status, m.created_at, m.updated_at,
		s.is_enabled, s.timetable,
		c.id, c.group_id, c.status, c.type, c.start_at, c.created_at, c.billing_id, c.pretty_name,
		c.lat, c.lng, c.azimuth, c.is_archive_recording, c.is_bridge, c.user_status, c.name,
		f.user_id IS NOT NULL
	FROM ` + from + `
	JOIN intercoms i ON i.id = m.intercom_id
	` + flatLinesJoin + `
	LEFT JOIN device_settings s ON s.intercom_id = i.id AND s.device_id = ` + device + `
	LEFT JOIN cameras c ON c.id = i.camera_id
	LEFT JOIN camera_favorites f ON f.camera_id = c.id AND f.user_id = m.user_id
	WHERE m.user_id = ` + user
}

// intercomExtras are the intercom's columns the operator sets for pairing,
// door features and lines, then the lines of the membership's flat
// (flatLinesJoin), in viewQuery after the secret hash.
const intercomExtras = `i.first_flat, i.last_flat, i.open_door_code, i.open_door_key, i.analog_line, i.landline_line,
	fl.analog, fl.landline, fl.landline_uri, i.control_key`

// flatLinesJoin joins the lines of membership m's flat.
const flatLinesJoin = `LEFT JOIN flat_lines fl ON fl.intercom_id = i.id AND fl.flat = coalesce(m.flat, -1)`

// scanView scans the columns of viewQuery, then extra.
func scanView(row pgx.Row, extra ...any) (intercom.IntercomView, error) {
	var v intercom.IntercomView
	var (
		enabled, cArchive, cBridge                  *bool
		analog, landline                            *bool
		landlineURI                                 *string
		timetable                                   []byte
		cID                                         *int64
		cCreated                                    *time.Time
		cStatus, cType, cPretty, cUserStatus, cName *string
		cam                                         intercom.Camera
	)
	err := row.Scan(append([]any{&v.Intercom.ID, &v.Intercom.Address, &v.Intercom.Department, &v.Intercom.CameraID,
		&v.Intercom.ControlURL, &v.Intercom.DoorOpenSeconds, &v.Intercom.LastHeartbeatAt, &v.Intercom.CreatedAt,
		&v.Intercom.SecretHash, &v.Intercom.FirstFlat, &v.Intercom.LastFlat, &v.Intercom.OpenDoorCode, &v.Intercom.OpenDoorKey,
		&v.Intercom.AnalogLine, &v.Intercom.LandlineLine, &analog, &landline, &landlineURI, &v.Intercom.ControlKey,
		&v.Membership.UserID, &v.Membership.Flat, &v.Membership.Title, &v.Membership.Status, &v.Membership.CreatedAt,
		&v.Membership.UpdatedAt,
		&enabled, &timetable,
		&cID, &cam.GroupID, &cStatus, &cType, &cam.StartAt, &cCreated, &cam.BillingID, &cPretty,
		&cam.Lat, &cam.Lng, &cam.Azimuth, &cArchive, &cBridge, &cUserStatus, &cName,
		&v.IsFavorite}, extra...)...)
	if err != nil {
		return v, err
	}
	v.Membership.IntercomID = v.Intercom.ID
	v.Lines = intercom.DefaultFlatLines
	if analog != nil {
		v.Lines = intercom.FlatLines{Analog: *analog, Landline: *landline, LandlineURI: *landlineURI}
	}
	v.Settings = intercom.DefaultDeviceSettings
	if enabled != nil {
		v.Settings.IsEnabled = *enabled
		if err := v.Settings.Timetable.UnmarshalBinary(timetable); err != nil {
			return v, err
		}
	}
	if cID != nil {
		cam.ID, cam.CreatedAt = *cID, *cCreated
		cam.Status, cam.Type, cam.PrettyName, cam.UserStatus, cam.Name = *cStatus, *cType, *cPretty, *cUserStatus, *cName
		cam.IsArchiveRecording, cam.IsBridge = *cArchive, *cBridge
		v.Camera = &cam
	}
	return v, nil
}

func queryViews(ctx context.Context, q querier, query string, args ...any) ([]intercom.IntercomView, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	views := []intercom.IntercomView{}
	for rows.Next() {
		v, err := scanView(rows)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, rows.Err()
}

// querier is what the pool and a transaction share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func viewOne(ctx context.Context, q querier, v intercom.Viewer, id int64) (intercom.IntercomView, error) {
	return scanView(q.QueryRow(ctx, viewQuery+` AND i.id = $3`, v.DeviceID, v.UserID, id))
}

// Intercoms lists the viewer's intercoms ordered by id.
func (db *DB) Intercoms(ctx context.Context, v intercom.Viewer, p intercom.Page) ([]intercom.IntercomView, int, error) {
	var views []intercom.IntercomView
	var total int
	// One snapshot for the count and the page.
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM memberships WHERE user_id = $1 AND status = 'confirmed'`, v.UserID).Scan(&total); err != nil {
			return err
		}
		var err error
		views, err = queryViews(ctx, tx, viewQuery+` ORDER BY i.id LIMIT $3 OFFSET $4`, v.DeviceID, v.UserID, p.PerPage, p.Offset())
		return err
	})
	return views, total, err
}

// IntercomsByIDs returns those of ids that are the viewer's.
func (db *DB) IntercomsByIDs(ctx context.Context, v intercom.Viewer, ids []int64) ([]intercom.IntercomView, error) {
	if len(ids) == 0 {
		return []intercom.IntercomView{}, nil
	}
	views, err := queryViews(ctx, db.pool, viewQuery+` AND i.id = ANY($3) ORDER BY i.id`, v.DeviceID, v.UserID, ids)
	return views, wrap(err)
}

// AccessTokenWithIntercom is AccessTokenByHash and, in the same round trip
// (one pipelined batch: one implicit transaction), Intercom of id for the
// token's device and account, whatever the token's state: the caller
// checks the token before using the view. viewErr is the view's error
// (ENOTFOUND: not the account's); err the token's.
func (db *DB) AccessTokenWithIntercom(ctx context.Context, hash []byte, id int64) (tok intercom.AccessToken, view intercom.IntercomView,
	viewErr, err error) {
	if tok, ok := db.cachedSession(ctx, hash); ok {
		view, err := db.Intercom(ctx, intercom.Viewer{UserID: tok.UserID, DeviceID: tok.DeviceID}, id)
		return tok, view, err, nil
	}
	read := db.beginRead()
	defer func() {
		if err == nil {
			db.keepSession(read, tok)
			if viewErr == nil {
				db.keepView(read, viewKey{tok.UserID, tok.DeviceID, id}, view)
			}
		}
	}()
	b := &pgx.Batch{}
	b.Queue(`SELECT `+tokenColumns+` FROM access_tokens t JOIN devices d ON d.id = t.device_id WHERE t.token_hash = $1`, hash)
	b.Queue(tokenViewQuery, hash, id)
	br := db.pool.SendBatch(ctx, b)
	if tok, err = scanToken(br.QueryRow()); err == nil {
		view, viewErr = scanView(br.QueryRow())
	}
	if cerr := br.Close(); cerr != nil && err == nil && viewErr == nil {
		viewErr = cerr
	}
	return tok, view, wrap(viewErr), wrap(err)
}

// Intercom returns one of the viewer's intercoms.
func (db *DB) Intercom(ctx context.Context, v intercom.Viewer, id int64) (intercom.IntercomView, error) {
	k := viewKey{v.UserID, v.DeviceID, id}
	if view, ok := db.cachedView(k); ok {
		return view, nil
	}
	read := db.beginRead()
	view, err := viewOne(ctx, db.pool, v, id)
	if err == nil {
		db.keepView(read, k, view)
	}
	return view, wrap(err)
}

var emptyTimetable, _ = intercom.Timetable{}.MarshalBinary()

// UpdateIntercom applies u in one transaction.
func (db *DB) UpdateIntercom(ctx context.Context, v intercom.Viewer, id int64, u intercom.IntercomUpdate, at time.Time) (intercom.IntercomView, error) {
	var view intercom.IntercomView
	var timetable []byte
	if u.Timetable != nil {
		b, err := u.Timetable.MarshalBinary()
		if err != nil {
			return view, err
		}
		timetable = b
	}
	if _, audited := intercom.AuditToWrite(ctx); !audited && u.Analog == nil && u.Landline == nil {
		return db.patchIntercom(ctx, v, id, u, timetable, at)
	}
	// The flat's lines are every member's of the flat.
	ch := change{Users: []int64{v.UserID}, Intercoms: []int64{id}}
	err := db.txFor(ctx, ch, func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `UPDATE memberships SET title = coalesce($1, title), updated_at = $2
			WHERE user_id = $3 AND intercom_id = $4 AND status = 'confirmed'`, u.Title, at, v.UserID, id)); err != nil {
			return err
		}
		if u.IsEnabled != nil || u.Timetable != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO device_settings (device_id, intercom_id, is_enabled, timetable, updated_at)
				VALUES ($1, $2, coalesce($3::boolean, true), coalesce($4::bytea, $5::bytea), $6)
				ON CONFLICT (device_id, intercom_id) DO UPDATE SET
					is_enabled = coalesce($3::boolean, device_settings.is_enabled),
					timetable = coalesce($4::bytea, device_settings.timetable), updated_at = $6`,
				v.DeviceID, id, u.IsEnabled, timetable, emptyTimetable, at); err != nil {
				return err
			}
		}
		if u.Analog != nil || u.Landline != nil {
			var flat *int64
			if err := tx.QueryRow(ctx, `SELECT flat FROM memberships WHERE user_id = $1 AND intercom_id = $2`,
				v.UserID, id).Scan(&flat); err != nil {
				return err
			}
			if _, err := updateFlatLines(ctx, tx, id, flat, func(ic intercom.Intercom, fl *intercom.FlatLines) error {
				_, err := u.ApplyLines(ic, fl)
				return err
			}, at); err != nil {
				return err
			}
		}
		var err error
		view, err = viewOne(ctx, tx, v, id)
		return err
	})
	return view, err
}

// patchIntercom is UpdateIntercom of a title and device settings, in one
// round trip: its statements go as one pipelined batch, which PostgreSQL
// runs as one implicit transaction (the batch ends in a single Sync), so
// the membership's and the settings' rows stay locked for the statements'
// own time and the commit, not for round trips between them — what 64
// PATCHes of one device wait on. The settings are written only where the
// membership is confirmed, so a stranger's PATCH changes nothing (ENOTFOUND).
func (db *DB) patchIntercom(ctx context.Context, v intercom.Viewer, id int64, u intercom.IntercomUpdate, timetable []byte,
	at time.Time) (intercom.IntercomView, error) {
	settings := u.IsEnabled != nil || u.Timetable != nil
	var view intercom.IntercomView
	err := db.retry(ctx, func() error {
		b := &pgx.Batch{}
		const membership = `UPDATE memberships SET title = coalesce($1, title), updated_at = $2
			WHERE user_id = $3 AND intercom_id = $4 AND status = 'confirmed'`
		if settings {
			// One statement: the settings are written only through the
			// membership the UPDATE found (each statement of the batch has
			// a snapshot of its own; a membership confirmed between two
			// would let a refused PATCH write).
			b.Queue(`WITH m AS (`+membership+` RETURNING 1)
				INSERT INTO device_settings (device_id, intercom_id, is_enabled, timetable, updated_at)
				SELECT $5, $4, coalesce($6::boolean, true), coalesce($7::bytea, $8::bytea), $2 FROM m
				ON CONFLICT (device_id, intercom_id) DO UPDATE SET
					is_enabled = coalesce($6::boolean, device_settings.is_enabled),
					timetable = coalesce($7::bytea, device_settings.timetable), updated_at = $2`,
				u.Title, at, v.UserID, id, v.DeviceID, u.IsEnabled, timetable, emptyTimetable)
		} else {
			b.Queue(membership, u.Title, at, v.UserID, id)
		}
		b.Queue(viewQuery+` AND i.id = $3`, v.DeviceID, v.UserID, id)
		br := db.pool.SendBatch(ctx, b)
		tag, err := br.Exec() // a row: the membership's (or its settings', written through it)
		if err == nil && tag.RowsAffected() == 0 {
			err = pgx.ErrNoRows
		}
		if err == nil {
			view, err = scanView(br.QueryRow())
		}
		// Close reads the batch to its end: the implicit commit's outcome.
		return errors.Join(err, br.Close())
	})
	db.changed(ctx, change{Users: []int64{v.UserID}})
	return view, err
}

// FlatLines returns the lines of a flat of an intercom.
func (db *DB) FlatLines(ctx context.Context, intercomID int64, flat *int64) (intercom.FlatLines, error) {
	fl := intercom.DefaultFlatLines
	err := scanFlatLines(db.pool.QueryRow(ctx, flatLinesQuery, intercomID, intercom.FlatKey(flat)), &fl)
	return fl, wrap(err)
}

// flatLinesQuery reads the lines of flat $2 (intercom.FlatKey) of intercom $1.
const flatLinesQuery = `SELECT analog, landline, landline_uri FROM flat_lines WHERE intercom_id = $1 AND flat = $2`

// scanFlatLines scans a row of flatLinesQuery into fl; no row leaves fl as
// it is (the defaults, to the callers) and is no error.
func scanFlatLines(row pgx.Row, fl *intercom.FlatLines) error {
	var got intercom.FlatLines
	err := row.Scan(&got.Analog, &got.Landline, &got.LandlineURI)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	*fl = got
	return nil
}

// UpdateFlatLines runs fn on the lines of a flat of an intercom, locked,
// and saves them.
func (db *DB) UpdateFlatLines(ctx context.Context, intercomID int64, flat *int64, fn func(intercom.Intercom, *intercom.FlatLines) error,
	at time.Time) (intercom.FlatLines, error) {
	var fl intercom.FlatLines
	err := db.txFor(ctx, change{Intercoms: []int64{intercomID}}, func(tx pgx.Tx) error {
		var err error
		fl, err = updateFlatLines(ctx, tx, intercomID, flat, fn, at)
		return err
	})
	return fl, err
}

// updateFlatLines runs fn on the lines of a flat, its row locked (made
// with the defaults when the flat never chose), with the intercom as it is,
// and saves them. ENOTFOUND when the intercom does not exist.
func updateFlatLines(ctx context.Context, tx pgx.Tx, intercomID int64, flat *int64, fn func(intercom.Intercom, *intercom.FlatLines) error,
	at time.Time) (intercom.FlatLines, error) {
	ic, err := intercomRow(ctx, tx, `id = $1 FOR SHARE`, intercomID)
	if err != nil {
		return intercom.FlatLines{}, err
	}
	d := intercom.DefaultFlatLines
	if _, err := tx.Exec(ctx, `INSERT INTO flat_lines (intercom_id, flat, analog, landline, landline_uri, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		intercomID, intercom.FlatKey(flat), d.Analog, d.Landline, d.LandlineURI, at); err != nil {
		return d, err
	}
	var fl intercom.FlatLines
	if err := tx.QueryRow(ctx, `SELECT analog, landline, landline_uri FROM flat_lines WHERE intercom_id = $1 AND flat = $2 FOR UPDATE`,
		intercomID, intercom.FlatKey(flat)).Scan(&fl.Analog, &fl.Landline, &fl.LandlineURI); err != nil {
		return fl, err
	}
	if err := fn(ic, &fl); err != nil {
		return fl, err
	}
	_, err = tx.Exec(ctx, `UPDATE flat_lines SET analog = $3, landline = $4, landline_uri = $5, updated_at = $6
		WHERE intercom_id = $1 AND flat = $2`, intercomID, intercom.FlatKey(flat), fl.Analog, fl.Landline, fl.LandlineURI, at)
	return fl, err
}

// readTx runs fn in a read-only REPEATABLE READ transaction: its reads see
// one snapshot.
func (db *DB) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return wrap(pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn))
}
