package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// CreateCall records a call with the devices it concerned.
func (db *DB) CreateCall(ctx context.Context, c intercom.Call) (intercom.Call, error) {
	return db.createCall(ctx, c, nil)
}

// insertCall writes a call, its devices, its accounts and, when ringUntil
// ($15) is not null, its ring deadline in one statement: one round trip
// and, outside a transaction, one commit. When the number is held by a live
// call (calls_live_number), also by a node inserting at the same instant, the
// call's insert does nothing, nor do the others, which take its id from it:
// no row comes back. A device's channels and tokens come joined by commas,
// as the SQLite engine stores them (unnest cannot take a text[] of text[]
// apart, and slicing one array per device costs a walk of it per device).
const insertCall = `WITH c AS (
		INSERT INTO calls (intercom_id, flat, status, created_at, started_at, ended_at, answered_by, sip_number,
			connected_at, end_reason, analog, landline, answered_on)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (sip_number) WHERE status IN ('ring', 'answered') DO NOTHING RETURNING id
	), devices AS (
		INSERT INTO call_devices (call_id, device_id, user_id, uuid, client, title, channels, reason, tokens, declined_at,
			seen_at, seen_by)
		SELECT c.id, d.device_id, d.user_id, d.uuid, d.client, d.title, string_to_array(d.channels, ','), d.reason,
			string_to_array(d.tokens, ','), d.declined_at, d.seen_at, d.seen_by
		FROM c, unnest($16::bigint[], $17::bigint[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[],
			$23::text[], $24::timestamptz[], $25::timestamptz[], $26::text[])
			AS d(device_id, user_id, uuid, client, title, channels, reason, tokens, declined_at, seen_at, seen_by)
	), accounts AS (
		INSERT INTO call_accounts (user_id, call_id) SELECT u, c.id FROM c, unnest($14::bigint[]) AS u
	), deadline AS (
		INSERT INTO deadlines (kind, id, due_at) SELECT 'ring', c.id, $15 FROM c WHERE $15::timestamptz IS NOT NULL
		ON CONFLICT (kind, id) DO UPDATE SET due_at = excluded.due_at
	)
	SELECT id FROM c`

// createCall is CreateCall that also sets the call's ring deadline at
// ringUntil, when not nil, as Scheduler.Schedule would: the call and its
// deadline are written together or not at all.
func (db *DB) createCall(ctx context.Context, c intercom.Call, ringUntil *time.Time) (intercom.Call, error) {
	// Column by column, for unnest.
	n := len(c.Devices)
	ids, users := make([]int64, 0, n), make([]int64, 0, n)
	uuids, clients, titles := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	channels, reasons, tokens := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	declined, seen, seenBy := make([]*time.Time, 0, n), make([]*time.Time, 0, n), make([]string, 0, n)
	for _, d := range c.Devices {
		ids, users = append(ids, d.DeviceID), append(users, d.UserID)
		uuids, clients, titles = append(uuids, d.UUID), append(clients, d.Client), append(titles, d.Title)
		channels, reasons = append(channels, strings.Join(d.Channels, ",")), append(reasons, d.Reason)
		tokens = append(tokens, strings.Join(d.Tokens, ","))
		declined, seen, seenBy = append(declined, d.DeclinedAt), append(seen, d.SeenAt), append(seenBy, d.SeenBy)
	}
	var until *time.Time
	if ringUntil != nil {
		u := ringUntil.UTC()
		until = &u
	}
	asked := c.Number
	insert := func(q querier) error {
		c.ID, c.Number = 0, asked
		for c.ID == 0 {
			if c.Number == "" {
				c.Number = intercom.NewCallNumber()
			}
			err := q.QueryRow(ctx, insertCall,
				c.IntercomID, c.Flat, c.Status, c.CreatedAt, c.StartedAt, c.EndedAt, c.AnsweredBy, c.Number,
				c.ConnectedAt, c.EndReason, c.Lines.Analog, c.Lines.Landline, c.AnsweredOn, c.Users(), until,
				ids, users, uuids, clients, titles, channels, reasons, tokens, declined, seen, seenBy).Scan(&c.ID)
			if errors.Is(err, pgx.ErrNoRows) {
				c.Number = "" // held: nothing was written; another number
				continue
			} else if err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if _, audited := intercom.AuditToWrite(ctx); audited {
		err = db.txFor(ctx, change{}, func(tx pgx.Tx) error { return insert(tx) })
	} else {
		// The statement is a transaction of its own.
		err = db.retry(ctx, func() error { return insert(db.pool) })
	}
	return c, err
}

const callColumns = `c.id, c.intercom_id, c.flat, c.status, c.created_at, c.started_at, c.ended_at, c.answered_by, c.sip_number,
	c.connected_at, c.end_reason, c.analog, c.landline, c.answered_on`

func callDest(c *intercom.Call) []any {
	return []any{&c.ID, &c.IntercomID, &c.Flat, &c.Status, &c.CreatedAt, &c.StartedAt, &c.EndedAt, &c.AnsweredBy, &c.Number,
		&c.ConnectedAt, &c.EndReason, &c.Lines.Analog, &c.Lines.Landline, &c.AnsweredOn}
}

// loadCall reads a call with its devices; lock takes the call's row lock
// until the transaction ends.
func loadCall(ctx context.Context, q querier, id int64, lock bool) (intercom.Call, error) {
	cond := `c.id = $1`
	if lock {
		cond += ` FOR UPDATE`
	}
	return loadCallWhere(ctx, q, cond, id)
}

// loadCallWhere reads the call the condition picks, with its devices.
func loadCallWhere(ctx context.Context, q querier, cond string, arg any) (intercom.Call, error) {
	var c intercom.Call
	if err := q.QueryRow(ctx, `SELECT `+callColumns+` FROM calls c WHERE `+cond, arg).Scan(callDest(&c)...); err != nil {
		return c, err
	}
	id := c.ID
	rows, err := q.Query(ctx, `SELECT device_id, user_id, uuid, client, title, channels, reason, tokens, declined_at, seen_at, seen_by
		FROM call_devices WHERE call_id = $1 ORDER BY device_id`, id)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var d intercom.CallDevice
		if err := rows.Scan(&d.DeviceID, &d.UserID, &d.UUID, &d.Client, &d.Title, &d.Channels, &d.Reason, &d.Tokens, &d.DeclinedAt,
			&d.SeenAt, &d.SeenBy); err != nil {
			return c, err
		}
		d.Channels, d.Tokens = nilIfEmpty(d.Channels), nilIfEmpty(d.Tokens)
		c.Devices = append(c.Devices, d)
	}
	return c, rows.Err()
}

// Call returns a call with its devices.
func (db *DB) Call(ctx context.Context, id int64) (intercom.Call, error) {
	var c intercom.Call
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		c, err = loadCall(ctx, tx, id, false)
		return err
	})
	return c, err
}

// CallStatus returns a call's status.
func (db *DB) CallStatus(ctx context.Context, id int64) (string, error) {
	var status string
	err := db.pool.QueryRow(ctx, `SELECT status FROM calls WHERE id = $1`, id).Scan(&status)
	return status, wrap(err)
}

// CallByNumber returns the live call with that number.
func (db *DB) CallByNumber(ctx context.Context, number string) (intercom.Call, error) {
	var c intercom.Call
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		c, err = loadCallWhere(ctx, tx, `c.sip_number = $1 AND c.status IN ('ring', 'answered')`, number)
		return err
	})
	return c, err
}

// UpdateCall runs fn on the call and saves what it changed, in one
// transaction that holds the call's row lock: concurrent transitions of one
// call run one after the other, each on what the one before it saved.
func (db *DB) UpdateCall(ctx context.Context, id int64, fn func(*intercom.Call) error) (intercom.Call, error) {
	var c intercom.Call
	err := db.txFor(ctx, change{}, func(tx pgx.Tx) error {
		var err error
		if c, err = loadCall(ctx, tx, id, true); err != nil {
			return err
		}
		before := intercom.DeviceMarks(c.Devices)
		if err := runSafely(fn, &c); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE calls SET status = $1, started_at = $2, ended_at = $3, answered_by = $4, connected_at = $5,
			end_reason = $6, answered_on = $7 WHERE id = $8`,
			c.Status, c.StartedAt, c.EndedAt, c.AnsweredBy, c.ConnectedAt, c.EndReason, c.AnsweredOn, c.ID); err != nil {
			return err
		}
		for _, d := range c.Devices {
			if before[d.DeviceID] != intercom.MarksOf(d) {
				// The first sight stays: SeeCall may have recorded one
				// since the call was loaded (it does not take its lock).
				if _, err := tx.Exec(ctx, `UPDATE call_devices SET declined_at = $1,
					seen_by = CASE WHEN seen_at IS NULL THEN $3 ELSE seen_by END, seen_at = coalesce(seen_at, $2)
					WHERE call_id = $4 AND device_id = $5`,
					d.DeclinedAt, d.SeenAt, d.SeenBy, c.ID, d.DeviceID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return c, err
}

// runSafely runs fn, turning a panic into an error so that the transaction
// is rolled back and the caller told.
func runSafely(fn func(*intercom.Call) error, c *intercom.Call) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("postgres: call update panicked: %v", v)
		}
	}()
	return fn(c)
}

// RingingCalls lists the calls still ringing.
func (db *DB) RingingCalls(ctx context.Context) (map[int64]time.Time, error) {
	return db.idTimes(ctx, `SELECT id, created_at FROM calls WHERE status = 'ring'`)
}

// AnsweredCalls lists the calls in conversation.
func (db *DB) AnsweredCalls(ctx context.Context) ([]intercom.AnsweredCall, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, started_at, connected_at FROM calls WHERE status = 'answered' ORDER BY id`)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (intercom.AnsweredCall, error) {
		var a intercom.AnsweredCall
		var started *time.Time
		err := row.Scan(&a.ID, &started, &a.ConnectedAt)
		if started != nil {
			a.StartedAt = *started
		}
		return a, err
	})
	return out, wrap(err)
}

// SeeCall records when a rung device was first seen acting on a call.
func (db *DB) SeeCall(ctx context.Context, callID, deviceID int64, how string, at time.Time) (bool, error) {
	tag, err := db.execFor(ctx, change{}, `UPDATE call_devices SET seen_at = $1, seen_by = $2
		WHERE call_id = $3 AND device_id = $4 AND reason = '' AND seen_at IS NULL`, at, how, callID, deviceID)
	return tag.RowsAffected() > 0, wrap(err)
}

// PushTargets returns the devices among ids with a token live at at.
func (db *DB) PushTargets(ctx context.Context, ids []int64, at time.Time) ([]intercom.PushTarget, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT d.id, d.user_id, d.client, coalesce(d.fcm_token, ''), coalesce(d.apn_token, ''),
			coalesce(d.voip_token, ''), coalesce(d.huawei_token, ''), d.lang
		FROM devices d WHERE d.id = ANY($1)
		AND EXISTS (SELECT 1 FROM access_tokens t WHERE t.device_id = d.id AND t.revoked_at IS NULL AND t.expires_at > $2)
		ORDER BY d.id`, ids, at)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (intercom.PushTarget, error) {
		var p intercom.PushTarget
		err := row.Scan(&p.DeviceID, &p.UserID, &p.Client, &p.FCMToken, &p.APNToken, &p.VoIPToken, &p.HuaweiToken, &p.Lang)
		return p, err
	})
	return out, wrap(err)
}

// idTimes runs a query of (id, time) rows into a map.
func (db *DB) idTimes(ctx context.Context, query string) (map[int64]time.Time, error) {
	rows, err := db.pool.Query(ctx, query)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, wrap(err)
		}
		out[id] = at
	}
	return out, wrap(rows.Err())
}

// callViewQuery selects the columns of viewQuery (the membership as the
// account has it now, if it still does; no device settings), then the call's.
const callViewQuery = `SELECT i.id, i.address, i.department, i.camera_id, i.control_url, i.door_open_seconds,
		i.last_heartbeat_at, i.created_at, i.secret_hash, ` + intercomExtras + `,
		a.user_id, m.flat, coalesce(m.title, i.address), coalesce(m.status, 'confirmed'), m.created_at, m.updated_at,
		NULL::boolean, NULL::bytea,
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
	WHERE a.user_id = $1`

func scanCallView(row pgx.Row) (intercom.CallView, error) {
	var cv intercom.CallView
	v, err := scanView(row, callDest(&cv.Call)...)
	cv.Intercom = v
	return cv, err
}

// CallsOf lists the account's calls, newest first.
func (db *DB) CallsOf(ctx context.Context, userID int64, f intercom.CallFilter, p intercom.Page) ([]intercom.CallView, int, error) {
	where, args := ``, []any{userID}
	if f.IntercomID != 0 {
		args = append(args, f.IntercomID)
		where += ` AND c.intercom_id = $` + strconv.Itoa(len(args))
	}
	if f.CameraID != 0 {
		args = append(args, f.CameraID)
		where += ` AND i.camera_id = $` + strconv.Itoa(len(args))
	}
	if len(f.Statuses) > 0 {
		args = append(args, f.Statuses)
		where += ` AND c.status = ANY($` + strconv.Itoa(len(args)) + `)`
	}
	var total int
	out := []intercom.CallView{}
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM call_accounts a JOIN calls c ON c.id = a.call_id
			JOIN intercoms i ON i.id = c.intercom_id WHERE a.user_id = $1`+where, args...).Scan(&total); err != nil {
			return err
		}
		n := len(args)
		rows, err := tx.Query(ctx, callViewQuery+where+` ORDER BY c.id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
			append(args, p.PerPage, p.Offset())...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			cv, err := scanCallView(rows)
			if err != nil {
				return err
			}
			out = append(out, cv)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// CallOf returns one of the account's calls.
func (db *DB) CallOf(ctx context.Context, userID, id int64) (intercom.CallView, error) {
	cv, err := scanCallView(db.pool.QueryRow(ctx, callViewQuery+` AND c.id = $2`, userID, id))
	return cv, wrap(err)
}

func scanIDs(rows pgx.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if out == nil {
		out = []int64{}
	}
	return out, err
}

// UnlinkIntercoms unlinks the account's intercoms among ids.
func (db *DB) UnlinkIntercoms(ctx context.Context, userID int64, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return []int64{}, nil
	}
	var out []int64
	err := db.txFor(ctx, change{Users: []int64{userID}}, func(tx pgx.Tx) error {
		var err error
		if out, err = scanIDs(tx.Query(ctx, `DELETE FROM memberships WHERE user_id = $1 AND intercom_id = ANY($2)
			RETURNING intercom_id`, userID, ids)); err != nil || len(out) == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM device_settings WHERE intercom_id = ANY($2)
			AND device_id IN (SELECT id FROM devices WHERE user_id = $1)`, userID, out); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM visitor_codes WHERE user_id = $1 AND intercom_id = ANY($2)`, userID, out); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM call_accounts WHERE user_id = $1
			AND call_id IN (SELECT id FROM calls WHERE intercom_id = ANY($2))`, userID, out)
		return err
	})
	return out, err
}

// ForgetCalls removes the account's calls among ids from its history.
func (db *DB) ForgetCalls(ctx context.Context, userID int64, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return []int64{}, nil
	}
	out, err := scanIDs(db.pool.Query(ctx, `DELETE FROM call_accounts WHERE user_id = $1 AND call_id = ANY($2) RETURNING call_id`,
		userID, ids))
	return out, wrap(err)
}

// CallSends lists the pushes of a call.
func (db *DB) CallSends(ctx context.Context, callID int64) ([]intercom.CallSend, error) {
	rows, err := db.pool.Query(ctx, `SELECT call_id, device_id, channel, type, attempts, outcome, status, reason, provider_id, at
		FROM call_sends WHERE call_id = $1 ORDER BY device_id, channel COLLATE "C", type COLLATE "C"`, callID)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	out := []intercom.CallSend{}
	for rows.Next() {
		var cs intercom.CallSend
		if err := rows.Scan(&cs.CallID, &cs.DeviceID, &cs.Channel, &cs.Type, &cs.Attempts, &cs.Outcome, &cs.Status, &cs.Reason,
			&cs.ProviderID, &cs.At); err != nil {
			return nil, wrap(err)
		}
		out = append(out, cs)
	}
	return out, wrap(rows.Err())
}

// pushTokenColumns are the devices' columns of each push channel's token.
var pushTokenColumns = map[string]string{intercom.ChannelFCM: "fcm_token", intercom.ChannelAPNsVoIP: "voip_token",
	intercom.ChannelHMS: "huawei_token", intercom.ChannelAPNsAlert: "apn_token"}

// ClearPushToken forgets a device's token for a channel if it is unchanged.
func (db *DB) ClearPushToken(ctx context.Context, deviceID int64, channel, token string) error {
	column := pushTokenColumns[channel]
	if column == "" {
		return intercom.Errorf(intercom.EINVALID, "no push token for channel %q", channel)
	}
	// db.execFor: it may deadlock on the roster locks (RevokeAccessToken).
	_, err := db.execFor(ctx, change{}, `UPDATE devices SET `+column+` = NULL WHERE id = $1 AND `+column+` = $2`, deviceID, token)
	return wrap(err)
}
