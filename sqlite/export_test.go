package sqlite

import "context"

// RefuseWrites makes the write connection read-only, as a database that
// can no longer be written is: every write fails from now on.
func (db *DB) RefuseWrites(ctx context.Context) error {
	_, err := db.writeConn.ExecContext(ctx, `PRAGMA query_only = 1`)
	return err
}
