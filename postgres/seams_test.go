package postgres_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
	"intercom/bustest"
	"intercom/clocktest"
	"intercom/postgres"
	"intercom/postgres/pgtest"
)

func newBus(t testing.TB, db *postgres.DB, h intercom.Sockets) *postgres.Bus {
	t.Helper()
	b, err := postgres.NewBus(t.Context(), db, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// openTB opens a store on url, closed when tb ends.
func openTB(tb testing.TB, url string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(tb.Context(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestBus runs the buses' conformance suite on LISTEN/NOTIFY, each test on a
// schema of its own.
func TestBus(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Cluster {
		url := pgtest.Schema(t)
		return bustest.Cluster{
			Node: func(t testing.TB, local intercom.Sockets) bustest.Bus { return newBus(t, openTB(t, url), local) },
			// Every node hears every grant: any socket id will do.
			SocketID: func(_ bustest.Bus, n int) string { return "5." + strconv.Itoa(n) },
		}
	})
}

func TestSchedulerFiresOnceOnOneNode(t *testing.T) {
	url := pgtest.Schema(t)
	c := clocktest.New(time.Date(2022, 4, 20, 12, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	fired := map[string]int{}
	var schedulers []*postgres.Scheduler
	for i := range 3 {
		s := postgres.NewScheduler(open(t, url), c, time.Second, nil)
		node := string(rune('a' + i))
		s.Handle(func(_ context.Context, d intercom.Deadline) {
			mu.Lock()
			fired[node+d.Kind]++
			fired[d.Kind]++
			mu.Unlock()
		})
		t.Cleanup(s.Close)
		schedulers = append(schedulers, s)
	}
	ctx := t.Context()
	if err := schedulers[0].Schedule(ctx, intercom.Deadline{Kind: intercom.DeadlineRing, ID: 1, At: c.Now().Add(30 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	schedulers[1].Schedule(ctx, intercom.Deadline{Kind: intercom.DeadlineOffline, ID: 1, At: c.Now().Add(10 * time.Second)})
	schedulers[1].Schedule(ctx, intercom.Deadline{Kind: intercom.DeadlineOffline, ID: 2, At: c.Now().Add(10 * time.Second)})
	schedulers[2].Cancel(ctx, intercom.DeadlineOffline, 2)
	schedulers[0].Close() // the node that set the ring deadline dies
	c.Advance(29 * time.Second)
	mu.Lock()
	if fired[intercom.DeadlineRing] != 0 || fired[intercom.DeadlineOffline] != 1 {
		t.Fatalf("after 29 s: %v, want one offline check", fired)
	}
	mu.Unlock()
	c.Advance(time.Minute)
	mu.Lock()
	defer mu.Unlock()
	if fired[intercom.DeadlineRing] != 1 || fired["a"+intercom.DeadlineRing] != 0 || fired[intercom.DeadlineOffline] != 1 {
		t.Fatalf("after 89 s: %v, want the ring deadline fired once, by a live node", fired)
	}
}

func TestLimiterCountsAcrossNodes(t *testing.T) {
	url := pgtest.Schema(t)
	now := time.Date(2022, 4, 20, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var limiters []*postgres.Limiter
	for range 3 {
		limiters = append(limiters, postgres.NewLimiter(open(t, url), "login", 10, 15*time.Minute, clock))
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for i := range 10 {
		wg.Go(func() {
			_, _, ok, err := limiters[i%3].Attempt(ctx, "login:alice", "addr:1")
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 10 {
		t.Fatalf("%d of 10 attempts allowed", allowed)
	}
	for i, l := range limiters {
		_, wait, ok, err := l.Attempt(ctx, "login:alice")
		if err != nil || ok || wait != 15*time.Minute {
			t.Errorf("node %d: 11th attempt = %v, %v, %v; want refused for 15m", i, wait, ok, err)
		}
	}
	at, _, ok, _ := limiters[0].Attempt(ctx, "login:bob")
	if !ok {
		t.Fatal("another login is not limited")
	}
	if err := limiters[1].Refund(ctx, at, "login:bob"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(15 * time.Minute)
	if _, _, ok, _ := limiters[2].Attempt(ctx, "login:alice"); !ok {
		t.Fatal("still refused once the window passed")
	}
}

// A node whose beats stopped for longer than the liveness timeout (its
// database unreachable, the process paused) was taken for dead: the other
// nodes published nothing to it, and after a minute they deleted its row and,
// with it, its presence. Its next beat brings it back: registered again, its
// sockets told to reconnect, its subscriptions recorded again.
func TestBusNodeTakenForDeadComesBack(t *testing.T) {
	url := pgtest.Schema(t)
	db := open(t, url)
	hb := bustest.NewHub()
	newBus(t, open(t, url), bustest.NewHub())
	busB := newBus(t, db, hb)
	ctx := t.Context()
	<-busB.Subscription("private-token.kept", true)

	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	// What the other nodes' beats do to a node silent for a minute.
	if _, err := admin.Exec(ctx, `DELETE FROM bus_nodes WHERE node = $1`, busB.Node()); err != nil {
		t.Fatal(err)
	}
	busB.Beat(ctx)
	reconnects := hb.Reconnects()
	if reconnects != 1 {
		t.Fatalf("%d reconnects of the node's sockets, want 1: they may have missed events", reconnects)
	}
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM bus_nodes WHERE node = $1`, busB.Node()).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the node is registered %d times (%v), want once", n, err)
	}
	<-busB.Subscription("private-token.new", true)
	present := func(ch string) bool {
		var n int
		admin.QueryRow(ctx, `SELECT count(*) FROM bus_presence WHERE node = $1 AND channel = $2`, busB.Node(), ch).Scan(&n)
		return n == 1
	}
	if !present("private-token.new") {
		t.Fatal("a subscription after the node came back is not recorded")
	}
	bustest.WaitFor(t, "the subscription the node kept is recorded again", func() bool { return present("private-token.kept") })

	// Silent past the liveness timeout but not yet deleted: taken for dead too.
	if _, err := admin.Exec(ctx, `UPDATE bus_nodes SET seen_at = now() - interval '25 seconds' WHERE node = $1`, busB.Node()); err != nil {
		t.Fatal(err)
	}
	busB.Beat(ctx)
	reconnects = hb.Reconnects()
	if reconnects != 2 {
		t.Fatalf("%d reconnects after a beat 25 s late, want 2", reconnects)
	}
	busB.Beat(ctx) // on time: nothing missed
	reconnects = hb.Reconnects()
	if reconnects != 2 {
		t.Fatalf("%d reconnects after a beat on time, want 2", reconnects)
	}
}

// What a node keeps of the others goes with them, whether they left (bye) or
// died: nodes restarting over weeks do not grow the replica.
func TestBusForgetsNodesGone(t *testing.T) {
	url := pgtest.Schema(t)
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	newBus(t, open(t, url), bustest.NewHub()) // creates the tables
	// A node that died without a word, with a subscription.
	if _, err := admin.Exec(ctx, `INSERT INTO bus_nodes (node, seen_at) VALUES ('ghost', now());
		INSERT INTO bus_presence (node, channel, seq) VALUES ('ghost', 'private-token.g', 1)`); err != nil {
		t.Fatal(err)
	}
	busA := newBus(t, open(t, url), bustest.NewHub())
	busB := newBus(t, open(t, url), bustest.NewHub())
	for i := range 3 {
		<-busB.Subscription("private-token.b"+strconv.Itoa(i), true)
	}
	bustest.WaitFor(t, "A sees B's subscriptions", func() bool { return busA.Subscribed("private-token.b2") })
	if !busA.Subscribed("private-token.g") {
		t.Fatal("A did not load the dead node's subscription")
	}
	busB.Close()
	bustest.WaitFor(t, "A forgets the node that left", func() bool { return !busA.Subscribed("private-token.b0") })
	if _, err := admin.Exec(ctx, `DELETE FROM bus_nodes WHERE node = 'ghost'`); err != nil { // what a beat does past a minute
		t.Fatal(err)
	}
	busA.Beat(ctx)
	busA.Beat(ctx)
	if channels, seqs, nodes := busA.Replica(); channels != 0 || seqs != 0 || nodes != 2 {
		t.Fatalf("A keeps %d channels, %d sequence numbers and %d nodes; want 0, 0 and the two alive (itself included)", channels, seqs, nodes)
	}
}

// TestSchedulerWritesARingWithItsDeadline: the Scheduler writes a ringing
// call and its ring deadline in one statement, so one commit; a call that
// rings nobody has no deadline, a number held by a live call is drawn
// again with the deadline on the call written, and a call refused leaves no
// deadline. The deadline fires as one set by Schedule.
func TestSchedulerWritesARingWithItsDeadline(t *testing.T) {
	url := pgtest.Schema(t)
	ctx := t.Context()
	var mu sync.Mutex
	var sent []string
	db, err := postgres.OpenTracing(ctx, url, func(sql string, _ []any) {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, sql)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := clocktest.New(t0)
	s := postgres.NewScheduler(db, c, time.Second, nil)
	var fired []intercom.Deadline
	s.Handle(func(_ context.Context, d intercom.Deadline) {
		mu.Lock()
		defer mu.Unlock()
		fired = append(fired, d)
	})
	t.Cleanup(s.Close)
	if s.Store() != intercom.Store(db) {
		t.Fatal("the Scheduler's Store is not the database it was made on")
	}
	_, toks, held := world(t, db, 2)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadlines := func() map[int64]time.Time {
		t.Helper()
		rows, err := conn.Query(ctx, `SELECT id, due_at FROM deadlines WHERE kind = $1`, intercom.DeadlineRing)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]time.Time{}
		for rows.Next() {
			var id int64
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				t.Fatal(err)
			}
			out[id] = at.UTC()
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	devices := held.Devices
	until := t0.Add(30 * time.Second)

	mu.Lock()
	sent = nil
	mu.Unlock()
	ring := intercom.NewCall(1, nil, devices, intercom.CallLines{}, t0)
	ring.Number = held.Number // held by the live call world made: another is drawn
	got, err := s.CreateCall(ctx, ring, until)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	statements := len(sent)
	mu.Unlock()
	// One statement when the number is free, one more for the number held.
	if statements != 2 {
		t.Errorf("writing a ring whose number was held sent %d statements, want 2", statements)
	}
	if got.Number == held.Number || got.ID == 0 {
		t.Fatalf("CreateCall = call %d number %s beside live call %d number %s", got.ID, got.Number, held.ID, held.Number)
	}
	stored, err := db.Call(ctx, got.ID)
	if err != nil || len(stored.Devices) != 2 || stored.Devices[1].Tokens[0] != toks[1].PublicID {
		t.Fatalf("Call(%d) = %+v, %v; want its two devices", got.ID, stored, err)
	}
	if want := map[int64]time.Time{got.ID: until}; !maps.Equal(deadlines(), want) {
		t.Fatalf("ring deadlines %v, want %v: the call written's alone", deadlines(), want)
	}

	missed := intercom.NewCall(1, nil, []intercom.CallDevice{{DeviceID: toks[0].DeviceID, UserID: held.Devices[0].UserID,
		UUID: "phone-a", Client: "web", Reason: intercom.SkipDisabled}}, intercom.CallLines{}, t0)
	if missed.Status == intercom.CallRing {
		t.Fatal("a call whose one device is skipped rings")
	}
	if m, err := s.CreateCall(ctx, missed, until); err != nil || m.ID == 0 {
		t.Fatalf("CreateCall(missed) = %+v, %v", m, err)
	}
	refused := intercom.NewCall(1, nil, []intercom.CallDevice{{DeviceID: toks[0].DeviceID, UserID: held.Devices[0].UserID,
		UUID: "phone-a", Client: "web", Title: "a\x00b", Channels: []string{intercom.ChannelWS}}}, intercom.CallLines{}, t0)
	if _, err := s.CreateCall(ctx, refused, until); intercom.ErrorCode(err) != intercom.EINVALID {
		t.Fatalf("CreateCall with a NUL in a title: %v, want %s", err, intercom.EINVALID)
	}
	var calls int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM calls`).Scan(&calls); err != nil || calls != 3 {
		t.Fatalf("%d calls, %v; want the one world made, the ring and the missed one", calls, err)
	}
	if want := map[int64]time.Time{got.ID: until}; !maps.Equal(deadlines(), want) {
		t.Fatalf("ring deadlines %v, want %v: none for a call that rings nobody or was refused", deadlines(), want)
	}

	c.Advance(31 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	if want := []intercom.Deadline{{Kind: intercom.DeadlineRing, ID: got.ID, At: until}}; !slices.EqualFunc(fired, want,
		func(a, b intercom.Deadline) bool { return a.Kind == b.Kind && a.ID == b.ID && a.At.Equal(b.At) }) {
		t.Fatalf("fired %v, want %v", fired, want)
	}
}
