package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// Users lists the accounts f keeps.
func (db *DB) Users(ctx context.Context, f intercom.UserFilter, p intercom.Page) ([]intercom.User, int, error) {
	var out []intercom.User
	var total int
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		const where = ` FROM users WHERE ($1 = '' OR lower(login) LIKE $2 ESCAPE '\')`
		pattern := intercom.LikePattern(f.Search)
		if err := tx.QueryRow(ctx, `SELECT count(*)`+where, f.Search, pattern).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+userColumns+where+` ORDER BY id LIMIT $3 OFFSET $4`, f.Search, pattern, p.PerPage, p.Offset())
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (intercom.User, error) { return scanUser(row) })
		return err
	})
	if out == nil {
		out = []intercom.User{}
	}
	return out, total, err
}

const cameraColumns = `id, group_id, status, type, start_at, created_at, billing_id, pretty_name, lat, lng, azimuth,
	is_archive_recording, is_bridge, user_status, name`

func scanCamera(row pgx.Row) (intercom.Camera, error) {
	var c intercom.Camera
	err := row.Scan(&c.ID, &c.GroupID, &c.Status, &c.Type, &c.StartAt, &c.CreatedAt, &c.BillingID, &c.PrettyName,
		&c.Lat, &c.Lng, &c.Azimuth, &c.IsArchiveRecording, &c.IsBridge, &c.UserStatus, &c.Name)
	c.CreatedAt = c.CreatedAt.UTC()
	if c.StartAt != nil {
		t := c.StartAt.UTC()
		c.StartAt = &t
	}
	return c, err
}

// Cameras lists the cameras.
func (db *DB) Cameras(ctx context.Context, p intercom.Page) ([]intercom.Camera, int, error) {
	var out []intercom.Camera
	var total int
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM cameras`).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+cameraColumns+` FROM cameras ORDER BY id LIMIT $1 OFFSET $2`, p.PerPage, p.Offset())
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (intercom.Camera, error) { return scanCamera(row) })
		return err
	})
	if out == nil {
		out = []intercom.Camera{}
	}
	return out, total, err
}

// CameraByID finds a camera.
func (db *DB) CameraByID(ctx context.Context, id int64) (intercom.Camera, error) {
	c, err := scanCamera(db.pool.QueryRow(ctx, `SELECT `+cameraColumns+` FROM cameras WHERE id = $1`, id))
	return c, wrap(err)
}

// UpdateCamera runs fn on the camera, its row locked, and saves it.
func (db *DB) UpdateCamera(ctx context.Context, id int64, fn func(*intercom.Camera) error) (intercom.Camera, error) {
	var c intercom.Camera
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if c, err = scanCamera(tx.QueryRow(ctx, `SELECT `+cameraColumns+` FROM cameras WHERE id = $1 FOR UPDATE`, id)); err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		c.ID = id
		_, err = tx.Exec(ctx, `UPDATE cameras SET group_id = $1, status = $2, type = $3, start_at = $4, billing_id = $5,
				pretty_name = $6, lat = $7, lng = $8, azimuth = $9, is_archive_recording = $10, is_bridge = $11,
				user_status = $12, name = $13 WHERE id = $14`,
			c.GroupID, c.Status, c.Type, c.StartAt, c.BillingID, c.PrettyName, c.Lat, c.Lng, c.Azimuth,
			c.IsArchiveRecording, c.IsBridge, c.UserStatus, c.Name, id)
		return err
	})
	return c, wrap(err)
}

// DeleteCamera removes a camera: its favourites go, the intercoms it
// watched keep none (foreign keys).
func (db *DB) DeleteCamera(ctx context.Context, id int64) error {
	tag, err := db.exec(ctx, `DELETE FROM cameras WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		return intercom.ErrNotFound
	}
	return wrap(err)
}

// IntercomsByControlKey lists at most limit intercoms whose control key
// begins with prefix, by id.
func (db *DB) IntercomsByControlKey(ctx context.Context, prefix []byte, limit int) ([]intercom.Intercom, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+intercomColumns+` FROM intercoms
		WHERE substring(control_key from 1 for $1) = $2 ORDER BY id LIMIT $3`, len(prefix), prefix, limit)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := collectIntercoms(rows)
	return out, wrap(err)
}

// AdminIntercoms lists the intercoms f keeps, by id, with the total.
func (db *DB) AdminIntercoms(ctx context.Context, f intercom.IntercomFilter, p intercom.Page) ([]intercom.Intercom, int, error) {
	var out []intercom.Intercom
	var total int
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		// $3: null any, true online (a heartbeat after $4), false offline.
		const where = ` FROM intercoms WHERE ($1 = '' OR lower(address) LIKE $2 ESCAPE '\')
			AND ($3::boolean IS NULL OR (coalesce(last_heartbeat_at > $4, false)) = $3)`
		args := []any{f.Search, intercom.LikePattern(f.Search), f.Online, f.AliveAfter.UTC()}
		if err := tx.QueryRow(ctx, `SELECT count(*)`+where, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+intercomColumns+where+` ORDER BY id LIMIT $5 OFFSET $6`,
			append(args, p.PerPage, p.Offset())...)
		if err != nil {
			return err
		}
		out, err = collectIntercoms(rows)
		return err
	})
	if out == nil {
		out = []intercom.Intercom{}
	}
	return out, total, err
}

// DeleteIntercom removes an intercom; the foreign keys take what is its,
// and the roster triggers forget its rosters (migration 0006).
func (db *DB) DeleteIntercom(ctx context.Context, id int64) error {
	tag, err := db.exec(ctx, `DELETE FROM intercoms WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		return intercom.ErrNotFound
	}
	return wrap(err)
}

const membershipColumns = `user_id, intercom_id, flat, title, status, created_at, updated_at`

func scanMembership(row pgx.Row) (intercom.Membership, error) {
	var m intercom.Membership
	err := row.Scan(&m.UserID, &m.IntercomID, &m.Flat, &m.Title, &m.Status, &m.CreatedAt, &m.UpdatedAt)
	for _, t := range []**time.Time{&m.CreatedAt, &m.UpdatedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return m, err
}

// Memberships lists an intercom's, or an account's, memberships.
func (db *DB) Memberships(ctx context.Context, intercomID, userID int64, p intercom.Page) ([]intercom.Membership, int, error) {
	table, col, id := "intercoms", "intercom_id", intercomID
	if intercomID == 0 {
		table, col, id = "users", "user_id", userID
	}
	var out []intercom.Membership
	var total int
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, id).Scan(&exists); err != nil {
			return err
		} else if !exists {
			return intercom.ErrNotFound
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM memberships WHERE `+col+` = $1`, id).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE `+col+` = $1
			ORDER BY intercom_id, user_id LIMIT $2 OFFSET $3`, id, p.PerPage, p.Offset())
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (intercom.Membership, error) { return scanMembership(row) })
		return err
	})
	if out == nil {
		out = []intercom.Membership{}
	}
	return out, total, err
}

// Membership returns one membership.
func (db *DB) Membership(ctx context.Context, intercomID, userID int64) (intercom.Membership, error) {
	m, err := scanMembership(db.pool.QueryRow(ctx, `SELECT `+membershipColumns+` FROM memberships
		WHERE intercom_id = $1 AND user_id = $2`, intercomID, userID))
	return m, wrap(err)
}

// Devices lists the account's devices with their sessions.
func (db *DB) Devices(ctx context.Context, userID int64, at time.Time) ([]intercom.DeviceActivity, error) {
	var out []intercom.DeviceActivity
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, userID).Scan(&exists); err != nil {
			return err
		} else if !exists {
			return intercom.ErrNotFound
		}
		rows, err := tx.Query(ctx, `SELECT d.id, d.user_id, d.uuid, d.client, d.fcm_token, d.apn_token, d.voip_token, d.huawei_token,
				d.created_at, d.updated_at,
				(SELECT count(*) FROM access_tokens t WHERE t.device_id = d.id AND t.revoked_at IS NULL AND t.expires_at > $1),
				(SELECT max(coalesce(t.last_used_at, t.created_at)) FROM access_tokens t WHERE t.device_id = d.id),
				coalesce((SELECT t.ip FROM access_tokens t WHERE t.device_id = d.id
					ORDER BY coalesce(t.last_used_at, t.created_at) DESC, t.id DESC LIMIT 1), '')
			FROM devices d WHERE d.user_id = $2 ORDER BY d.id`, at.UTC(), userID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (intercom.DeviceActivity, error) {
			var a intercom.DeviceActivity
			d := &a.Device
			err := row.Scan(&d.ID, &d.UserID, &d.UUID, &d.Client, &d.FCMToken, &d.APNToken, &d.VoIPToken, &d.HuaweiToken,
				&d.CreatedAt, &d.UpdatedAt, &a.LiveSessions, &a.LastUsedAt, &a.LastIP)
			if a.LastUsedAt != nil {
				t := a.LastUsedAt.UTC()
				a.LastUsedAt = &t
			}
			return a, err
		})
		return err
	})
	if out == nil {
		out = []intercom.DeviceActivity{}
	}
	return out, err
}

// IntercomCalls lists an intercom's calls created in [since, until).
func (db *DB) IntercomCalls(ctx context.Context, intercomID int64, since, until time.Time, p intercom.Page) ([]intercom.Call, int, error) {
	var out []intercom.Call
	var total int
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := intercomExists(ctx, tx, intercomID); err != nil {
			return err
		}
		const where = ` FROM calls WHERE intercom_id = $1 AND created_at >= $2 AND created_at < $3`
		if err := tx.QueryRow(ctx, `SELECT count(*)`+where, intercomID, since.UTC(), until.UTC()).Scan(&total); err != nil {
			return err
		}
		ids, err := scanIDs(tx.Query(ctx, `SELECT id`+where+` ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5`,
			intercomID, since.UTC(), until.UTC(), p.PerPage, p.Offset()))
		if err != nil {
			return err
		}
		out = make([]intercom.Call, 0, len(ids))
		for _, id := range ids {
			c, err := loadCall(ctx, tx, id, false)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, total, err
}
