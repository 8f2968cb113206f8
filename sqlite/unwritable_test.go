package sqlite_test

import (
	"path/filepath"
	"testing"

	"intercom/sqlite"
	"intercom/storetest"
)

// A database whose files the kernel stops writing (the process's file size
// limit at 0: every write of the database and WAL files fails with EFBIG, as
// on a full disk or an unwritable file, even for root, on any filesystem)
// refuses writes as ErrUnwritable, and takes them again once writes resume.
// Not parallel: the limit is the whole process's.
func TestUnwritable(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var resume func()
	storetest.Unwritable(t, db,
		func(t *testing.T) { resume = storetest.StopFileWrites(t) },
		func(*testing.T) { resume() })
}
