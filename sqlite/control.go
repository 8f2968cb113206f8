package sqlite

import (
	"context"
	"database/sql"

	"intercom"
)

// RecordControl stores one POST to a control URL.
func (db *DB) RecordControl(ctx context.Context, e intercom.ControlEntry) error {
	return db.uncached(ctx, func(q querier) error {
		_, err := q.Exec(`INSERT INTO control_log (intercom_id, event, call_id, user_id, device, at, ok, status, error, timed_out)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.IntercomID, e.Event, e.CallID, e.UserID, e.Device, micros(e.At),
			boolInt(e.Result.OK), e.Result.Status, e.Result.Error, boolInt(e.Result.TimedOut))
		return err
	})
}

// ControlLog lists what was sent to an intercom's control URL, newest first.
func (db *DB) ControlLog(ctx context.Context, intercomID int64, event string, p intercom.Page) ([]intercom.ControlEntry, int, error) {
	q := db.reader(ctx)
	var n int
	if err := q.QueryRow(`SELECT count(*) FROM intercoms WHERE id = ?`, intercomID).Scan(&n); err != nil {
		return nil, 0, wrap(err)
	}
	if n == 0 {
		return nil, 0, intercom.ErrNotFound
	}
	var total int
	if err := q.QueryRow(`SELECT count(*) FROM control_log WHERE intercom_id = ?1 AND (?2 = '' OR event = ?2)`, intercomID, event).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	rows, err := q.Query(`SELECT id, intercom_id, event, call_id, user_id, device, at, ok, status, error, timed_out
		FROM control_log WHERE intercom_id = ?1 AND (?2 = '' OR event = ?2) ORDER BY id DESC LIMIT ?3 OFFSET ?4`,
		intercomID, event, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, wrap(err)
	}
	defer rows.Close()
	out := []intercom.ControlEntry{}
	for rows.Next() {
		var e intercom.ControlEntry
		var callID, userID sql.NullInt64
		var at int64
		if err := rows.Scan(&e.ID, &e.IntercomID, &e.Event, &callID, &userID, &e.Device, &at, &e.Result.OK, &e.Result.Status,
			&e.Result.Error, &e.Result.TimedOut); err != nil {
			return nil, 0, wrap(err)
		}
		e.CallID, e.UserID, e.At = nullInt(callID), nullInt(userID), fromMicros(at)
		out = append(out, e)
	}
	return out, total, wrap(rows.Err())
}
