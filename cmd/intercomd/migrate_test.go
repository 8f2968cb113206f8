package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/sqlite"
)

func runOut(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := run(t.Context(), args, env, &out, io.Discard)
	return out.String(), err
}

// migrate --dry-run lists the migrations a database lacks and changes
// nothing (not even creating a new file); migrate applies them; then both
// say the database is up to date.
func TestMigrateSQLite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "new.db")
	out, err := runOut(t, nil, "migrate", "--dry-run", "--db", db)
	if err != nil || !strings.Contains(out, "at schema 0000") || !strings.Contains(out, "would apply:\n  0001_init.sql\n") ||
		!strings.Contains(out, "0012_retention.sql") {
		t.Fatalf("migrate --dry-run on a new file: %q, %v", out, err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("--dry-run created the database")
	}
	out, err = runOut(t, map[string]string{"INTERCOMD_DB": db}, "migrate")
	if err != nil || !strings.Contains(out, "applied:\n  0001_init.sql\n") {
		t.Fatalf("migrate: %q, %v", out, err)
	}
	for _, args := range [][]string{{"migrate", "--dry-run", "--db", db}, {"migrate", "--db", db}} {
		if out, err := runOut(t, nil, args...); err != nil || out != fmt.Sprintf("migrate: %s is up to date (schema %04d)\n", db, latestSQLite()) {
			t.Errorf("%v after migrating: %q, %v", args, out, err)
		}
	}
	// A dry run reads a database a node is serving.
	startRun(t, "--db", db)
	if out, err := runOut(t, nil, "migrate", "--dry-run", "--db", db); err != nil || !strings.Contains(out, "up to date") {
		t.Errorf("migrate --dry-run beside a node: %q, %v", out, err)
	}
}

// A database newer than this intercomd stops serve, migrate and migrate
// --dry-run with the same message naming both versions.
func TestMigrateRefusesNewerDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "newer.db")
	s, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, latestSQLite()+1); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	want := fmt.Sprintf("database schema is at %04d, this intercomd knows up to %04d: upgrade intercomd", latestSQLite()+1, latestSQLite())
	for _, args := range [][]string{{"migrate", "--dry-run", "--db", db}, {"migrate", "--db", db},
		{"serve", "--addr", "127.0.0.1:0", "--db", db}} {
		if _, err := runOut(t, nil, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v on a newer database: %v, want %q", args[0:2], err, want)
		}
	}
}

// On PostgreSQL too: --dry-run lists, migrate applies, a newer database is
// refused.
func TestMigratePostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	out, err := runOut(t, nil, "migrate", "--dry-run", "--db", url)
	if err != nil || !strings.Contains(out, "would apply:\n  0001_init.sql\n") {
		t.Fatalf("migrate --dry-run: %q, %v", out, err)
	}
	if out, err := runOut(t, nil, "migrate", "--db", url); err != nil || !strings.Contains(out, "applied:") {
		t.Fatalf("migrate: %q, %v", out, err)
	}
	if out, err := runOut(t, nil, "migrate", "--dry-run", "--db", url); err != nil || !strings.Contains(out, fmt.Sprintf("is up to date (schema %04d)", latestPostgres())) {
		t.Fatalf("migrate --dry-run after migrating: %q, %v", out, err)
	}
	newer := latestPostgres() + 2
	pgExecURL(t, url, fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, now())`, newer))
	want := fmt.Sprintf("database schema is at %04d, this intercomd knows up to %04d: upgrade intercomd", newer, latestPostgres())
	if _, err := runOut(t, nil, "migrate", "--dry-run", "--db", url); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("migrate --dry-run on a newer database: %v", err)
	}
}

// pgExecURL runs statements on the database at url, outside intercomd.
func pgExecURL(t *testing.T, url string, stmts ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// latestSQLite and latestPostgres are the newest migrations each engine
// knows.
func latestSQLite() int   { v := sqlite.SchemaVersions(); return v[len(v)-1] }
func latestPostgres() int { v := postgres.SchemaVersions(); return v[len(v)-1] }
