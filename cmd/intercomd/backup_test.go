package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"intercom/sqlite"
)

// `intercomd backup` copies a database another process is serving and
// writing: every intercom the server answered 201 for before the backup
// began is in the copy, which, restored, opens and passes its check.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	n, _ := startChildNode(t, db, "served")
	admin := map[string]string{"Authorization": "Bearer " + clusterAdminToken}

	var mu sync.Mutex
	grew := sync.NewCond(&mu)
	var acked []float64 // ids of the intercoms created
	failed := false
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, v := n.do(t, "POST", "/api/admin/v1/intercoms", admin, fmt.Sprintf(`{"address":"Backup %d-%d"}`, w, i))
				mu.Lock()
				if code == 201 {
					acked = append(acked, v["id"].(float64))
				} else {
					t.Errorf("POST intercoms: %d %v", code, v)
					failed = true
				}
				grew.Broadcast()
				mu.Unlock()
				if code != 201 {
					return
				}
			}
		})
	}
	// Fifty writes in, back up while they go on.
	mu.Lock()
	for len(acked) < 50 && !failed {
		grew.Wait()
	}
	before := append([]float64(nil), acked...)
	mu.Unlock()
	to := filepath.Join(dir, "backup.db")
	var out strings.Builder
	err := run(t.Context(), []string{"backup", "--db", db, "--to", to}, nil, &out, io.Discard)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup while serving: %v", err)
	}
	if !strings.Contains(out.String(), "backup: wrote "+to) || !strings.Contains(out.String(), "integrity ok") {
		t.Errorf("backup printed %q", out.String())
	}

	restored := filepath.Join(t.TempDir(), "restored.db")
	body, err := os.ReadFile(to)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, body, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(t.Context(), restored)
	if err != nil {
		t.Fatalf("the restored backup does not open: %v", err)
	}
	defer s.Close()
	for _, id := range before {
		if _, err := s.IntercomByID(t.Context(), int64(id)); err != nil {
			t.Errorf("intercom %v, acknowledged before the backup, is not in it: %v", id, err)
		}
	}
	t.Logf("%d intercoms acknowledged before the backup began, %d by its end", len(before), len(acked))
}

// Each bad backup is refused with a message saying what is wrong, and
// leaves nothing behind.
func TestBackupRefuses(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	s, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	existing := filepath.Join(dir, "existing.db")
	if err := os.WriteFile(existing, []byte("an older backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"no --to", []string{"backup", "--db", db}, nil, []string{"--to is required"}},
		{"existing file", []string{"backup", "--db", db, "--to", existing}, nil, []string{"already exists", "never overwrites"}},
		{"directory", []string{"backup", "--db", db, "--to", dir}, nil, []string{"is a directory"}},
		{"no such directory", []string{"backup", "--db", db, "--to", filepath.Join(dir, "gone", "b.db")}, nil,
			[]string{filepath.Join(dir, "gone"), "no such file or directory"}},
		{"postgres", []string{"backup", "--to", filepath.Join(dir, "b.db")}, map[string]string{"INTERCOMD_DB": "postgres://u:secret@db.example/intercom"},
			[]string{"is a PostgreSQL database", "pg_dump", "point-in-time recovery"}},
		{"stray argument", []string{"backup", "--db", db, "--to", filepath.Join(dir, "b.db"), "now"}, nil, []string{"unexpected arguments"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, tt.env, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "b.db")); err == nil {
				t.Errorf("a backup file was left")
			}
		})
	}
	if body, _ := os.ReadFile(existing); string(body) != "an older backup" {
		t.Errorf("the existing file was overwritten: %q", body)
	}
}
