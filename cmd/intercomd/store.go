package main

import (
	"context"
	"net/url"
	"strings"

	"intercom"
	"intercom/postgres"
	"intercom/sqlite"
)

// store is an engine's intercom.Store with its Close.
type store interface {
	intercom.Store
	Close() error
}

// isPostgres reports whether --db names a PostgreSQL database rather than a
// SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the engine --db names: a postgres:// or postgresql:// URL
// is PostgreSQL, anything else a SQLite file.
func openStore(ctx context.Context, db string) (store, error) {
	if isPostgres(db) {
		return postgres.Open(ctx, db)
	}
	return sqlite.Open(ctx, db)
}

// dbForLog is --db as it may be logged: a URL without its password.
func dbForLog(db string) string {
	if !isPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}
