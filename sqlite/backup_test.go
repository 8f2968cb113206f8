package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"intercom"
	"intercom/sqlite"
	"intercom/storetest"
)

// integrityOK runs PRAGMA integrity_check on the file at path.
func integrityOK(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check of %s = %q, %v", path, res, err)
	}
}

// A backup taken while writers keep writing holds every write acknowledged
// before it began; restored (copied to a new place), it opens with Open,
// passes an integrity check and serves them.
func TestBackupUnderWriteLoad(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var mu sync.Mutex
	grew := sync.NewCond(&mu)
	var acked []string // logins whose CreateUser returned
	failed := false
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				login := fmt.Sprintf("w%d-%d", w, i)
				_, err := db.CreateUser(context.Background(), intercom.User{Login: login, PasswordHash: "h"})
				mu.Lock()
				if err != nil {
					t.Errorf("CreateUser: %v", err)
					failed = true
				} else {
					acked = append(acked, login)
				}
				grew.Broadcast()
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	waitFor := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		for len(acked) < n && !failed {
			grew.Wait()
		}
	}
	waitFor(200)
	var backups []string
	var before [][]string
	for i := range 3 {
		mu.Lock()
		before = append(before, append([]string(nil), acked...))
		mu.Unlock()
		to := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		info, err := sqlite.Backup(ctx, path, to)
		if err != nil {
			t.Fatalf("Backup under load: %v", err)
		}
		if info.Path != to || info.Bytes == 0 || info.Schema != sqlite.SchemaVersions()[len(sqlite.SchemaVersions())-1] {
			t.Errorf("Backup = %+v", info)
		}
		backups = append(backups, to)
		waitFor(len(before[i]) + 100)
	}
	close(stop)
	wg.Wait()

	for i, b := range backups {
		integrityOK(t, b)
		// Restore: the backup copied where a database is served from.
		restored := filepath.Join(t.TempDir(), "restored.db")
		body, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(restored, body, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := sqlite.Open(ctx, restored)
		if err != nil {
			t.Fatalf("Open(restored backup %d): %v", i, err)
		}
		missing := 0
		for _, login := range before[i] {
			if _, err := r.UserByLogin(ctx, login); err != nil {
				missing++
			}
		}
		h, err := r.Holdings(ctx, 1<<20)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if missing > 0 {
			t.Errorf("backup %d lacks %d of the %d writes acknowledged before it began", i, missing, len(before[i]))
		}
		if len(h.Logins) < len(before[i]) {
			t.Errorf("backup %d holds %d accounts, want at least %d", i, len(h.Logins), len(before[i]))
		}
		integrityOK(t, restored)
	}
}

// A backup never overwrites, needs a file name (not a directory) in a
// directory that exists, and refuses a source that is no database.
func TestBackupRefuses(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	existing := filepath.Join(dir, "existing.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "plain")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, from, to string
		want           []string
	}{
		{"existing file", path, existing, []string{existing, "already exists", "never overwrites"}},
		{"directory", path, dir, []string{dir, "is a directory", "names the new backup file"}},
		{"no such directory", path, filepath.Join(dir, "no", "such", "b.db"), []string{"no such file or directory"}},
		{"under a file", path, filepath.Join(notDir, "b.db"), []string{"not a directory"}},
		{"empty target", path, "", []string{"bad backup path"}},
		{"no source", filepath.Join(dir, "none.db"), filepath.Join(dir, "b.db"), []string{"does not exist"}},
		{"source not intercomd", existing, filepath.Join(dir, "b.db"), []string{"not an intercomd database"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlite.Backup(ctx, tt.from, tt.to)
			if err == nil {
				t.Fatal("backed up")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			left(t, dir, "live.db", "live.db-wal", "live.db-shm", "live.db.lock", "existing.db", "plain")
		})
	}
	if body, _ := os.ReadFile(existing); string(body) != "keep me" {
		t.Errorf("the existing file was changed: %q", body)
	}
}

// left fails t unless dir holds exactly the names want (those that exist).
func left(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		found := false
		for _, w := range want {
			found = found || e.Name() == w
		}
		if !found {
			t.Errorf("%s left behind in %s", e.Name(), dir)
		}
	}
}

// A backup onto a full disk (the kernel refusing every file write) fails
// with a clear error and leaves no partial file behind; the served database
// is unharmed. Not parallel: the limit is the whole process's.
func TestBackupFullDisk(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CreateUser(ctx, intercom.User{Login: "kept", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	to := filepath.Join(out, "b.db")
	resume := storetest.StopFileWrites(t)
	_, err = sqlite.Backup(ctx, path, to)
	resume()
	if err == nil {
		t.Fatal("backed up onto a full disk")
	}
	if !strings.Contains(err.Error(), "writing the copy") || !strings.Contains(err.Error(), "nothing was left behind") {
		t.Errorf("error %q does not say what failed", err)
	}
	left(t, out)
	if _, err := db.UserByLogin(ctx, "kept"); err != nil {
		t.Errorf("the database after the failed backup: %v", err)
	}
	if _, err := sqlite.Backup(ctx, path, to); err != nil {
		t.Errorf("Backup once the disk has room: %v", err)
	}
}
