package sqlite_test

import (
	"path/filepath"
	"testing"

	"intercom"
	"intercom/sqlite"
	"intercom/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) intercom.Store {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(t.Context(), intercom.User{Login: "kept", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if _, err := db.UserByLogin(t.Context(), "kept"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestOpenRejectsDSNInjection(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), "x.db?_pragma=foreign_keys(0)"); err == nil {
		t.Fatal("a path with a query string was accepted")
	}
}
