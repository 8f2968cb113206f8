package postgres_test

import (
	"os"
	"testing"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/storetest"
)

// open opens a store on url as a node does, caching what it reads while it
// hears the other nodes' changes; closed when t ends.
func open(t *testing.T, url string) *postgres.DB {
	t.Helper()
	return openTracing(t, url, nil)
}

// openTracing is open, with onQuery (when not nil) seeing every statement
// the node sends.
func openTracing(t *testing.T, url string, onQuery func(sql string, args []any)) *postgres.DB {
	t.Helper()
	db, err := postgres.OpenTracing(t.Context(), url, onQuery)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	stop, err := db.ShareCaches(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return db
}

// The tests share one database, made on first use and dropped at the end;
// each store is in a fresh schema of it.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) intercom.Store {
		return open(t, pgtest.Schema(t))
	})
}

// PostgreSQL cannot store a NUL character, which SQLite can: a write of one
// is EINVALID (not an internal error), a look-up by one finds nothing.
func TestNULInText(t *testing.T) {
	db := open(t, pgtest.Schema(t))
	_, err := db.CreateUser(t.Context(), intercom.User{Login: "a\x00b", PasswordHash: "h"})
	if code := intercom.ErrorCode(err); code != intercom.EINVALID {
		t.Errorf("CreateUser with a NUL: %q (%v), want %q", code, err, intercom.EINVALID)
	}
	_, err = db.UserByLogin(t.Context(), "a\x00b")
	if code := intercom.ErrorCode(err); code != intercom.ENOTFOUND {
		t.Errorf("UserByLogin with a NUL: %q (%v), want %q", code, err, intercom.ENOTFOUND)
	}
}
