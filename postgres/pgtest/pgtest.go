// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// database, or a fresh schema in one, dropped when the test ends.
//
// The server is the one at $INTERCOMD_TEST_POSTGRES (a URL), by default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. When it cannot be
// reached the test is skipped with one line saying so, except under CI=true,
// where it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server tests use when INTERCOMD_TEST_POSTGRES is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// ServerURL is the URL of the server tests use.
func ServerURL() string {
	if u := os.Getenv("INTERCOMD_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultURL
}

// withDatabase returns u with its database replaced by name.
func withDatabase(u, name string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	p.Path = "/" + name
	return p.String(), nil
}

// withSearchPath returns u with connections' search_path set to schema.
func withSearchPath(u, schema string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	q := p.Query()
	q.Set("search_path", schema)
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// admin connects to the server's maintenance database, skipping (or, under
// CI, failing) t when the server cannot be reached.
func admin(t testing.TB) *pgx.Conn {
	t.Helper()
	if _, err := withDatabase(ServerURL(), "postgres"); err != nil {
		t.Fatalf("INTERCOMD_TEST_POSTGRES: %v", err) // a mistake, not a server away
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := connectMaint(ctx)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return conn
}

// connectMaint connects to the test server's maintenance database.
func connectMaint(ctx context.Context) (*pgx.Conn, error) {
	maint, err := withDatabase(ServerURL(), "postgres")
	if err != nil {
		return nil, fmt.Errorf("INTERCOMD_TEST_POSTGRES: %w", err)
	}
	conn, err := pgx.Connect(ctx, maint)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL not reachable at %s (%v): set INTERCOMD_TEST_POSTGRES", redact(ServerURL()), err)
	}
	return conn, nil
}

// redact hides a password in u.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "an unparsable URL"
	}
	return p.Redacted()
}

// uniqueName is a name no other test run picks: prefix, then random.
func uniqueName(prefix string) string {
	return prefix + "_" + strings.ToLower(rand.Text()[:16])
}

// create makes a fresh database and returns its name and URL.
func create(t testing.TB) (string, string) {
	t.Helper()
	conn := admin(t)
	defer conn.Close(context.Background())
	name := uniqueName("intercomd_test")
	if _, err := conn.Exec(context.Background(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("CREATE DATABASE %s: %v", name, err)
	}
	u, err := withDatabase(ServerURL(), name)
	if err != nil {
		t.Fatal(err)
	}
	return name, u
}

// drop removes a database, closing whatever still connects to it.
func drop(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := connectMaint(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	return err
}

// NewDatabase creates a fresh, empty database and returns its URL. It is
// dropped when t's test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	name, u := create(t)
	t.Cleanup(func() {
		if err := drop(name); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	return u
}

// NewSchema creates a fresh, empty schema in the database at dbURL and
// returns a URL whose connections use it (search_path). It is dropped when
// t's test ends. Creating a schema is much faster than a database, and a
// fresh schema has fresh identity sequences: ids start over per schema, never
// within one.
func NewSchema(t testing.TB, dbURL string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting to the test database: %v", err)
	}
	defer conn.Close(ctx)
	name := uniqueName("s")
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("CREATE SCHEMA %s: %v", name, err)
	}
	u, err := withSearchPath(dbURL, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return u
}

// shared is the database of a test package: see Main and Schema.
var shared struct {
	mu   sync.Mutex
	name string
	url  string
}

// Schema is NewSchema in the test package's own database, created on first
// use and dropped by Main: a package whose tests call Schema runs them from
// TestMain with os.Exit(pgtest.Main(m)).
func Schema(t testing.TB) string {
	t.Helper()
	return NewSchema(t, sharedDatabase(t))
}

func sharedDatabase(t testing.TB) string {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock() // also when create skips t
	if shared.url == "" {
		shared.name, shared.url = create(t)
	}
	return shared.url
}

// Main runs the tests of a package and then drops the database Schema
// created, if any; it returns m.Run's exit code.
func Main(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.name != "" {
		if err := drop(shared.name); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: dropping test database %s: %v\n", shared.name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Reachable reports whether the test server answers, and why not.
func Reachable() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := connectMaint(ctx)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// MainBothEngines runs a package's tests on SQLite, then, unless the
// variable engineVar already names an engine, once more with it set to
// "postgres": every test runs on both engines in one `go test`. Without a
// reachable server the second run is skipped with one line (under CI=true it
// fails). Then it drops the database Schema created, as Main does.
func MainBothEngines(m *testing.M, engineVar string) int {
	if os.Getenv(engineVar) != "" {
		return Main(m)
	}
	code := m.Run()
	if code != 0 {
		return code
	}
	if err := Reachable(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: the tests ran on SQLite only:", err)
		if os.Getenv("CI") == "true" {
			return 1
		}
		return 0
	}
	os.Setenv(engineVar, "postgres")
	defer os.Unsetenv(engineVar)
	fmt.Fprintln(os.Stderr, "pgtest: the same tests again, on PostgreSQL")
	return Main(m)
}

// Proxy forwards TCP connections to the test server until it is stopped,
// which also cuts the connections it carries: the database going away, as a
// network or a restart would take it. Start brings it back on the same
// address.
type Proxy struct {
	addr, target string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

// NewProxy starts a proxy to the server of dbURL on a free loopback port and
// returns it with dbURL rewritten to go through it. It stops when t ends.
func NewProxy(t testing.TB, dbURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{addr: "127.0.0.1:0", target: u.Host}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	p.addr = p.ln.Addr().String()
	u.Host = p.addr
	t.Cleanup(p.Stop)
	return p, u.String()
}

// Start listens again (on the same address after a Stop).
func (p *Proxy) Start() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return nil
}

// Stop refuses new connections and cuts those under way.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// NewReadOnlyDatabase is NewDatabase for a test that makes the server refuse
// writes: it returns the database's URL and a function that turns the
// database's default_transaction_read_only on or off, as a standby or an
// operator's ALTER DATABASE does. The setting reaches sessions that start
// after the change: the test must have its pool connect anew.
func NewReadOnlyDatabase(t testing.TB) (string, func(readOnly bool)) {
	t.Helper()
	u := NewDatabase(t)
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(p.Path, "/")
	set := func(readOnly bool) {
		t.Helper()
		conn := admin(t)
		defer conn.Close(context.Background())
		stmt := `ALTER DATABASE ` + name + ` RESET default_transaction_read_only`
		if readOnly {
			stmt = `ALTER DATABASE ` + name + ` SET default_transaction_read_only = on`
		}
		if _, err := conn.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return u, set
}
