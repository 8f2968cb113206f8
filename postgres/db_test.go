package postgres_test

import (
	"testing"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/storetest"
)

// open opens a store on url, closed when t ends.
func open(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestConformance runs storetest in one database for the package, each
// subtest in a fresh schema of it.
func TestConformance(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	storetest.Run(t, func(t *testing.T) intercom.Store {
		return open(t, pgtest.NewSchema(t, dbURL))
	})
}
