package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"intercom"
	"intercom/sqlite"
)

// rawExec runs statements on the database file at path, outside intercomd.
func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func known() int { v := sqlite.SchemaVersions(); return v[len(v)-1] }

// A node refuses a database migrated by a newer intercomd — one migration
// ahead of it (the node is one behind) or more — naming both versions, and
// leaves it as it was; Plan says the same without opening it.
func TestOpenRefusesNewerSchema(t *testing.T) {
	for _, ahead := range []int{1, 2} {
		t.Run(fmt.Sprint(ahead), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "newer.db")
			db, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			rawExec(t, path, fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 0)`, known()+ahead))
			want := fmt.Sprintf("database schema is at %04d, this intercomd knows up to %04d: upgrade intercomd", known()+ahead, known())
			_, err = sqlite.Open(t.Context(), path)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open(newer) = %v, want %q", err, want)
			}
			var se *intercom.SchemaError
			if _, err := sqlite.Plan(t.Context(), path); !errors.As(err, &se) || err.Error() != want {
				t.Errorf("Plan(newer) = %v, want %q", err, want)
			}
		})
	}
}

// Plan lists what Open would apply, changing nothing: everything for a
// new file (which it does not create), the last migration for a database
// one behind, nothing for one up to date.
func TestPlan(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	plan, err := sqlite.Plan(ctx, path)
	if err != nil || plan.At != 0 || plan.Known != known() || len(plan.Pending) != len(sqlite.SchemaVersions()) ||
		plan.Pending[0] != "0001_init.sql" || !slices.IsSorted(plan.Pending) {
		t.Fatalf("Plan(new file) = %+v, %v", plan, err)
	}
	if _, err := sqlite.Plan(ctx, dir); err == nil {
		t.Errorf("Plan(a directory) succeeded")
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if plan, err := sqlite.Plan(ctx, path); err != nil || plan.At != known() || len(plan.Pending) != 0 {
		t.Errorf("Plan(up to date, served) = %+v, %v", plan, err)
	}
	db.Close()
	// One migration missing (0012 undone): it is applied, whichever are newer.
	rawExec(t, path, `DROP INDEX calls_created`, `DROP INDEX call_sends_at`, `DROP INDEX access_log_at`, `DROP INDEX control_log_at`,
		`DELETE FROM schema_migrations WHERE version = 12`)
	plan, err = sqlite.Plan(ctx, path)
	if err != nil || plan.At != known() || len(plan.Pending) != 1 || plan.Pending[0] != "0012_retention.sql" {
		t.Fatalf("Plan(one behind) = %+v, %v", plan, err)
	}
	if again, _ := sqlite.Plan(ctx, path); len(again.Pending) != 1 {
		t.Errorf("Plan changed the database: %+v", again)
	}
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(one behind): %v", err)
	}
	db.Close()
	if plan, err := sqlite.Plan(ctx, path); err != nil || plan.At != known() || len(plan.Pending) != 0 {
		t.Errorf("Plan after Open migrated = %+v, %v", plan, err)
	}
}

// TestMigration0015SplitsControlKeys: an intercom provisioned before 0015
// (its secret's SHA-256 stored, which signed its commands) keeps its
// secret and its control key: it is found by the new hash, and its control
// key is the old hash, stored unsealed.
func TestMigration0015SplitsControlKeys(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: 7, Address: "Old", DoorOpenSeconds: 7, CreatedAt: time.Unix(0, 0),
		SecretHash: []byte("replaced below")}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	old := intercom.HashToken("an old panel's secret")
	rawExec(t, path, `ALTER TABLE intercoms DROP COLUMN control_key`,
		fmt.Sprintf(`UPDATE intercoms SET secret_hash = x'%x' WHERE id = 7`, old),
		`DELETE FROM schema_migrations WHERE version = 15`)
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ic, err := db.IntercomBySecretHash(ctx, intercom.IntercomSecretHash("an old panel's secret"))
	if err != nil || ic.ID != 7 || string(ic.ControlKey) != "plain:"+string(old) {
		t.Fatalf("after 0015: %+v, %v", ic, err)
	}
}
