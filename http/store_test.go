package http_test

import (
	"os"
	"path/filepath"
	"testing"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/sqlite"
)

// TestMain runs every test on SQLite, then again on PostgreSQL (unless
// INTERCOMD_TEST_DB picks one engine), and drops the database it made.
func TestMain(m *testing.M) { os.Exit(pgtest.MainBothEngines(m, "INTERCOMD_TEST_DB")) }

// testStore is the store a fixture's server runs on.
type testStore interface {
	intercom.Store
	Close() error
}

// newTestStore opens an empty store on the engine INTERCOMD_TEST_DB names:
// "sqlite" (the default: a file in t's temporary directory) or "postgres" (a
// fresh schema in this package's test database; see pgtest). It is closed
// when t ends.
func newTestStore(t testing.TB) testStore {
	t.Helper()
	var db testStore
	var err error
	switch engine := os.Getenv("INTERCOMD_TEST_DB"); engine {
	case "", "sqlite":
		db, err = sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	case "postgres":
		var pg *postgres.DB
		if pg, err = postgres.Open(t.Context(), pgtest.Schema(t)); err == nil {
			db = pg
			// As a node does: sessions and views cached.
			var stop func()
			if stop, err = pg.ShareCaches(t.Context(), nil); err == nil {
				t.Cleanup(stop)
			}
		}
	default:
		t.Fatalf("INTERCOMD_TEST_DB=%q: want sqlite or postgres", engine)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
