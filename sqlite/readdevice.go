package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"

	"intercom"
)

// ReadDevice reads one device from the database file at path without
// opening it as Open does: read-only, without taking its lock and without
// migrating, so that a tool (intercomd push-test) can read a database a
// node is serving. ENOTFOUND when there is no such device.
func ReadDevice(ctx context.Context, path string, id int64) (intercom.Device, error) {
	if path == "" || strings.Contains(path, "?") {
		return intercom.Device{}, fmt.Errorf("sqlite: bad database path %q", path)
	}
	if _, err := os.Stat(path); err != nil {
		return intercom.Device{}, fmt.Errorf("database %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return intercom.Device{}, fmt.Errorf("database %s: %w", path, err)
	}
	defer db.Close()
	var d intercom.Device
	var fcm, apn, voip, huawei sql.NullString
	var created, updated int64
	err = db.QueryRowContext(ctx, `SELECT id, user_id, uuid, client, fcm_token, apn_token, voip_token, huawei_token,
			created_at, updated_at FROM devices WHERE id = ?`, id).Scan(&d.ID, &d.UserID, &d.UUID, &d.Client,
		&fcm, &apn, &voip, &huawei, &created, &updated)
	if err != nil {
		if err = wrap(err); intercom.ErrorCode(err) == intercom.ENOTFOUND {
			return intercom.Device{}, err
		}
		return intercom.Device{}, fmt.Errorf("database %s is not an intercomd database, or cannot be read: %w", path, err)
	}
	d.FCMToken, d.APNToken, d.VoIPToken, d.HuaweiToken = nullString(fcm), nullString(apn), nullString(voip), nullString(huawei)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, nil
}
