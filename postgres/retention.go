package postgres

import (
	"context"
	"time"

	"intercom"
)

// purges are the statements of PurgeHistory, one per history: each deletes
// at most $2 records made before $1, oldest first. Rows another node is
// deleting are skipped (SKIP LOCKED), so nodes purging at once take
// different rows and never wait for or fail on one another. Deleting a call
// deletes its devices, accounts and sends (ON DELETE CASCADE).
var purges = map[intercom.History]string{
	intercom.HistoryCalls: `DELETE FROM calls WHERE id IN (SELECT id FROM calls
		WHERE created_at < $1 AND status NOT IN ('ring', 'answered') ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	intercom.HistorySends: `DELETE FROM call_sends WHERE (call_id, device_id, channel, type) IN (
		SELECT s.call_id, s.device_id, s.channel, s.type FROM call_sends s
		WHERE s.at < $1 AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = s.call_id AND c.status IN ('ring', 'answered'))
		ORDER BY s.at LIMIT $2 FOR UPDATE OF s SKIP LOCKED)`,
	intercom.HistoryAccessLog: `DELETE FROM access_log WHERE id IN (SELECT id FROM access_log
		WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	intercom.HistoryControlLog: `DELETE FROM control_log WHERE id IN (SELECT id FROM control_log
		WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	intercom.HistoryAuditLog: `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log
		WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
}

// PurgeHistory deletes at most limit records of h made before before, in
// one statement.
func (db *DB) PurgeHistory(ctx context.Context, h intercom.History, before time.Time, limit int) (int, error) {
	stmt, ok := purges[h]
	if !ok {
		return 0, intercom.ErrUnknownHistory
	}
	tag, err := db.execFor(ctx, change{}, stmt, before, limit)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
