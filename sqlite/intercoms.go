package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"intercom"
)

// CreateCamera adds a camera.
func (db *DB) CreateCamera(ctx context.Context, c intercom.Camera) (intercom.Camera, error) {
	var id any
	if c.ID != 0 {
		id = c.ID
	}
	err := db.quiet(ctx, func(q querier) error {
		return q.QueryRow(`INSERT INTO cameras (id, group_id, status, type, start_at, created_at, billing_id,
				pretty_name, lat, lng, azimuth, is_archive_recording, is_bridge, user_status, name)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			id, c.GroupID, c.Status, c.Type, nullMicros(c.StartAt), micros(c.CreatedAt), c.BillingID,
			c.PrettyName, c.Lat, c.Lng, c.Azimuth, boolInt(c.IsArchiveRecording), boolInt(c.IsBridge), c.UserStatus, c.Name,
		).Scan(&c.ID)
	})
	return c, err
}

// SetCameraFavorite marks or unmarks a camera as the account's favourite.
func (db *DB) SetCameraFavorite(ctx context.Context, userID, cameraID int64, favorite bool) error {
	return db.scoped(ctx, func(q querier, ch *change) error {
		ch.users = []int64{userID}
		var n int
		if err := q.QueryRow(`SELECT (SELECT count(*) FROM users WHERE id = ?) + (SELECT count(*) FROM cameras WHERE id = ?)`,
			userID, cameraID).Scan(&n); err != nil {
			return err
		}
		if n != 2 {
			return intercom.ErrNotFound
		}
		var err error
		if favorite {
			_, err = q.Exec(`INSERT INTO camera_favorites (user_id, camera_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, userID, cameraID)
		} else {
			_, err = q.Exec(`DELETE FROM camera_favorites WHERE user_id = ? AND camera_id = ?`, userID, cameraID)
		}
		return err
	})
}

// CreateIntercom adds an intercom.
func (db *DB) CreateIntercom(ctx context.Context, ic intercom.Intercom) (intercom.Intercom, error) {
	var id any
	if ic.ID != 0 {
		id = ic.ID
	}
	err := db.quiet(ctx, func(q querier) error {
		if ic.CameraID != nil {
			var n int
			if err := q.QueryRow(`SELECT count(*) FROM cameras WHERE id = ?`, *ic.CameraID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return intercom.Invalid("camera_id", intercom.MsgIn("camera_id"))
			}
		}
		return q.QueryRow(`INSERT INTO intercoms (id, address, department, camera_id, secret_hash, control_key, control_url,
				door_open_seconds, last_heartbeat_at, created_at, first_flat, last_flat, open_door_code, open_door_key,
				analog_line, landline_line)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			id, ic.Address, ic.Department, ic.CameraID, ic.SecretHash, ic.ControlKey, ic.ControlURL, ic.DoorOpenSeconds,
			nullMicros(ic.LastHeartbeatAt), micros(ic.CreatedAt), ic.FirstFlat, ic.LastFlat,
			boolInt(ic.OpenDoorCode), boolInt(ic.OpenDoorKey), boolInt(ic.AnalogLine), boolInt(ic.LandlineLine)).Scan(&ic.ID)
	})
	return ic, err
}

// RecordHeartbeats notes the heartbeats in one transaction and returns the
// intercoms that came online.
func (db *DB) RecordHeartbeats(ctx context.Context, beats map[int64]time.Time) ([]int64, error) {
	var came []int64
	err := db.scoped(ctx, func(q querier, ch *change) error {
		came = came[:0] // the writer may run fn again in a batch of its own
		ch.beats = slices.Collect(maps.Keys(beats))
		for id, at := range beats {
			// SQLite has one writer: what it reads here stays true until it writes.
			var online bool
			err := q.QueryRow(`SELECT online FROM intercoms WHERE id = ?`, id).Scan(&online)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			if _, err := q.Exec(`UPDATE intercoms SET last_heartbeat_at = max(coalesce(last_heartbeat_at, 0), ?), online = 1
				WHERE id = ?`, micros(at), id); err != nil {
				return err
			}
			if !online {
				came = append(came, id)
			}
		}
		return nil
	})
	slices.Sort(came)
	return came, err
}

// SweepOffline marks offline the online intercoms silent since lastBefore.
func (db *DB) SweepOffline(ctx context.Context, lastBefore time.Time) ([]int64, error) {
	var gone []int64
	err := db.uncached(ctx, func(q querier) error {
		var err error
		gone, err = scanIDs(q.Query(`UPDATE intercoms SET online = 0 WHERE online = 1 AND last_heartbeat_at <= ? RETURNING id`, micros(lastBefore)))
		return err
	})
	slices.Sort(gone)
	return gone, err
}

// OldestOnline returns the earliest last heartbeat of an online intercom.
func (db *DB) OldestOnline(ctx context.Context) (*time.Time, error) {
	var at sql.NullInt64
	err := db.reader(ctx).QueryRow(`SELECT min(last_heartbeat_at) FROM intercoms WHERE online = 1`).Scan(&at)
	return fromNullMicros(at), wrap(err)
}

// IntercomBySecretHash finds the intercom whose secret hashes to hash.
func (db *DB) IntercomBySecretHash(ctx context.Context, hash []byte) (intercom.Intercom, error) {
	return db.intercomWhere(ctx, `secret_hash = ?`, hash)
}

// IntercomByID finds an intercom by its id.
func (db *DB) IntercomByID(ctx context.Context, id int64) (intercom.Intercom, error) {
	return db.intercomWhere(ctx, `id = ?`, id)
}

// intercomWhere loads the one intercom that cond (on a unique column) picks.
func (db *DB) intercomWhere(ctx context.Context, cond string, arg any) (intercom.Intercom, error) {
	ic, err := intercomRow(db.reader(ctx), cond, arg)
	return ic, wrap(err)
}

// intercomRow loads the one intercom that cond (on a unique column) picks.
func intercomRow(q querier, cond string, arg any) (intercom.Intercom, error) {
	return scanIntercom(q.QueryRow(`SELECT `+intercomColumns+` FROM intercoms WHERE `+cond, arg))
}

// intercomColumns are an intercom's columns, as scanIntercom reads them.
const intercomColumns = `id, address, department, camera_id, secret_hash, control_key, control_url, door_open_seconds,
	last_heartbeat_at, created_at, first_flat, last_flat, open_door_code, open_door_key, analog_line, landline_line`

func scanIntercom(row scanner) (intercom.Intercom, error) {
	var ic intercom.Intercom
	var cameraID, beat, first, last sql.NullInt64
	var controlURL sql.NullString
	var created int64
	err := row.Scan(
		&ic.ID, &ic.Address, &ic.Department, &cameraID, &ic.SecretHash, &ic.ControlKey, &controlURL, &ic.DoorOpenSeconds, &beat, &created,
		&first, &last, &ic.OpenDoorCode, &ic.OpenDoorKey, &ic.AnalogLine, &ic.LandlineLine)
	ic.CameraID, ic.ControlURL, ic.LastHeartbeatAt, ic.CreatedAt = nullInt(cameraID), nullString(controlURL), fromNullMicros(beat), fromMicros(created)
	ic.FirstFlat, ic.LastFlat = nullInt(first), nullInt(last)
	return ic, err
}

// LastHeartbeat returns an intercom's last heartbeat.
func (db *DB) LastHeartbeat(ctx context.Context, intercomID int64) (*time.Time, error) {
	var at sql.NullInt64
	err := db.reader(ctx).QueryRow(`SELECT last_heartbeat_at FROM intercoms WHERE id = ?`, intercomID).Scan(&at)
	return fromNullMicros(at), wrap(err)
}

// IntercomMembers lists the accounts whose membership of an intercom is
// confirmed.
func (db *DB) IntercomMembers(ctx context.Context, intercomID int64) ([]int64, error) {
	out, err := scanIDs(db.reader(ctx).Query(`SELECT user_id FROM memberships WHERE intercom_id = ? AND status = 'confirmed'
		ORDER BY user_id`, intercomID))
	if len(out) == 0 {
		out = nil
	}
	return out, wrap(err)
}

// PutMembership creates or replaces a membership.
func (db *DB) PutMembership(ctx context.Context, m intercom.Membership, at time.Time) (intercom.MembershipChange, error) {
	var out intercom.MembershipChange
	err := db.scoped(ctx, func(q querier, ch *change) error {
		ch.users = []int64{m.UserID}
		var n int
		if err := q.QueryRow(`SELECT (SELECT count(*) FROM users WHERE id = ?) + (SELECT count(*) FROM intercoms WHERE id = ?)`,
			m.UserID, m.IntercomID).Scan(&n); err != nil {
			return err
		}
		if n != 2 {
			return intercom.ErrNotFound
		}
		out = intercom.MembershipChange{}
		var createdAt, updatedAt sql.NullInt64
		var status string
		err := q.QueryRow(`SELECT created_at, status FROM memberships WHERE user_id = ? AND intercom_id = ?`,
			m.UserID, m.IntercomID).Scan(&createdAt, &status)
		out.WasConfirmed = status == intercom.StatusConfirmed
		switch {
		case err == sql.ErrNoRows:
			out.Created = true
			if m.CreatedAt != nil {
				createdAt = sql.NullInt64{Int64: micros(*m.CreatedAt), Valid: true}
			} else {
				createdAt = sql.NullInt64{Int64: micros(at), Valid: true}
			}
		case err != nil:
			return err
		}
		updatedAt = sql.NullInt64{Int64: micros(at), Valid: true}
		if _, err := q.Exec(`INSERT INTO memberships (user_id, intercom_id, flat, title, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, intercom_id) DO UPDATE SET flat = excluded.flat, title = excluded.title,
				status = excluded.status, updated_at = excluded.updated_at`,
			m.UserID, m.IntercomID, m.Flat, m.Title, m.Status, createdAt, updatedAt); err != nil {
			return err
		}
		if m.Status != intercom.StatusConfirmed {
			// A membership that is no longer confirmed is not the account's
			// intercom: its visitor codes go, as an unlink's do.
			if _, err := q.Exec(`DELETE FROM visitor_codes WHERE user_id = ? AND intercom_id = ?`, m.UserID, m.IntercomID); err != nil {
				return err
			}
		}
		m.CreatedAt, m.UpdatedAt = fromNullMicros(createdAt), fromNullMicros(updatedAt)
		out.Membership = m
		if m.Status == intercom.StatusConfirmed {
			v, err := viewOne(q, intercom.Viewer{UserID: m.UserID}, m.IntercomID)
			if err != nil {
				return err
			}
			out.View = &v
		}
		return nil
	})
	return out, err
}

// DeleteMembership unlinks an account from an intercom.
func (db *DB) DeleteMembership(ctx context.Context, intercomID, userID int64) (intercom.Membership, error) {
	m := intercom.Membership{UserID: userID, IntercomID: intercomID}
	err := db.scoped(ctx, func(q querier, ch *change) error {
		ch.users = []int64{userID}
		var flat, created, updated sql.NullInt64
		if err := q.QueryRow(`DELETE FROM memberships WHERE user_id = ? AND intercom_id = ?
			RETURNING flat, title, status, created_at, updated_at`, userID, intercomID).Scan(&flat, &m.Title, &m.Status,
			&created, &updated); err != nil {
			return err // ErrNoRows: ENOTFOUND
		}
		m.Flat, m.CreatedAt, m.UpdatedAt = nullInt(flat), fromNullMicros(created), fromNullMicros(updated)
		if _, err := q.Exec(`DELETE FROM visitor_codes WHERE user_id = ? AND intercom_id = ?`, userID, intercomID); err != nil {
			return err
		}
		_, err := q.Exec(`DELETE FROM device_settings WHERE intercom_id = ?
			AND device_id IN (SELECT id FROM devices WHERE user_id = ?)`, intercomID, userID)
		return err
	})
	return m, err
}

// viewQuery selects IntercomViews for device ?1 of user ?2: only confirmed
// memberships are the account's intercoms (a key_confirmed one is a pairing
// in progress). Callers append their conditions and ordering.
const viewQuery = membershipViewQuery + ` AND m.status = 'confirmed'`

// membershipViewQuery is viewQuery for memberships of any status.
const membershipViewQuery = `SELECT i.id, i.address, i.department, i.camera_id, i.control_url, i.door_open_seconds,
		i.last_heartbeat_at, i.created_at, i.secret_hash, ` + intercomExtras + `,
		m.user_id, m.flat, m.title, m.status, m.created_at, m.updated_at,
		s.is_enabled, s.timetable,
		c.id, c.group_id, c.status, c.type, c.start_at, c.created_at, c.billing_id, c.pretty_name,
		c.lat, c.lng, c.azimuth, c.is_archive_recording, c.is_bridge, c.user_status, c.name,
		f.user_id IS NOT NULL
	FROM memberships m
	JOIN intercoms i ON i.id = m.intercom_id
	` + flatLinesJoin + `
	LEFT JOIN device_settings s ON s.intercom_id = i.id AND s.device_id = ?1
	LEFT JOIN cameras c ON c.id = i.camera_id
	LEFT JOIN camera_favorites f ON f.camera_id = c.id AND f.user_id = m.user_id
	WHERE m.user_id = ?2`

// intercomExtras are the intercom's columns the operator sets for pairing,
// door features and lines, then the lines of the membership's flat
// (flatLinesJoin), in viewQuery after the secret hash.
const intercomExtras = `i.first_flat, i.last_flat, i.open_door_code, i.open_door_key, i.analog_line, i.landline_line,
	fl.analog, fl.landline, fl.landline_uri, i.control_key`

// flatLinesJoin joins the lines of membership m's flat.
const flatLinesJoin = `LEFT JOIN flat_lines fl ON fl.intercom_id = i.id AND fl.flat = coalesce(m.flat, -1)`

// scanView scans the columns of viewQuery, then extra.
func scanView(rows scanner, extra ...any) (intercom.IntercomView, error) {
	var v intercom.IntercomView
	var (
		cameraID, lastBeat, flat, mCreated, mUpdated, enabled sql.NullInt64
		firstFlat, lastFlat, analog, landline                 sql.NullInt64
		landlineURI                                           sql.NullString
		controlURL                                            sql.NullString
		timetable                                             []byte
		icCreated                                             int64
		cID, cGroup, cStart, cCreated, cArchive, cBridge      sql.NullInt64
		cStatus, cType, cBilling, cPretty, cUserStatus, cName sql.NullString
		cLat, cLng, cAzimuth                                  sql.NullFloat64
	)
	err := rows.Scan(append([]any{&v.Intercom.ID, &v.Intercom.Address, &v.Intercom.Department, &cameraID, &controlURL,
		&v.Intercom.DoorOpenSeconds, &lastBeat, &icCreated, &v.Intercom.SecretHash,
		&firstFlat, &lastFlat, &v.Intercom.OpenDoorCode, &v.Intercom.OpenDoorKey, &v.Intercom.AnalogLine, &v.Intercom.LandlineLine,
		&analog, &landline, &landlineURI, &v.Intercom.ControlKey,
		&v.Membership.UserID, &flat, &v.Membership.Title, &v.Membership.Status, &mCreated, &mUpdated,
		&enabled, &timetable,
		&cID, &cGroup, &cStatus, &cType, &cStart, &cCreated, &cBilling, &cPretty,
		&cLat, &cLng, &cAzimuth, &cArchive, &cBridge, &cUserStatus, &cName,
		&v.IsFavorite}, extra...)...)
	if err != nil {
		return v, err
	}
	v.Intercom.CameraID, v.Intercom.ControlURL = nullInt(cameraID), nullString(controlURL)
	v.Intercom.FirstFlat, v.Intercom.LastFlat = nullInt(firstFlat), nullInt(lastFlat)
	v.Intercom.LastHeartbeatAt, v.Intercom.CreatedAt = fromNullMicros(lastBeat), fromMicros(icCreated)
	v.Membership.IntercomID, v.Membership.Flat = v.Intercom.ID, nullInt(flat)
	v.Membership.CreatedAt, v.Membership.UpdatedAt = fromNullMicros(mCreated), fromNullMicros(mUpdated)
	v.Lines = intercom.DefaultFlatLines
	if analog.Valid {
		v.Lines = intercom.FlatLines{Analog: analog.Int64 != 0, Landline: landline.Int64 != 0, LandlineURI: landlineURI.String}
	}
	v.Settings = intercom.DefaultDeviceSettings
	if enabled.Valid {
		v.Settings.IsEnabled = enabled.Int64 != 0
		if err := v.Settings.Timetable.UnmarshalBinary(timetable); err != nil {
			return v, err
		}
	}
	if cID.Valid {
		v.Camera = &intercom.Camera{
			ID: cID.Int64, GroupID: nullInt(cGroup), Status: cStatus.String, Type: cType.String,
			StartAt: fromNullMicros(cStart), CreatedAt: fromMicros(cCreated.Int64), BillingID: nullString(cBilling),
			PrettyName: cPretty.String, Lat: nullFloat(cLat), Lng: nullFloat(cLng), Azimuth: nullFloat(cAzimuth),
			IsArchiveRecording: cArchive.Int64 != 0, IsBridge: cBridge.Int64 != 0, UserStatus: cUserStatus.String, Name: cName.String,
		}
	}
	return v, nil
}

func queryViews(q querier, query string, args ...any) ([]intercom.IntercomView, error) {
	rows, err := q.Query(query, args...)
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

func viewOne(q querier, v intercom.Viewer, id int64) (intercom.IntercomView, error) {
	return scanView(q.QueryRow(viewQuery+` AND i.id = ?3`, v.DeviceID, v.UserID, id))
}

// Intercoms lists the viewer's intercoms ordered by id.
func (db *DB) Intercoms(ctx context.Context, v intercom.Viewer, p intercom.Page) ([]intercom.IntercomView, int, error) {
	var views []intercom.IntercomView
	var total int
	q := db.reader(ctx)
	if err := q.QueryRow(`SELECT count(*) FROM memberships WHERE user_id = ? AND status = 'confirmed'`, v.UserID).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	views, err := queryViews(q, viewQuery+` ORDER BY i.id LIMIT ?3 OFFSET ?4`, v.DeviceID, v.UserID, p.PerPage, p.Offset())
	return views, total, wrap(err)
}

// IntercomsByIDs returns those of ids that are the viewer's.
func (db *DB) IntercomsByIDs(ctx context.Context, v intercom.Viewer, ids []int64) ([]intercom.IntercomView, error) {
	if len(ids) == 0 {
		return []intercom.IntercomView{}, nil
	}
	args := []any{v.DeviceID, v.UserID}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = "?"
	}
	views, err := queryViews(db.reader(ctx), viewQuery+` AND i.id IN (`+strings.Join(marks, ",")+`) ORDER BY i.id`, args...)
	return views, wrap(err)
}

// Intercom returns one of the viewer's intercoms. Views found are cached
// (cache.go).
func (db *DB) Intercom(ctx context.Context, v intercom.Viewer, id int64) (intercom.IntercomView, error) {
	c := &db.caches
	key := viewKey{userID: v.UserID, deviceID: v.DeviceID, intercomID: id}
	if view, ok := c.views.Get(&c.log, key, func(ch *change, _ intercom.IntercomView) bool { return ch.touchesView(key) }); ok {
		return cloneView(view), nil
	}
	gen := c.log.Now()
	view, err := viewOne(db.reader(ctx), v, id)
	if err != nil {
		return view, wrap(err)
	}
	c.views.Put(&db.caches.log, key, gen, view)
	return cloneView(view), nil
}

var emptyTimetable, _ = intercom.Timetable{}.MarshalBinary()

// UpdateIntercom applies u in one transaction. The view it returns is the
// one it started from (see viewInTx) with u applied as the statements apply
// it, not read again; it goes to the view cache once committed.
func (db *DB) UpdateIntercom(ctx context.Context, v intercom.Viewer, id int64, u intercom.IntercomUpdate, at time.Time) (intercom.IntercomView, error) {
	var view intercom.IntercomView
	key := viewKey{userID: v.UserID, deviceID: v.DeviceID, intercomID: id}
	err := db.scoped(ctx, func(q querier, ch *change) error {
		ch.users = []int64{v.UserID}
		var err error
		if view, err = db.viewInTx(q, key); err != nil {
			return err
		}
		var title any
		if u.Title != nil {
			title = *u.Title
			view.Membership.Title = *u.Title
		}
		if err := mustAffect(q.Exec(`UPDATE memberships SET title = coalesce(?, title), updated_at = ?
			WHERE user_id = ? AND intercom_id = ? AND status = 'confirmed'`, title, micros(at), v.UserID, id)); err != nil {
			return err
		}
		updated := fromMicros(micros(at))
		view.Membership.UpdatedAt = &updated
		if u.IsEnabled != nil || u.Timetable != nil {
			var enabled, timetable any
			if u.IsEnabled != nil {
				enabled = boolInt(*u.IsEnabled)
				view.Settings.IsEnabled = *u.IsEnabled
			}
			if u.Timetable != nil {
				b, err := u.Timetable.MarshalBinary()
				if err != nil {
					return err
				}
				timetable = b
				// As a read would have it: decoded from what is stored.
				var tt intercom.Timetable
				if err := tt.UnmarshalBinary(b); err != nil {
					return err
				}
				view.Settings.Timetable = tt
			}
			if _, err := q.Exec(`INSERT INTO device_settings (device_id, intercom_id, is_enabled, timetable, updated_at)
				VALUES (?1, ?2, coalesce(?3, 1), coalesce(?4, ?5), ?6)
				ON CONFLICT (device_id, intercom_id) DO UPDATE SET
					is_enabled = coalesce(?3, is_enabled), timetable = coalesce(?4, timetable), updated_at = ?6`,
				v.DeviceID, id, enabled, timetable, emptyTimetable, micros(at)); err != nil {
				return err
			}
		}
		if u.Analog != nil || u.Landline != nil {
			// As stored now, not as a view had them: the operator's URI stays.
			ic, err := intercomRow(q, `id = ?`, id)
			if err != nil {
				return err
			}
			fl, err := flatLines(q, id, view.Membership.Flat)
			if err != nil {
				return err
			}
			changed, err := u.ApplyLines(ic, &fl)
			if err != nil {
				return err
			}
			view.Intercom.AnalogLine, view.Intercom.LandlineLine, view.Lines = ic.AnalogLine, ic.LandlineLine, fl
			if changed {
				mates, err := putFlatLines(q, id, view.Membership.Flat, fl, at)
				if err != nil {
					return err
				}
				ch.users = mates // their views show the flat's lines
			}
		}
		ch.views = []freshView{{key: key, view: view}}
		return nil
	})
	return cloneView(view), err
}

// FlatLines returns the lines of a flat of an intercom.
func (db *DB) FlatLines(ctx context.Context, intercomID int64, flat *int64) (intercom.FlatLines, error) {
	fl, err := flatLines(db.reader(ctx), intercomID, flat)
	return fl, wrap(err)
}

func flatLines(q querier, intercomID int64, flat *int64) (intercom.FlatLines, error) {
	var fl intercom.FlatLines
	err := q.QueryRow(`SELECT analog, landline, landline_uri FROM flat_lines WHERE intercom_id = ? AND flat = ?`,
		intercomID, intercom.FlatKey(flat)).Scan(&fl.Analog, &fl.Landline, &fl.LandlineURI)
	if errors.Is(err, sql.ErrNoRows) {
		return intercom.DefaultFlatLines, nil
	}
	return fl, err
}

// UpdateFlatLines runs fn on the lines of a flat of an intercom and saves
// them.
func (db *DB) UpdateFlatLines(ctx context.Context, intercomID int64, flat *int64, fn func(intercom.Intercom, *intercom.FlatLines) error,
	at time.Time) (intercom.FlatLines, error) {
	var fl intercom.FlatLines
	err := db.scoped(ctx, func(q querier, ch *change) error {
		ic, err := intercomRow(q, `id = ?`, intercomID)
		if err != nil {
			return err
		}
		if fl, err = flatLines(q, intercomID, flat); err != nil {
			return err
		}
		if err := fn(ic, &fl); err != nil {
			return err
		}
		ch.users, err = putFlatLines(q, intercomID, flat, fl, at)
		return err
	})
	return fl, err
}

// putFlatLines saves the lines of a flat and returns the accounts of the
// flat, whose views show them.
func putFlatLines(q querier, intercomID int64, flat *int64, fl intercom.FlatLines, at time.Time) ([]int64, error) {
	if _, err := q.Exec(`INSERT INTO flat_lines (intercom_id, flat, analog, landline, landline_uri, updated_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6)
		ON CONFLICT (intercom_id, flat) DO UPDATE SET analog = ?3, landline = ?4, landline_uri = ?5, updated_at = ?6`,
		intercomID, intercom.FlatKey(flat), boolInt(fl.Analog), boolInt(fl.Landline), fl.LandlineURI, micros(at)); err != nil {
		return nil, err
	}
	if flat == nil {
		return scanIDs(q.Query(`SELECT user_id FROM memberships WHERE intercom_id = ? AND flat IS NULL`, intercomID))
	}
	return scanIDs(q.Query(`SELECT user_id FROM memberships WHERE intercom_id = ? AND flat = ?`, intercomID, *flat))
}
