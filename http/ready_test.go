package http_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"intercom"
	intercomhttp "intercom/http"
	"intercom/node"
	"intercom/sqlite"
	"intercom/storetest"
)

// readyz asks GET /readyz.
func (f *fixture) readyz() *response {
	f.t.Helper()
	return f.do(request{method: "GET", path: "/readyz"})
}

// wantUnwritable checks a 503 that says the database cannot take writes.
func wantUnwritable(t *testing.T, what string, res *response) {
	t.Helper()
	if res.Code != 503 {
		t.Fatalf("%s: status %d, want 503; body %s", what, res.Code, res.Body)
	}
	if got, want := res.JSON(t)["message"], intercom.ErrUnwritable.Message; got != want {
		t.Errorf("%s: message %q, want %q", what, got, want)
	}
	if got := res.Header.Get("Retry-After"); got != "5" {
		t.Errorf("%s: Retry-After %q, want 5", what, got)
	}
}

// /readyz follows writes: a write the database refuses (SQLite's files
// stopped by the kernel: the process's file size limit at 0, so every write
// fails with EFBIG, as on a full disk or an immutable file) answers 503 with
// a message that says so, /readyz is 503 from that moment, stays 503 while
// its probes fail, and is 200 again once a probe commits: no sooner than
// ReadyProbeEvery after the last probe, by the server's clock. On SQLite
// whichever engine the other tests use; PostgreSQL's twin is
// postgres.TestReadyFollowsWritesOverHTTP. Not parallel: the limit is the
// whole process's.
func TestReadyFollowsWrites(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		c.Store = db
	})
	f.want(f.readyz(), 200)

	resume := storetest.StopFileWrites(t)
	wantUnwritable(t, "a write the database refused",
		f.admin("POST", "/api/admin/v1/users", `{"login":"refused","password":"password-of-refused"}`))
	wantUnwritable(t, "/readyz after a refused write", f.readyz())
	wantReadyGauge(t, f, 0)
	f.clock.Advance(intercomhttp.ReadyProbeEvery)
	wantUnwritable(t, "/readyz whose probe the database refused", f.readyz())

	resume()
	wantUnwritable(t, "/readyz before the next probe is due", f.readyz())
	f.clock.Advance(intercomhttp.ReadyProbeEvery)
	f.want(f.readyz(), 200)
	wantReadyGauge(t, f, 1)
	f.user("after")
}

// wantReadyGauge fails t unless /metrics shows intercomd_ready as want:
// what /readyz answers.
func wantReadyGauge(t *testing.T, f *fixture, want int) {
	t.Helper()
	res := f.do(request{method: "GET", path: "/metrics"})
	if line := fmt.Sprintf("\nintercomd_ready %d\n", want); res.Code != 200 || !strings.Contains(string(res.Body), line) {
		t.Errorf("/metrics: %d, want a line %q", res.Code, strings.TrimSpace(line))
	}
}

// pingCounter counts the probes a store is asked for.
type pingCounter struct {
	testStore
	pings atomic.Int32
}

func (s *pingCounter) Ping(ctx context.Context) error {
	s.pings.Add(1)
	return s.testStore.Ping(ctx)
}

// /readyz probes the database at most once per ReadyProbeEvery, by the
// server's clock, however many ask at once.
func TestReadyProbeRate(t *testing.T) {
	var store *pingCounter
	f := newFixtureWith(t, func(c *node.Config) {
		store = &pingCounter{testStore: c.Store.(testStore)}
		c.Store = store
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { f.want(f.readyz(), 200) })
	}
	wg.Wait()
	if n := store.pings.Load(); n != 1 {
		t.Errorf("8 concurrent /readyz made %d probes, want 1", n)
	}
	f.clock.Advance(intercomhttp.ReadyProbeEvery - time.Millisecond)
	f.want(f.readyz(), 200)
	if n := store.pings.Load(); n != 1 {
		t.Errorf("/readyz before ReadyProbeEvery passed: %d probes, want 1", n)
	}
	f.clock.Advance(time.Millisecond)
	f.want(f.readyz(), 200)
	if n := store.pings.Load(); n != 2 {
		t.Errorf("/readyz once ReadyProbeEvery passed: %d probes, want 2", n)
	}
}
