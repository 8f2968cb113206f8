package sqlite

import (
	"path/filepath"
	"testing"

	"intercom"
)

// The write connection is durable: WAL with synchronous=FULL, foreign keys on.
func TestWriteConnectionPragmas(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	var sync, fk int
	for query, dst := range map[string]any{"PRAGMA journal_mode": &mode, "PRAGMA synchronous": &sync, "PRAGMA foreign_keys": &fk} {
		if err := db.writeConn.QueryRowContext(t.Context(), query).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	if mode != "wal" || sync != 2 || fk != 1 {
		t.Fatalf("journal_mode=%s synchronous=%d foreign_keys=%d, want wal, 2 (FULL), 1", mode, sync, fk)
	}
}

// The background checkpointer copies committed pages out of the WAL.
func TestCheckpoint(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 20; i++ {
		if _, err := db.CreateUser(t.Context(), intercom.User{Login: "u" + itoa(i), PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	copied, err := db.checkpoint(t.Context())
	if err != nil || copied == 0 {
		t.Fatalf("checkpoint copied %d frames, %v", copied, err)
	}
	var n int
	if err := db.writeConn.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&n); err != nil || n != 8192 {
		t.Errorf("wal_autocheckpoint %d, %v", n, err)
	}
}
