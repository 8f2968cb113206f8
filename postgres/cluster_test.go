package postgres_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
)

var t0 = time.Date(2022, 4, 20, 12, 34, 32, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// world is one user with n devices, each with a live token, member of
// intercom 1 (created unless it exists); and a ringing call that rang every
// device.
func world(t *testing.T, s intercom.Store, n int) (intercom.User, []intercom.AccessToken, intercom.Call) {
	t.Helper()
	ctx := t.Context()
	u, err := s.CreateUser(ctx, intercom.User{Login: "alice", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateIntercom(ctx, intercom.Intercom{ID: 1, Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 7, CreatedAt: t0})
	if err != nil && intercom.ErrorCode(err) != intercom.ECONFLICT { // a second world shares the intercom
		t.Fatal(err)
	}
	if _, err := s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: 1, Title: "Home", Status: intercom.StatusConfirmed}, t0); err != nil {
		t.Fatal(err)
	}
	var toks []intercom.AccessToken
	var devices []intercom.CallDevice
	for i := range n {
		uuid := "phone-" + string(rune('a'+i))
		tok, err := s.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pub-" + uuid, Hash: []byte("hash-" + uuid), UserID: u.ID,
			DeviceUUID: uuid, Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
		devices = append(devices, intercom.CallDevice{DeviceID: tok.DeviceID, UserID: u.ID, UUID: uuid, Client: "web",
			Channels: []string{intercom.ChannelWS}, Tokens: []string{tok.PublicID}})
	}
	c, err := s.CreateCall(ctx, intercom.NewCall(1, nil, devices, intercom.CallLines{}, t0))
	if err != nil {
		t.Fatal(err)
	}
	return u, toks, c
}

// nodes opens n stores on one schema, as n intercomd processes would.
func nodes(t *testing.T, n int) []*postgres.DB {
	t.Helper()
	url := pgtest.Schema(t)
	var out []*postgres.DB
	for range n {
		out = append(out, open(t, url))
	}
	return out
}

// Every rung device answers at once, through two nodes: exactly one wins.
func TestConcurrentAnswersOneWins(t *testing.T) {
	ns := nodes(t, 2)
	_, toks, c := world(t, ns[0], 8)
	errs := make([]error, len(toks))
	var wg sync.WaitGroup
	for i, tok := range toks {
		wg.Go(func() {
			_, errs[i] = ns[i%2].UpdateCall(t.Context(), c.ID, func(c *intercom.Call) error {
				return c.Answer(tok.DeviceID, t0.Add(time.Second))
			})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch intercom.ErrorCode(err) {
		case "":
			if winner >= 0 {
				t.Fatalf("devices %d and %d both answered", winner, i)
			}
			winner = i
		case intercom.ENOTFOUND:
		default:
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody answered")
	}
	got, err := ns[1].Call(t.Context(), c.ID)
	if err != nil || got.Status != intercom.CallAnswered || *got.AnsweredBy != toks[winner].DeviceID {
		t.Fatalf("stored call %+v, %v; want answered by device %d", got, err, toks[winner].DeviceID)
	}
}

// Every rung device declines at once: each decline is kept, and exactly one
// of them makes the call missed.
func TestConcurrentDeclinesMissOnce(t *testing.T) {
	ns := nodes(t, 2)
	_, toks, c := world(t, ns[0], 8)
	missed := make(chan int64, len(toks))
	var wg sync.WaitGroup
	for i, tok := range toks {
		wg.Go(func() {
			got, err := ns[i%2].UpdateCall(t.Context(), c.ID, func(c *intercom.Call) error {
				return c.Decline(tok.DeviceID, t0.Add(time.Second))
			})
			if err != nil {
				t.Errorf("decline %d: %v", i, err)
			} else if got.Status == intercom.CallMissed {
				missed <- tok.DeviceID
			}
		})
	}
	wg.Wait()
	close(missed)
	if n := len(missed); n != 1 {
		t.Errorf("%d declines saw the call become missed, want exactly 1", n)
	}
	got, err := ns[1].Call(t.Context(), c.ID)
	if err != nil || got.Status != intercom.CallMissed {
		t.Fatalf("stored call %+v, %v", got, err)
	}
	for _, d := range got.Devices {
		if d.DeclinedAt == nil {
			t.Errorf("device %d's decline was lost", d.DeviceID)
		}
	}
}

// fn may run more than once, but a failing fn saves nothing and a panicking
// one is an error that leaves the call as it was.
func TestUpdateCallFailures(t *testing.T) {
	s := nodes(t, 1)[0]
	_, toks, c := world(t, s, 1)
	_, err := s.UpdateCall(t.Context(), c.ID, func(c *intercom.Call) error {
		c.Status = intercom.CallMissed
		panic("boom")
	})
	if err == nil {
		t.Fatal("a panicking update reported success")
	}
	if got, _ := s.Call(t.Context(), c.ID); got.Status != intercom.CallRing {
		t.Fatalf("after the panic: %s", got.Status)
	}
	if _, err := s.UpdateCall(t.Context(), c.ID, func(c *intercom.Call) error { return c.Answer(toks[0].DeviceID, t0) }); err != nil {
		t.Fatalf("after the panic the store does not work: %v", err)
	}
}

// Several nodes starting at once on a new database migrate it once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := pgtest.Schema(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			db, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			db.Close()
		})
	}
	wg.Wait()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, versions int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != len(postgres.SchemaVersions()) || rows != versions {
		t.Fatalf("schema_migrations: %d rows for %d versions, want each of the %d migrations once", rows, versions, len(postgres.SchemaVersions()))
	}
	// Opening again applies nothing and keeps the data.
	db := open(t, url)
	if _, err := db.CreateUser(t.Context(), intercom.User{Login: "kept", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, url).UserByLogin(t.Context(), "kept"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

// A deleted row's id is never handed out again, and ids chosen by the caller
// (cameras, intercoms) move the sequence past them.
func TestIDsAreNeverReused(t *testing.T) {
	s := nodes(t, 1)[0]
	ctx := t.Context()
	u, toks, c := world(t, s, 1)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	u2, toks2, c2 := world(t, s, 1)
	_ = c
	if u2.ID <= u.ID || toks2[0].ID <= toks[0].ID || toks2[0].DeviceID <= toks[0].DeviceID || c2.ID <= c.ID {
		t.Errorf("ids after a deletion: user %d→%d, token %d→%d, device %d→%d, call %d→%d", u.ID, u2.ID,
			toks[0].ID, toks2[0].ID, toks[0].DeviceID, toks2[0].DeviceID, c.ID, c2.ID)
	}
	ic, err := s.CreateIntercom(ctx, intercom.Intercom{ID: 500, Address: "a", SecretHash: []byte("s500"), DoorOpenSeconds: 7, CreatedAt: t0})
	if err != nil || ic.ID != 500 {
		t.Fatalf("intercom 500: %+v, %v", ic, err)
	}
	auto, err := s.CreateIntercom(ctx, intercom.Intercom{Address: "a", SecretHash: []byte("auto"), DoorOpenSeconds: 7, CreatedAt: t0})
	if err != nil || auto.ID <= 500 {
		t.Fatalf("generated intercom id after 500: %d, %v", auto.ID, err)
	}
	// An explicit id below the sequence is the caller's to take if free.
	if ic, err := s.CreateIntercom(ctx, intercom.Intercom{ID: 7, Address: "a", SecretHash: []byte("s7"), DoorOpenSeconds: 7, CreatedAt: t0}); err != nil || ic.ID != 7 {
		t.Fatalf("intercom 7: %+v, %v", ic, err)
	}
	cam, err := s.CreateCamera(ctx, intercom.Camera{ID: 900, Status: "active", Type: "t", CreatedAt: t0, PrettyName: "p", UserStatus: "active", Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	cam2, err := s.CreateCamera(ctx, intercom.Camera{Status: "active", Type: "t", CreatedAt: t0, PrettyName: "p", UserStatus: "active", Name: "n"})
	if err != nil || cam2.ID <= cam.ID {
		t.Fatalf("generated camera id after 900: %d, %v", cam2.ID, err)
	}
}

// Explicit and generated ids created at once never collide.
func TestConcurrentExplicitAndGeneratedIDs(t *testing.T) {
	s := nodes(t, 1)[0]
	const n = 20
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.CreateIntercom(t.Context(), intercom.Intercom{ID: int64(10 + 10*i), Address: "x",
				SecretHash: []byte{'e', byte(i)}, DoorOpenSeconds: 7, CreatedAt: t0})
			errs <- err
		})
		wg.Go(func() {
			_, err := s.CreateIntercom(t.Context(), intercom.Intercom{Address: "y", SecretHash: []byte{'g', byte(i)},
				DoorOpenSeconds: 7, CreatedAt: t0})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		// A generated id may take an explicit one first: then the explicit
		// insert is the one told ECONFLICT. Generated inserts never fail.
		if err != nil && intercom.ErrorCode(err) != intercom.ECONFLICT {
			t.Errorf("CreateIntercom: %v", err)
		}
	}
}

// A ring on one node weighs every write committed on another, at once,
// though each node caches rosters (rosters.go).
func TestRingCandidatesFollowOtherNodes(t *testing.T) {
	ns := nodes(t, 2)
	a, b := ns[0], ns[1]
	ctx := t.Context()
	u, toks, _ := world(t, a, 2)
	count := func() int {
		t.Helper()
		cands, err := a.RingCandidates(ctx, 1, nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		return len(cands)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d candidates, want 2", n)
	}
	if err := b.RevokeAccessToken(ctx, toks[0].ID, t0); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("after a logout on the other node: %d candidates, want 1", n)
	}
	if _, err := b.UpdateIntercom(ctx, intercom.Viewer{UserID: u.ID, DeviceID: toks[1].DeviceID}, 1,
		intercom.IntercomUpdate{IsEnabled: ptr(false)}, t0); err != nil {
		t.Fatal(err)
	}
	if cands, _ := a.RingCandidates(ctx, 1, nil, t0); len(cands) != 1 || cands[0].Settings.IsEnabled {
		t.Fatalf("after disabling on the other node: %+v", cands)
	}
	if _, err := b.DeleteMembership(ctx, 1, u.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("after unlinking on the other node: %d candidates, want 0", n)
	}
}

// proxy forwards TCP connections to PostgreSQL until it is stopped, which
// also cuts the connections it carries: a database that went away.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, addr, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// When the database cannot be reached the store says EUNAVAILABLE; when it
// can again, the store works again without being reopened.
func TestUnavailableAndBack(t *testing.T) {
	url := pgtest.Schema(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	target := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	p := startProxy(t, "127.0.0.1:0", target)
	addr := p.ln.Addr().String()
	proxied := strings.Replace(url, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), addr, 1)
	if proxied == url {
		t.Skipf("cannot route %s through a proxy", pgtest.ServerURL())
	}
	db := open(t, proxied)
	ctx := t.Context()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	p.stop()
	if code := intercom.ErrorCode(db.Ping(ctx)); code != intercom.EUNAVAILABLE {
		t.Errorf("Ping with the database gone: %q", code)
	}
	_, err = db.UserByLogin(ctx, "x")
	if code := intercom.ErrorCode(err); code != intercom.EUNAVAILABLE {
		t.Errorf("UserByLogin with the database gone: %q (%v)", code, err)
	}
	_, err = db.CreateUser(ctx, intercom.User{Login: "x", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	if code := intercom.ErrorCode(err); code != intercom.EUNAVAILABLE {
		t.Errorf("CreateUser with the database gone: %q (%v)", code, err)
	}
	startProxy(t, addr, target)
	if _, err := db.CreateUser(ctx, intercom.User{Login: "x", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatalf("CreateUser with the database back: %v", err)
	}
}

// Open says why when the database cannot be reached.
func TestOpenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = postgres.Open(ctx, "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=2")
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open of a closed port: %v", err)
	}
}

// A database that answers but cannot be written is refused at start.
func TestOpenRefusesReadOnly(t *testing.T) {
	url := pgtest.Schema(t)
	open(t, url)
	_, err := postgres.Open(t.Context(), url+"&default_transaction_read_only=on")
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("Open of a read-only database: %v", err)
	}
}

// An account deleted while a call rings its devices leaves the call: none of
// its devices answers it; a finished call keeps its record.
func TestDeletedAccountLeavesRingingCalls(t *testing.T) {
	s := nodes(t, 1)[0]
	ctx := t.Context()
	u, toks, ringing := world(t, s, 1)
	done, err := s.CreateCall(ctx, intercom.NewCall(1, nil, ringing.Devices, intercom.CallLines{}, t0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateCall(ctx, done.ID, func(c *intercom.Call) error { return c.VisitorLeft(t0) }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateCall(ctx, ringing.ID, func(c *intercom.Call) error { return c.Answer(toks[0].DeviceID, t0) })
	if intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Errorf("the deleted account's device answered: %v", err)
	}
	if got, err := s.Call(ctx, done.ID); err != nil || len(got.Devices) != 1 {
		t.Errorf("the finished call lost its record: %+v, %v", got, err)
	}
	if empty, err := s.CreateCall(ctx, intercom.NewCall(1, nil, nil, intercom.CallLines{}, t0)); err != nil || empty.ID <= done.ID {
		t.Errorf("a call that concerns nobody: %+v, %v", empty, err)
	}
}
