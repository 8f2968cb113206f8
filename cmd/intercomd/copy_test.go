package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/sqlite"
)

// `intercomd copy` through run(): it copies, prints the summary, and then
// refuses the now full target.
func TestRunCopy(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "intercomd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
	u, err := s.CreateUser(ctx, intercom.User{Login: "ann", Name: "Ann", PasswordHash: "h", CreatedAt: at, UpdatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIntercom(ctx, intercom.Intercom{ID: 180, Address: "House", SecretHash: intercom.HashToken("s"),
		DoorOpenSeconds: 5, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	url := pgtest.NewDatabase(t)
	// A node that started on the target and stored no data leaves it empty.
	first, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.KeepSecret(ctx, "secret:sip-secret", []byte("plain:the target's own")); err != nil {
		t.Fatal(err)
	}
	first.Close()

	var out bytes.Buffer
	if err := run(ctx, []string{"copy", "--from", path, "--to", url}, nil, &out, io.Discard); err != nil {
		t.Fatalf("copy: %v\n%s", err, out.String())
	}
	for _, want := range []string{"users", "intercoms", "181", "counts and checksums match"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Every data table, however many there are now: one line each, then the sum.
	tables := strings.Count(out.String(), "\n") - 2 // the header and the sum
	if want := fmt.Sprintf("copied 2 rows in %d tables from %s", tables, path); !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	pg, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if got, err := pg.UserByLogin(ctx, "ann"); err != nil || got.ID != u.ID || !got.CreatedAt.Equal(at) {
		t.Errorf("copied user: %+v, %v", got, err)
	}

	err = run(ctx, []string{"copy", "--from", path, "--to", url}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second copy: %v", err)
	}
}

// Wrong invocations fail with a message saying what is wrong, before any
// database is touched.
func TestRunCopyRefuses(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"copy"}, "--from and --to are both required"},
		{[]string{"copy", "--from", missing}, "--from and --to are both required"},
		{[]string{"copy", "--from", missing, "--to", "other.db"}, "--to must be a postgres:// or postgresql:// URL"},
		{[]string{"copy", "--from", "postgres://a/b", "--to", "postgres://c/d"}, "copying out of PostgreSQL is not supported"},
		{[]string{"copy", "--from", missing, "--to", "postgres://nobody@127.0.0.1:1/x"}, missing + " does not exist"},
	} {
		err := run(t.Context(), tt.args, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}
