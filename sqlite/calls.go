package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"intercom"
)

// RingCandidates lists the devices of the members of an intercom that have a
// live token, with each of their live tokens. Rosters are cached (roster.go).
func (db *DB) RingCandidates(ctx context.Context, intercomID int64, flat *int64, at time.Time) ([]*intercom.RingCandidate, error) {
	r, err := db.rosterOf(ctx, intercom.RosterKeyOf(intercomID, flat))
	if err != nil {
		return nil, err
	}
	return r.Candidates(at), nil
}

// rosterQuery reads the devices of an intercom's members (of flat) with their
// unrevoked tokens: one row per token.
const rosterQuery = `SELECT d.id, d.user_id, d.uuid, d.client, m.status, m.title, s.is_enabled, s.timetable,
		t.public_id, t.expires_at, coalesce(d.fcm_token, ''), coalesce(d.voip_token, ''), coalesce(d.huawei_token, '')
	FROM memberships m
	JOIN devices d ON d.user_id = m.user_id
	JOIN access_tokens t ON t.device_id = d.id AND t.revoked_at IS NULL
	LEFT JOIN device_settings s ON s.device_id = d.id AND s.intercom_id = m.intercom_id
	WHERE m.intercom_id = ?1 AND (?2 IS NULL OR m.flat = ?2)`

// roster reads the rows of the roster of an intercom (of flat): of every
// member, or of those of users only.
func (db *DB) roster(ctx context.Context, key intercom.RosterKey, users []int64) ([]*intercom.RosterRow, error) {
	query, args := rosterQuery, []any{key.IntercomID, key.FlatOf()}
	if users != nil {
		query += ` AND m.user_id IN (SELECT value FROM json_each(?3))`
		args = append(args, jsonIDs(users))
	}
	rows, err := db.reader(ctx).Query(query, args...)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []*intercom.RosterRow
	at := map[int64]int{} // device → its row in out
	for rows.Next() {
		c := new(intercom.RingCandidate)
		var enabled sql.NullInt64
		var timetable []byte
		var token string
		var expires int64
		if err := rows.Scan(&c.DeviceID, &c.UserID, &c.UUID, &c.Client, &c.MemberStatus, &c.Title, &enabled, &timetable,
			&token, &expires, &c.FCMToken, &c.VoIPToken, &c.HuaweiToken); err != nil {
			return nil, wrap(err)
		}
		if i, ok := at[c.DeviceID]; ok {
			out[i].Candidate.Tokens = append(out[i].Candidate.Tokens, token)
			out[i].Expires = append(out[i].Expires, time.UnixMicro(expires))
			continue
		}
		at[c.DeviceID] = len(out)
		c.Settings = intercom.DefaultDeviceSettings
		if enabled.Valid {
			c.Settings.IsEnabled = enabled.Int64 != 0
			if err := c.Settings.Timetable.UnmarshalBinary(timetable); err != nil {
				return nil, err
			}
		}
		c.Tokens = []string{token}
		out = append(out, &intercom.RosterRow{Candidate: c, Expires: []time.Time{time.UnixMicro(expires)}})
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// CreateCall records a call with the devices it concerned.
func (db *DB) CreateCall(ctx context.Context, c intercom.Call) (intercom.Call, error) {
	asked := c.Number
	err := db.uncached(ctx, func(q querier) error {
		// A number a live call holds is not taken twice (calls_live_number):
		// the insert does nothing and another number is drawn.
		c.ID, c.Number = 0, asked
		for c.ID == 0 {
			if c.Number == "" {
				c.Number = intercom.NewCallNumber()
			}
			err := q.QueryRow(`INSERT INTO calls (intercom_id, flat, status, created_at, started_at, ended_at, answered_by, sip_number,
					connected_at, end_reason, analog, landline, answered_on)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (sip_number) WHERE status IN ('ring', 'answered') DO NOTHING RETURNING id`,
				c.IntercomID, c.Flat, c.Status, micros(c.CreatedAt),
				nullMicros(c.StartedAt), nullMicros(c.EndedAt), c.AnsweredBy, c.Number,
				nullMicros(c.ConnectedAt), c.EndReason, boolInt(c.Lines.Analog), c.Lines.Landline, c.AnsweredOn).Scan(&c.ID)
			if errors.Is(err, sql.ErrNoRows) {
				c.Number = ""
				continue
			} else if err != nil {
				return err
			}
		}
		// Many rows per statement: a ring at a large house concerns a thousand devices.
		for chunk := range slices.Chunk(c.Devices, 100) {
			args := make([]any, 0, len(chunk)*12)
			for _, d := range chunk {
				args = append(args, c.ID, d.DeviceID, d.UserID, d.UUID, d.Client, d.Title, strings.Join(d.Channels, ","),
					d.Reason, strings.Join(d.Tokens, ","), nullMicros(d.DeclinedAt), nullMicros(d.SeenAt), d.SeenBy)
			}
			if _, err := q.Exec(`INSERT INTO call_devices (call_id, device_id, user_id, uuid, client, title, channels, reason, tokens,
					declined_at, seen_at, seen_by)
				VALUES `+rowMarks(len(chunk), 12), args...); err != nil {
				return err
			}
		}
		for chunk := range slices.Chunk(c.Users(), 100) {
			args := make([]any, 0, len(chunk)*2)
			for _, u := range chunk {
				args = append(args, u, c.ID)
			}
			if _, err := q.Exec(`INSERT INTO call_accounts (user_id, call_id) VALUES `+rowMarks(len(chunk), 2), args...); err != nil {
				return err
			}
		}
		return nil
	})
	return c, err
}

const callColumns = `c.id, c.intercom_id, c.flat, c.status, c.created_at, c.started_at, c.ended_at, c.answered_by, c.sip_number,
	c.connected_at, c.end_reason, c.analog, c.landline, c.answered_on`

type callScan struct {
	flat, started, ended, answeredBy, connected sql.NullInt64
	created                                     int64
}

func (s *callScan) dest(c *intercom.Call) []any {
	return []any{&c.ID, &c.IntercomID, &s.flat, &c.Status, &s.created, &s.started, &s.ended, &s.answeredBy, &c.Number,
		&s.connected, &c.EndReason, &c.Lines.Analog, &c.Lines.Landline, &c.AnsweredOn}
}

func (s *callScan) fill(c *intercom.Call) {
	c.Flat, c.CreatedAt, c.StartedAt, c.EndedAt = nullInt(s.flat), fromMicros(s.created), fromNullMicros(s.started), fromNullMicros(s.ended)
	c.AnsweredBy, c.ConnectedAt = nullInt(s.answeredBy), fromNullMicros(s.connected)
}

func loadCall(q querier, id int64) (intercom.Call, error) {
	return loadCallWhere(q, `c.id = ?`, id)
}

// loadCallWhere reads the call the condition picks, with its devices.
func loadCallWhere(q querier, cond string, arg any) (intercom.Call, error) {
	var c intercom.Call
	var s callScan
	if err := q.QueryRow(`SELECT `+callColumns+` FROM calls c WHERE `+cond, arg).Scan(s.dest(&c)...); err != nil {
		return c, err
	}
	s.fill(&c)
	id := c.ID
	rows, err := q.Query(`SELECT device_id, user_id, uuid, client, title, channels, reason, tokens, declined_at, seen_at, seen_by
		FROM call_devices WHERE call_id = ? ORDER BY device_id`, id)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var d intercom.CallDevice
		var channels, tokens string
		var declined, seen sql.NullInt64
		if err := rows.Scan(&d.DeviceID, &d.UserID, &d.UUID, &d.Client, &d.Title, &channels, &d.Reason, &tokens, &declined,
			&seen, &d.SeenBy); err != nil {
			return c, err
		}
		d.Channels, d.Tokens, d.DeclinedAt = splitList(channels), splitList(tokens), fromNullMicros(declined)
		d.SeenAt = fromNullMicros(seen)
		c.Devices = append(c.Devices, d)
	}
	return c, rows.Err()
}

// Call returns a call with its devices.
func (db *DB) Call(ctx context.Context, id int64) (intercom.Call, error) {
	c, err := loadCall(db.reader(ctx), id)
	return c, wrap(err)
}

// CallStatus returns a call's status.
func (db *DB) CallStatus(ctx context.Context, id int64) (string, error) {
	var status string
	err := db.reader(ctx).QueryRow(`SELECT status FROM calls WHERE id = ?`, id).Scan(&status)
	return status, wrap(err)
}

// CallByNumber returns the live call with that number.
func (db *DB) CallByNumber(ctx context.Context, number string) (intercom.Call, error) {
	c, err := loadCallWhere(db.reader(ctx), `c.sip_number = ? AND c.status IN ('ring', 'answered')`, number)
	return c, wrap(err)
}

// UpdateCall runs fn on the call and saves what it changed, in one transaction.
func (db *DB) UpdateCall(ctx context.Context, id int64, fn func(*intercom.Call) error) (intercom.Call, error) {
	var c intercom.Call
	err := db.uncached(ctx, func(q querier) error {
		var err error
		if c, err = loadCall(q, id); err != nil {
			return err
		}
		before := intercom.DeviceMarks(c.Devices)
		if err := fn(&c); err != nil {
			return err
		}
		if _, err := q.Exec(`UPDATE calls SET status = ?, started_at = ?, ended_at = ?, answered_by = ?, connected_at = ?, end_reason = ?,
			answered_on = ? WHERE id = ?`,
			c.Status, nullMicros(c.StartedAt), nullMicros(c.EndedAt), c.AnsweredBy, nullMicros(c.ConnectedAt), c.EndReason,
			c.AnsweredOn, c.ID); err != nil {
			return err
		}
		for _, d := range c.Devices {
			if before[d.DeviceID] != intercom.MarksOf(d) {
				if _, err := q.Exec(`UPDATE call_devices SET declined_at = ?, seen_at = ?, seen_by = ? WHERE call_id = ? AND device_id = ?`,
					nullMicros(d.DeclinedAt), nullMicros(d.SeenAt), d.SeenBy, c.ID, d.DeviceID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return c, err
}

// RingingCalls lists the calls still ringing.
func (db *DB) RingingCalls(ctx context.Context) (map[int64]time.Time, error) {
	return idTimes(db.reader(ctx), `SELECT id, created_at FROM calls WHERE status = 'ring'`)
}

// AnsweredCalls lists the calls in conversation.
func (db *DB) AnsweredCalls(ctx context.Context) ([]intercom.AnsweredCall, error) {
	rows, err := db.reader(ctx).Query(`SELECT id, started_at, connected_at FROM calls WHERE status = 'answered' ORDER BY id`)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []intercom.AnsweredCall
	for rows.Next() {
		var a intercom.AnsweredCall
		var started sql.NullInt64
		var connected sql.NullInt64
		if err := rows.Scan(&a.ID, &started, &connected); err != nil {
			return nil, wrap(err)
		}
		a.StartedAt, a.ConnectedAt = fromMicros(started.Int64), fromNullMicros(connected)
		out = append(out, a)
	}
	return out, wrap(rows.Err())
}

// SeeCall records when a rung device was first seen acting on a call.
func (db *DB) SeeCall(ctx context.Context, callID, deviceID int64, how string, at time.Time) (bool, error) {
	var n int64
	err := db.uncached(ctx, func(q querier) error {
		res, err := q.Exec(`UPDATE call_devices SET seen_at = ?, seen_by = ?
			WHERE call_id = ? AND device_id = ? AND reason = '' AND seen_at IS NULL`, micros(at), how, callID, deviceID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// PushTargets returns the devices among ids with a token live at at.
func (db *DB) PushTargets(ctx context.Context, ids []int64, at time.Time) ([]intercom.PushTarget, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := db.reader(ctx).Query(`SELECT d.id, d.user_id, d.client, coalesce(d.fcm_token, ''), coalesce(d.apn_token, ''),
			coalesce(d.voip_token, ''), coalesce(d.huawei_token, ''), d.lang
		FROM devices d WHERE d.id IN (SELECT value FROM json_each(?1))
		AND EXISTS (SELECT 1 FROM access_tokens t WHERE t.device_id = d.id AND t.revoked_at IS NULL AND t.expires_at > ?2)
		ORDER BY d.id`, jsonIDs(ids), micros(at))
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []intercom.PushTarget
	for rows.Next() {
		var p intercom.PushTarget
		if err := rows.Scan(&p.DeviceID, &p.UserID, &p.Client, &p.FCMToken, &p.APNToken, &p.VoIPToken, &p.HuaweiToken, &p.Lang); err != nil {
			return nil, wrap(err)
		}
		out = append(out, p)
	}
	return out, wrap(rows.Err())
}

// idTimes runs a query of (id, time) rows into a map.
func idTimes(q querier, query string) (map[int64]time.Time, error) {
	rows, err := q.Query(query)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, wrap(err)
		}
		out[id] = fromMicros(at)
	}
	return out, wrap(rows.Err())
}

// callViewQuery selects the columns of viewQuery (the membership as the
// account has it now, if it still does; no device settings), then the call's.
const callViewQuery = `SELECT i.id, i.address, i.department, i.camera_id, i.control_url, i.door_open_seconds,
		i.last_heartbeat_at, i.created_at, i.secret_hash, ` + intercomExtras + `,
		a.user_id, m.flat, coalesce(m.title, i.address), coalesce(m.status, 'confirmed'), m.created_at, m.updated_at,
		NULL, NULL,
		cam.id, cam.group_id, cam.status, cam.type, cam.start_at, cam.created_at, cam.billing_id, cam.pretty_name,
		cam.lat, cam.lng, cam.azimuth, cam.is_archive_recording, cam.is_bridge, cam.user_status, cam.name,
		f.user_id IS NOT NULL, ` + callColumns + `
	FROM call_accounts a
	JOIN calls c ON c.id = a.call_id
	JOIN intercoms i ON i.id = c.intercom_id
	LEFT JOIN memberships m ON m.user_id = a.user_id AND m.intercom_id = c.intercom_id
	` + flatLinesJoin + `
	LEFT JOIN cameras cam ON cam.id = i.camera_id
	LEFT JOIN camera_favorites f ON f.camera_id = cam.id AND f.user_id = a.user_id
	WHERE a.user_id = ?1`

func scanCallView(row scanner) (intercom.CallView, error) {
	var cv intercom.CallView
	var s callScan
	v, err := scanView(row, s.dest(&cv.Call)...)
	s.fill(&cv.Call)
	cv.Intercom = v
	return cv, err
}

// CallsOf lists the account's calls, newest first.
func (db *DB) CallsOf(ctx context.Context, userID int64, f intercom.CallFilter, p intercom.Page) ([]intercom.CallView, int, error) {
	where, args := ``, []any{userID}
	if f.IntercomID != 0 {
		args = append(args, f.IntercomID)
		where += ` AND c.intercom_id = ?` + itoa(len(args))
	}
	if f.CameraID != 0 {
		args = append(args, f.CameraID)
		where += ` AND i.camera_id = ?` + itoa(len(args))
	}
	if len(f.Statuses) > 0 {
		marks := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			args = append(args, st)
			marks[i] = "?" + itoa(len(args))
		}
		where += ` AND c.status IN (` + strings.Join(marks, ",") + `)`
	}
	q := db.reader(ctx)
	var total int
	if err := q.QueryRow(`SELECT count(*) FROM call_accounts a JOIN calls c ON c.id = a.call_id
		JOIN intercoms i ON i.id = c.intercom_id WHERE a.user_id = ?1`+where, args...).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	n := len(args)
	rows, err := q.Query(callViewQuery+where+` ORDER BY c.id DESC LIMIT ?`+itoa(n+1)+` OFFSET ?`+itoa(n+2),
		append(args, p.PerPage, p.Offset())...)
	if err != nil {
		return nil, 0, wrap(err)
	}
	defer rows.Close()
	out := []intercom.CallView{}
	for rows.Next() {
		cv, err := scanCallView(rows)
		if err != nil {
			return nil, 0, wrap(err)
		}
		out = append(out, cv)
	}
	return out, total, wrap(rows.Err())
}

// CallOf returns one of the account's calls.
func (db *DB) CallOf(ctx context.Context, userID, id int64) (intercom.CallView, error) {
	cv, err := scanCallView(db.reader(ctx).QueryRow(callViewQuery+` AND c.id = ?2`, userID, id))
	return cv, wrap(err)
}

// marks returns n numbered placeholders ?from, ?from+1, ….
func marks(from, n int) string {
	m := make([]string, n)
	for i := range m {
		m[i] = "?" + itoa(from+i)
	}
	return strings.Join(m, ",")
}

func int64Args(first any, ids []int64) []any {
	args := make([]any, 0, len(ids)+1)
	args = append(args, first)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// UnlinkIntercoms unlinks the account's intercoms among ids.
func (db *DB) UnlinkIntercoms(ctx context.Context, userID int64, ids []int64) ([]int64, error) {
	var out []int64
	if len(ids) == 0 {
		return []int64{}, nil
	}
	in := marks(2, len(ids))
	args := int64Args(userID, ids)
	err := db.scoped(ctx, func(q querier, ch *change) error {
		ch.users = []int64{userID}
		var err error
		if out, err = scanIDs(q.Query(`DELETE FROM memberships WHERE user_id = ?1 AND intercom_id IN (`+in+`) RETURNING intercom_id`, args...)); err != nil || len(out) == 0 {
			return err
		}
		args := int64Args(userID, out)
		in := marks(2, len(out))
		if _, err := q.Exec(`DELETE FROM device_settings WHERE intercom_id IN (`+in+`)
			AND device_id IN (SELECT id FROM devices WHERE user_id = ?1)`, args...); err != nil {
			return err
		}
		if _, err := q.Exec(`DELETE FROM visitor_codes WHERE user_id = ?1 AND intercom_id IN (`+in+`)`, args...); err != nil {
			return err
		}
		_, err = q.Exec(`DELETE FROM call_accounts WHERE user_id = ?1
			AND call_id IN (SELECT id FROM calls WHERE intercom_id IN (`+in+`))`, args...)
		return err
	})
	return out, err
}

// ForgetCalls removes the account's calls among ids from its history.
func (db *DB) ForgetCalls(ctx context.Context, userID int64, ids []int64) ([]int64, error) {
	var out []int64
	if len(ids) == 0 {
		return []int64{}, nil
	}
	err := db.uncached(ctx, func(q querier) error {
		var err error
		out, err = scanIDs(q.Query(`DELETE FROM call_accounts WHERE user_id = ?1 AND call_id IN (`+marks(2, len(ids))+`) RETURNING call_id`,
			int64Args(userID, ids)...))
		return err
	})
	return out, err
}

// RecordSend stores the outcome of a push.
func (db *DB) RecordSend(ctx context.Context, cs intercom.CallSend) error {
	return db.uncached(ctx, func(q querier) error {
		_, err := q.Exec(`INSERT INTO call_sends (call_id, device_id, channel, type, attempts, outcome, status, reason, provider_id, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (call_id, device_id, channel, type) DO UPDATE SET attempts = excluded.attempts, outcome = excluded.outcome,
				status = excluded.status, reason = excluded.reason, provider_id = excluded.provider_id, at = excluded.at`,
			cs.CallID, cs.DeviceID, cs.Channel, cs.PushType(), cs.Attempts, cs.Outcome, cs.Status, cs.Reason, cs.ProviderID, micros(cs.At))
		return err
	})
}

// CallSends lists the pushes of a call.
func (db *DB) CallSends(ctx context.Context, callID int64) ([]intercom.CallSend, error) {
	rows, err := db.reader(ctx).Query(`SELECT call_id, device_id, channel, type, attempts, outcome, status, reason, provider_id, at
		FROM call_sends WHERE call_id = ? ORDER BY device_id, channel, type`, callID)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	out := []intercom.CallSend{}
	for rows.Next() {
		var cs intercom.CallSend
		var at int64
		if err := rows.Scan(&cs.CallID, &cs.DeviceID, &cs.Channel, &cs.Type, &cs.Attempts, &cs.Outcome, &cs.Status, &cs.Reason,
			&cs.ProviderID, &at); err != nil {
			return nil, wrap(err)
		}
		cs.At = fromMicros(at)
		out = append(out, cs)
	}
	return out, wrap(rows.Err())
}

// ClearPushToken forgets a device's token for a channel if it is unchanged.
func (db *DB) ClearPushToken(ctx context.Context, deviceID int64, channel, token string) error {
	column := pushTokenColumns[channel]
	if column == "" {
		return intercom.Errorf(intercom.EINVALID, "no push token for channel %q", channel)
	}
	return db.scoped(ctx, func(q querier, ch *change) error {
		var err error
		ch.users, err = scanIDs(q.Query(`UPDATE devices SET `+column+` = NULL WHERE id = ? AND `+column+` = ? RETURNING user_id`, deviceID, token))
		return err
	})
}

// pushTokenColumns are the devices' columns of each push channel's token.
var pushTokenColumns = map[string]string{intercom.ChannelFCM: "fcm_token", intercom.ChannelAPNsVoIP: "voip_token",
	intercom.ChannelHMS: "huawei_token", intercom.ChannelAPNsAlert: "apn_token"}

// rowMarks returns rows groups of cols placeholders: (?, ?), (?, ?).
func rowMarks(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}
