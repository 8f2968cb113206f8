package sqlite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"intercom"
	"intercom/sqlite"
)

// A second Open of a database already open (here in the same process, as a
// second process would) is refused with a message naming the file; once the
// first is closed, it opens.
func TestOpenLocksTheDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	first, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := sqlite.Open(t.Context(), path)
	if err == nil {
		second.Close()
		t.Fatal("a second Open of the same database succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "in use by another intercomd") {
		t.Errorf("second Open: %q; want the file named and why", msg)
	}
	// The first keeps working.
	if _, err := first.CreateUser(t.Context(), intercom.User{Login: "still", PasswordHash: "h"}); err != nil {
		t.Fatalf("the first after a refused second: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

func TestOpenErrorsSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "x.db")
	_, err := sqlite.Open(t.Context(), missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "directory "+filepath.Dir(missing)+" does not exist") {
		t.Errorf("missing directory: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir.db"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(t.Context(), filepath.Join(dir, "adir.db"))
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
}

// A database file intercomd cannot write is refused at start-up, with the
// file named and the cause.
func TestOpenRefusesReadOnlyDatabase(t *testing.T) {
	t.Run("read-only file", func(t *testing.T) {
		path := newDatabase(t)
		if err := os.Chmod(path, 0o444); err != nil {
			t.Fatal(err)
		}
		actAsNobody(t, path)
		_, err := sqlite.Open(t.Context(), path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("0444 database: %v", err)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		path := newDatabase(t)
		os.Remove(path + ".lock")
		if err := os.Chmod(filepath.Dir(path), 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(filepath.Dir(path), 0o755) })
		actAsNobody(t, path)
		_, err := sqlite.Open(t.Context(), path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("database in a read-only directory: %v", err)
		}
	})
	// SQLite itself opens a database read-only whose header says it may not
	// be written (a write version above 2): whoever runs the test, root
	// included, cannot write it.
	t.Run("read-only to SQLite", func(t *testing.T) {
		path := newDatabase(t)
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{3}, 18); err != nil { // the header's file format write version
			t.Fatal(err)
		}
		f.Close()
		db, err := sqlite.Open(t.Context(), path)
		if err == nil {
			db.Close()
			t.Fatal("a database SQLite cannot write was opened")
		}
		if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "cannot be written") {
			t.Errorf("read-only database: %q; want the file named and why", msg)
		}
	})
}

// Ping, behind /readyz, fails once the database no longer takes writes.
func TestPingReportsWritability(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ping.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of a writable database: %v", err)
	}
	if err := db.RefuseWrites(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(t.Context()); intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
		t.Fatalf("Ping of a database that takes no writes: %v, want %s", err, intercom.EUNAVAILABLE)
	}
}

// newDatabase makes a database file and closes it.
func newDatabase(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ro.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
