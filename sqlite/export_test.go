package sqlite

import (
	"context"
	"strconv"
)

// RefuseWrites makes the write connection read-only, as a database that
// can no longer be written is: every write fails from now on.
func (db *DB) RefuseWrites(ctx context.Context) error {
	_, err := db.writeConn.ExecContext(ctx, `PRAGMA query_only = 1`)
	return err
}

// RecordQueries calls seen with every statement the store runs from now on,
// on the read pool or the writer, and its arguments, before it runs.
func (db *DB) RecordQueries(seen func(query string, args []any)) {
	for _, s := range []*stmts{db.readStmts, db.writeStmts} {
		s.mu.Lock()
		s.seen = seen
		s.mu.Unlock()
	}
}

// LimitPages caps the database at n pages (PRAGMA max_page_count) on the
// write connection: writes past it fail with SQLITE_FULL, as on a full disk.
func (db *DB) LimitPages(ctx context.Context, n int) error {
	_, err := db.writeConn.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.Itoa(n))
	return err
}

// Pages is the database's size in pages.
func (db *DB) Pages(ctx context.Context) (int, error) {
	var n int
	err := db.writeConn.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&n)
	return n, err
}
