package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
)

func known() int { v := postgres.SchemaVersions(); return v[len(v)-1] }

// pgExec runs statements on the database at url, outside intercomd.
func pgExec(t *testing.T, url string, stmts ...string) {
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

// A node refuses a database migrated by a newer intercomd — one migration
// ahead of it (the node is one behind) or more — naming both versions;
// Plan says the same.
func TestOpenRefusesNewerSchema(t *testing.T) {
	for _, ahead := range []int{1, 2} {
		t.Run(fmt.Sprint(ahead), func(t *testing.T) {
			url := pgtest.Schema(t)
			open(t, url)
			pgExec(t, url, fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, now())`, known()+ahead))
			want := fmt.Sprintf("database schema is at %04d, this intercomd knows up to %04d: upgrade intercomd", known()+ahead, known())
			if db, err := postgres.Open(t.Context(), url); err == nil || !strings.Contains(err.Error(), want) {
				if db != nil {
					db.Close()
				}
				t.Fatalf("Open(newer) = %v, want %q", err, want)
			}
			var se *intercom.SchemaError
			if _, err := postgres.Plan(t.Context(), url); !errors.As(err, &se) || err.Error() != want {
				t.Errorf("Plan(newer) = %v, want %q", err, want)
			}
		})
	}
}

// Plan lists what Open would apply and changes nothing: every migration
// for an empty database, the last for one a migration behind, none after
// Open.
func TestPlan(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	plan, err := postgres.Plan(ctx, url)
	if err != nil || plan.At != 0 || plan.Known != known() || len(plan.Pending) != len(postgres.SchemaVersions()) || plan.Pending[0] != "0001_init.sql" {
		t.Fatalf("Plan(empty) = %+v, %v", plan, err)
	}
	if again, err := postgres.Plan(ctx, url); err != nil || len(again.Pending) != len(plan.Pending) {
		t.Fatalf("Plan changed the database: %+v, %v", again, err)
	}
	open(t, url)
	if plan, err := postgres.Plan(ctx, url); err != nil || plan.At != known() || len(plan.Pending) != 0 {
		t.Errorf("Plan(up to date) = %+v, %v", plan, err)
	}
	pgExec(t, url, `DROP INDEX calls_created`, `DROP INDEX call_sends_at`, `DROP INDEX access_log_at`, `DROP INDEX control_log_at`,
		`DELETE FROM schema_migrations WHERE version = 12`)
	plan, err = postgres.Plan(ctx, url)
	if err != nil || plan.At != known() || len(plan.Pending) != 1 || plan.Pending[0] != "0012_retention.sql" {
		t.Fatalf("Plan(one behind) = %+v, %v", plan, err)
	}
	open(t, url)
	if plan, err := postgres.Plan(ctx, url); err != nil || plan.At != known() || len(plan.Pending) != 0 {
		t.Errorf("Plan after Open migrated = %+v, %v", plan, err)
	}
}

// TestMigration0015SplitsControlKeys: as on SQLite, an intercom provisioned
// before 0015 keeps its secret and its control key.
func TestMigration0015SplitsControlKeys(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	db := open(t, url)
	if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: 7, Address: "Old", DoorOpenSeconds: 7, CreatedAt: time.Unix(0, 0),
		SecretHash: []byte("replaced below")}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	old := intercom.HashToken("an old panel's secret")
	pgExec(t, url, `ALTER TABLE intercoms DROP COLUMN control_key`,
		fmt.Sprintf(`UPDATE intercoms SET secret_hash = '\x%x' WHERE id = 7`, old),
		`DELETE FROM schema_migrations WHERE version = 15`)
	db = open(t, url)
	ic, err := db.IntercomBySecretHash(ctx, intercom.IntercomSecretHash("an old panel's secret"))
	if err != nil || ic.ID != 7 || string(ic.ControlKey) != "plain:"+string(old) {
		t.Fatalf("after 0015: %+v, %v", ic, err)
	}
}
