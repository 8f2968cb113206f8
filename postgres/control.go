package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// RecordControl stores one POST to a control URL.
func (db *DB) RecordControl(ctx context.Context, e intercom.ControlEntry) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO control_log (intercom_id, event, call_id, user_id, device, at, ok, status, error, timed_out)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, e.IntercomID, e.Event, e.CallID, e.UserID, e.Device, e.At,
		e.Result.OK, e.Result.Status, e.Result.Error, e.Result.TimedOut)
	return wrap(err)
}

// ControlLog lists what was sent to an intercom's control URL, newest first.
func (db *DB) ControlLog(ctx context.Context, intercomID int64, event string, p intercom.Page) ([]intercom.ControlEntry, int, error) {
	var total int
	out := []intercom.ControlEntry{}
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM intercoms WHERE id = $1)`, intercomID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return intercom.ErrNotFound
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM control_log WHERE intercom_id = $1 AND ($2 = '' OR event = $2)`,
			intercomID, event).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, intercom_id, event, call_id, user_id, device, at, ok, status, error, timed_out
			FROM control_log WHERE intercom_id = $1 AND ($2 = '' OR event = $2) ORDER BY id DESC LIMIT $3 OFFSET $4`,
			intercomID, event, p.PerPage, p.Offset())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e intercom.ControlEntry
			if err := rows.Scan(&e.ID, &e.IntercomID, &e.Event, &e.CallID, &e.UserID, &e.Device, &e.At, &e.Result.OK,
				&e.Result.Status, &e.Result.Error, &e.Result.TimedOut); err != nil {
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
