package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
)

var c0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// member makes an account with a device's token, member of a new intercom
// under title, on s.
func member(t *testing.T, s intercom.Store, title string) (intercom.AccessToken, intercom.Intercom) {
	t.Helper()
	ctx := t.Context()
	u, err := s.CreateUser(ctx, intercom.User{Login: "u", Name: "u", PasswordHash: "h", CreatedAt: c0, UpdatedAt: c0})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := s.CreateIntercom(ctx, intercom.Intercom{Address: "A", Department: 1, SecretHash: []byte("s"), DoorOpenSeconds: 7, CreatedAt: c0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: title,
		Status: intercom.StatusConfirmed}, c0); err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "p", Hash: []byte("token"), UserID: u.ID,
		DeviceUUID: "phone", Client: "ios", CreatedAt: c0, ExpiresAt: c0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok, ic
}

// title reads the intercom's title as a GET does: token and view together.
func title(t *testing.T, db *postgres.DB, tok intercom.AccessToken, id int64) string {
	t.Helper()
	got, view, viewErr, err := db.AccessTokenWithIntercom(t.Context(), tok.Hash, id)
	if err != nil || viewErr != nil || got.ID != tok.ID {
		t.Fatalf("AccessTokenWithIntercom = token %d, %v, %v", got.ID, viewErr, err)
	}
	return view.Membership.Title
}

// TestCachedReads: a node answers a GET's token and view from its caches
// (the second read sends no statement); its own writes are seen by its very
// next read, another node's once it has heard of them (SyncChanges): a
// PATCH, a logout, a membership removed.
func TestCachedReads(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	b := open(t, url)
	var statements atomic.Int64
	a := openTracing(t, url, func(string, []any) { statements.Add(1) })

	tok, ic := member(t, b, "first")
	sync := func() {
		t.Helper()
		if err := a.SyncChanges(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sync()
	if got := title(t, a, tok, ic.ID); got != "first" {
		t.Fatalf("title %q, want first", got)
	}
	before := statements.Load()
	if got := title(t, a, tok, ic.ID); got != "first" {
		t.Fatalf("title again %q, want first", got)
	}
	if n := statements.Load() - before; n != 0 {
		t.Errorf("a second read sent %d statements, want none (cached)", n)
	}

	v := intercom.Viewer{UserID: tok.UserID, DeviceID: tok.DeviceID}
	patch := func(db *postgres.DB, title string) {
		t.Helper()
		if _, err := db.UpdateIntercom(ctx, v, ic.ID, intercom.IntercomUpdate{Title: &title}, c0); err != nil {
			t.Fatal(err)
		}
	}
	patch(b, "by b")
	sync()
	if got := title(t, a, tok, ic.ID); got != "by b" {
		t.Errorf("after another node's PATCH, heard: title %q, want %q", got, "by b")
	}
	patch(a, "by a")
	if got := title(t, a, tok, ic.ID); got != "by a" {
		t.Errorf("after the node's own PATCH: title %q, want %q", got, "by a")
	}

	if err := b.RevokeAccessToken(ctx, tok.ID, c0); err != nil {
		t.Fatal(err)
	}
	sync()
	if got, err := a.AccessTokenByHash(ctx, tok.Hash); err != nil || got.RevokedAt == nil {
		t.Errorf("after a logout on another node, heard: %+v, %v; want the token revoked", got, err)
	}

	if _, err := b.DeleteMembership(ctx, ic.ID, tok.UserID); err != nil {
		t.Fatal(err)
	}
	sync()
	if _, err := a.Intercom(ctx, v, ic.ID); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Errorf("after the membership was removed on another node, heard: %v, want ENOTFOUND", err)
	}
}

// TestCacheBounds: a change no node sent (here written past intercomd, as
// when a node stops between its commit and its NOTIFY) is served from the
// cache for at most postgres.CacheMaxAge; and a node that lost its change
// listener drops what it cached.
func TestCacheBounds(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	a := open(t, url)
	var mu sync.Mutex
	now := c0
	a.SetCacheClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	raw, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	tok, ic := member(t, a, "first")
	if got := title(t, a, tok, ic.ID); got != "first" {
		t.Fatalf("title %q, want first", got)
	}
	unsent := func(title string) {
		t.Helper()
		if _, err := raw.Exec(ctx, `UPDATE memberships SET title = $1 WHERE intercom_id = $2`, title, ic.ID); err != nil {
			t.Fatal(err)
		}
	}

	unsent("unsent 1")
	if got := title(t, a, tok, ic.ID); got != "first" {
		t.Fatalf("right after a change no node sent: title %q; want the cached %q (is anything cached?)", got, "first")
	}
	advance(postgres.CacheMaxAge - time.Millisecond)
	if got := title(t, a, tok, ic.ID); got != "first" {
		t.Fatalf("just under the bound: title %q, want the cached %q", got, "first")
	}
	advance(time.Millisecond)
	if got := title(t, a, tok, ic.ID); got != "unsent 1" {
		t.Fatalf("at the bound: title %q, want %q", got, "unsent 1")
	}

	unsent("unsent 2")
	if got := title(t, a, tok, ic.ID); got != "unsent 1" {
		t.Fatalf("cached again: title %q, want %q", got, "unsent 1")
	}
	// A logout nobody sent: the cached session still says live, a read under
	// intercom.FreshReads (a socket's grant) says revoked.
	if _, err := raw.Exec(ctx, `UPDATE access_tokens SET revoked_at = $1 WHERE id = $2`, c0, tok.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := a.AccessTokenByHash(ctx, tok.Hash); err != nil || got.RevokedAt != nil {
		t.Fatalf("cached session after an unsent logout = %+v, %v; want the cached live one", got, err)
	}
	if got, err := a.AccessTokenByHash(intercom.FreshReads(ctx), tok.Hash); err != nil || got.RevokedAt == nil {
		t.Errorf("FreshReads after an unsent logout = %+v, %v; want it revoked", got, err)
	}
	if _, err := raw.Exec(ctx, `UPDATE access_tokens SET revoked_at = NULL WHERE id = $1`, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
		a.ChangeListener()); err != nil {
		t.Fatal(err)
	}
	// Deaf, the node caches nothing; back, it has dropped everything: the
	// read is fresh either way, once the node has seen its listener go.
	deadline := time.Now().Add(20 * time.Second)
	for title(t, a, tok, ic.ID) != "unsent 2" {
		if time.Now().After(deadline) {
			t.Fatal("20 s after its change listener was cut, the node still serves what it cached")
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for !a.Hearing() {
		if waitCtx.Err() != nil {
			t.Fatal("the change listener did not come back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.SyncChanges(ctx); err != nil {
		t.Fatalf("SyncChanges once back: %v", err)
	}
}

// BenchmarkChangeSeenOnAnotherNode measures the bound on another node's
// cache: node A PATCHes a title; from the moment A answers, node B reads the
// intercom (token and view, as a GET does) until it shows the new title.
// Meanwhile 8 goroutines load both nodes: GETs of 32 other members on B
// (cached) and a PATCH of one of them on A between reads. Reports the time
// until B sees the write (p50, p99, max) and B's reads per PATCH.
func BenchmarkChangeSeenOnAnotherNode(b *testing.B) {
	ctx := b.Context()
	url := pgtest.Schema(b)
	nodes := make([]*postgres.DB, 2)
	for i := range nodes {
		db := openB(b, url)
		stop, err := db.ShareCaches(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(stop)
		nodes[i] = db
	}
	a, bn := nodes[0], nodes[1]
	type seat struct {
		tok intercom.AccessToken
		ic  int64
	}
	seats := make([]seat, 33)
	for i := range seats {
		u, err := a.CreateUser(ctx, intercom.User{Login: fmt.Sprint("u", i), Name: "u", PasswordHash: "h", CreatedAt: c0, UpdatedAt: c0})
		if err != nil {
			b.Fatal(err)
		}
		ic, err := a.CreateIntercom(ctx, intercom.Intercom{Address: "A", Department: 1, SecretHash: []byte(fmt.Sprint("s", i)),
			DoorOpenSeconds: 7, CreatedAt: c0})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "0",
			Status: intercom.StatusConfirmed}, c0); err != nil {
			b.Fatal(err)
		}
		tok, err := a.CreateAccessToken(ctx, intercom.AccessToken{PublicID: fmt.Sprint("p", i), Hash: []byte(fmt.Sprint("token", i)),
			UserID: u.ID, DeviceUUID: "phone", Client: "ios", CreatedAt: c0, ExpiresAt: c0.Add(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		seats[i] = seat{tok, ic.ID}
	}
	patch := func(s seat, title string) {
		v := intercom.Viewer{UserID: s.tok.UserID, DeviceID: s.tok.DeviceID}
		if _, err := a.UpdateIntercom(ctx, v, s.ic, intercom.IntercomUpdate{Title: &title}, c0); err != nil {
			b.Error(err)
		}
	}
	read := func(s seat) string {
		_, view, viewErr, err := bn.AccessTokenWithIntercom(ctx, s.tok.Hash, s.ic)
		if err != nil || viewErr != nil {
			b.Error(err, viewErr)
		}
		return view.Membership.Title
	}
	measured, others := seats[0], seats[1:]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s := others[(g*7+i)%len(others)]
				read(s)
				if i%16 == 0 {
					patch(s, fmt.Sprint(i))
				}
			}
		})
	}
	var took []time.Duration
	reads := 0
	b.ResetTimer()
	for i := range b.N {
		title := fmt.Sprint("measured ", i)
		patch(measured, title)
		answered := time.Now()
		for {
			reads++
			if read(measured) == title {
				break
			}
		}
		took = append(took, time.Since(answered))
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	slices.Sort(took)
	at := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(at(1), "max-ms")
	b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
}

// A write after Close returns (it sends nothing) rather than waiting for a
// sender that has stopped.
func TestWriteAfterClose(t *testing.T) {
	db, err := postgres.Open(t.Context(), pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	done := make(chan error, 1)
	go func() { done <- db.DeleteUser(context.Background(), 1) }()
	select {
	case <-done: // an error: the pool is closed
	case <-time.After(20 * time.Second):
		t.Fatal("a write after Close still waits after 20 s")
	}
}

// TestCacheAgeCountsFromTheRead: a cached entry's age counts from when its
// read was sent, not from when it came back, so a read that took most of
// the bound is served only for what is left of it: with the test's clock
// moved 9 s while the token and view are read, a change no node sent is
// seen 1 s later.
func TestCacheAgeCountsFromTheRead(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	var (
		mu   sync.Mutex
		now  = c0
		slow atomic.Bool
	)
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	a := openTracing(t, url, func(sql string, _ []any) {
		if strings.Contains(sql, "token_hash") && slow.CompareAndSwap(true, false) {
			advance(postgres.CacheMaxAge - time.Second)
		}
	})
	a.SetCacheClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	tok, ic := member(t, a, "first")
	raw, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)

	slow.Store(true)
	if got := title(t, a, tok, ic.ID); got != "first" || slow.Load() {
		t.Fatalf("title %q (the clock moved during the read: %v), want first", got, !slow.Load())
	}
	if _, err := raw.Exec(ctx, `UPDATE memberships SET title = 'unsent' WHERE intercom_id = $1`, ic.ID); err != nil {
		t.Fatal(err)
	}
	advance(time.Second - time.Millisecond)
	if got := title(t, a, tok, ic.ID); got != "first" {
		t.Fatalf("just under the bound from the read's start: title %q, want the cached %q (is anything cached?)", got, "first")
	}
	advance(time.Millisecond)
	if v, err := a.Intercom(ctx, intercom.Viewer{UserID: tok.UserID, DeviceID: tok.DeviceID}, ic.ID); err != nil ||
		v.Membership.Title != "unsent" {
		t.Fatalf("%v after the read began: the view's title %q (%v), want %q", postgres.CacheMaxAge, v.Membership.Title, err, "unsent")
	}
	if got := title(t, a, tok, ic.ID); got != "unsent" {
		t.Fatalf("%v after the read began: title %q, want %q", postgres.CacheMaxAge, got, "unsent")
	}
}
