package pgtest_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"intercom/postgres/pgtest"
)

// recorder is a testing.TB whose Skip and Fatal are recorded and stop the
// helper by panicking with the recorder itself.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Cleanup(func())    {}
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...); panic(r) }
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...); panic(r) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}

func newDatabaseOn(t *testing.T) (r *recorder) {
	r = &recorder{TB: t}
	defer func() {
		if v := recover(); v != nil && v != r {
			panic(v)
		}
	}()
	pgtest.NewDatabase(r)
	return r
}

// Without a server the tests skip with one line naming where they looked;
// under CI=true they fail instead.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("INTERCOMD_TEST_POSTGRES", "postgres://postgres:hunter2@"+addr+"/test?sslmode=disable&connect_timeout=2")

	t.Setenv("CI", "")
	r := newDatabaseOn(t)
	if r.failed != "" || !strings.HasPrefix(r.skipped, "PostgreSQL not reachable at postgres://postgres:xxxxx@"+addr) ||
		!strings.HasSuffix(r.skipped, ": set INTERCOMD_TEST_POSTGRES") || strings.Contains(r.skipped, "\n") || strings.Contains(r.skipped, "hunter2") {
		t.Errorf("without CI: skipped %q, failed %q", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	r = newDatabaseOn(t)
	if r.skipped != "" || !strings.HasPrefix(r.failed, "PostgreSQL not reachable") {
		t.Errorf("under CI: skipped %q, failed %q", r.skipped, r.failed)
	}
}

// A test's database exists during the test and is gone after it.
func TestDatabaseIsDroppedAfterTheTest(t *testing.T) {
	var name string
	t.Run("uses", func(t *testing.T) {
		u := pgtest.NewDatabase(t)
		conn, err := pgx.Connect(t.Context(), pgtest.NewSchema(t, u))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(t.Context(), `CREATE TABLE x (id int)`); err != nil {
			t.Fatal(err)
		}
		p, _ := url.Parse(u)
		name = strings.TrimPrefix(p.Path, "/")
	})
	if name == "" {
		t.Skip("no database was made")
	}
	maint, _ := url.Parse(pgtest.ServerURL())
	maint.Path = "/postgres"
	conn, err := pgx.Connect(t.Context(), maint.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database %s after its test: %d, %v", name, n, err)
	}
}
