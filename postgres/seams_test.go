package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
	"intercom/clocktest"
	"intercom/postgres"
	"intercom/postgres/pgtest"
)

// localHub records what a node's bus hands to its sockets.
type localHub struct {
	mu         sync.Mutex
	published  []string // channel|event|data|except
	granted    []string // socket|channel|token|user
	closed     []string
	all        []string // everything above, in the order it came
	reconnects int
	got        chan struct{}
}

func newLocalHub() *localHub { return &localHub{got: make(chan struct{}, 100)} }

func (h *localHub) record(list *[]string, s string) {
	h.mu.Lock()
	*list = append(*list, s)
	h.all = append(h.all, s)
	h.mu.Unlock()
	h.got <- struct{}{}
}

func (h *localHub) Publish(channel, event string, data []byte, except string) int {
	h.record(&h.published, channel+"|"+event+"|"+string(data)+"|"+except)
	return 1
}
func (h *localHub) Authorized(socket, channel, token string, user int64, expires time.Time) {
	h.record(&h.granted, socket+"|"+channel+"|"+token)
}
func (h *localHub) CloseToken(token string) { h.record(&h.closed, "token:"+token) }
func (h *localHub) CloseUser(user int64)    { h.record(&h.closed, "user") }
func (h *localHub) Reconnect() {
	h.mu.Lock()
	h.reconnects++
	h.mu.Unlock()
}

func (h *localHub) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-h.got:
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing reached the other node: %s", what)
	}
}

func (h *localHub) list(l *[]string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), *l...)
}

func newBus(t *testing.T, db *postgres.DB, h *localHub) *postgres.Bus {
	t.Helper()
	b, err := postgres.NewBus(t.Context(), db, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// waitFor polls cond; the deadline only bounds a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBusCrossesNodes(t *testing.T) {
	url := pgtest.Schema(t)
	a, b := open(t, url), open(t, url)
	ha, hb := newLocalHub(), newLocalHub()
	busA, busB := newBus(t, a, ha), newBus(t, b, hb)

	const ch = "private-user.7"
	if busA.Subscribed(ch) {
		t.Fatal("Subscribed before anyone subscribed")
	}
	busB.Subscription(ch, true) // a socket on B subscribes
	waitFor(t, "A sees B's subscription", func() bool { return busA.Subscribed(ch) })

	busA.Publish(ch, "ev", []byte(`{"x":1}`), "1.2")
	hb.wait(t, "publish")
	if got := hb.list(&hb.published); len(got) != 1 || got[0] != ch+`|ev|{"x":1}|1.2` {
		t.Fatalf("B's sockets got %q", got)
	}

	big := `{"data":"` + strings.Repeat("x", 20_000) + `"}` // over NOTIFY's limit: through bus_messages
	busA.Publish(ch, "big", []byte(big), "")
	hb.wait(t, "large publish")
	if got := hb.list(&hb.published); len(got) != 2 || got[1] != ch+"|big|"+big+"|" {
		t.Fatalf("the large event arrived as %d events, last %.60q", len(got), got[len(got)-1])
	}

	busA.Authorized("5.6", "private-token.abc", "abc", 7, time.Now().Add(time.Hour))
	hb.wait(t, "grant")
	busA.CloseToken("abc")
	hb.wait(t, "close")
	if g, c := hb.list(&hb.granted), hb.list(&hb.closed); len(g) != 1 || g[0] != "5.6|private-token.abc|abc" || len(c) != 1 || c[0] != "token:abc" {
		t.Fatalf("grants %q, closes %q", g, c)
	}

	busB.Subscription(ch, false)
	waitFor(t, "A sees B's unsubscription", func() bool { return !busA.Subscribed(ch) })
	busA.Publish(ch, "nobody", []byte(`{}`), "")
	if got := hb.list(&hb.published); len(got) != 2 {
		t.Fatalf("an event went to a node without subscribers: %q", got)
	}
}

// A session ended on one node gets its logout event on every node before
// its sockets close there: the close does not overtake the events queued
// before it.
func TestBusCloseFollowsEarlierEvents(t *testing.T) {
	url := pgtest.Schema(t)
	a, b := open(t, url), open(t, url)
	ha, hb := newLocalHub(), newLocalHub()
	busA, busB := newBus(t, a, ha), newBus(t, b, hb)
	const n = 20
	var want []string
	for i := range n {
		tok := fmt.Sprint("tok", i)
		busB.Subscription("private-token."+tok, true)
		want = append(want, "private-token."+tok+`|App\Events\TokenPush|{}|`, "token:"+tok)
	}
	waitFor(t, "A sees B's subscriptions", func() bool { return busA.Subscribed(fmt.Sprint("private-token.tok", n-1)) })
	for i := range n {
		tok := fmt.Sprint("tok", i)
		busA.Publish("private-token."+tok, `App\Events\TokenPush`, []byte(`{}`), "")
		busA.CloseToken(tok)
	}
	for range 2 * n {
		hb.wait(t, "logout and close")
	}
	hb.mu.Lock()
	got := append([]string(nil), hb.all...)
	hb.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("B got, in order:\n%q\nwant:\n%q", got, want)
	}
}

func TestBusNewNodeLoadsPresence(t *testing.T) {
	url := pgtest.Schema(t)
	a := open(t, url)
	busA := newBus(t, a, newLocalHub())
	busA.Subscription("private-token.x", true)
	b := open(t, url)
	waitFor(t, "the subscription is recorded", func() bool {
		busB := newBus(t, b, newLocalHub())
		return busB.Subscribed("private-token.x")
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

func TestBusNodeLeavingDropsItsPresence(t *testing.T) {
	url := pgtest.Schema(t)
	busA := newBus(t, open(t, url), newLocalHub())
	busB := newBus(t, open(t, url), newLocalHub())
	<-busB.Subscription("private-token.y", true)
	waitFor(t, "A sees B's subscription", func() bool { return busA.Subscribed("private-token.y") })
	busB.Close()
	// At once, not after the liveness timeout (20 s) this wait could not outlast.
	waitFor(t, "A forgets the node that left", func() bool { return !busA.Subscribed("private-token.y") })
}

// A storm of subscriptions (sockets reconnecting after a node restart) is
// written in batches and none is dropped.
func TestBusPresenceStorm(t *testing.T) {
	url := pgtest.Schema(t)
	busA := newBus(t, open(t, url), newLocalHub())
	busB := newBus(t, open(t, url), newLocalHub())
	const n = 10_000
	channel := func(i int) string { return "private-token.storm" + strconv.Itoa(i) }
	for _, on := range []bool{true, false} {
		for i := range n {
			busB.Subscription(channel(i), on)
		}
		waitFor(t, "A sees every change", func() bool {
			for i := range n {
				if busA.Subscribed(channel(i)) != on {
					return false
				}
			}
			return true
		})
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
	hb := newLocalHub()
	newBus(t, open(t, url), newLocalHub())
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
	hb.mu.Lock()
	reconnects := hb.reconnects
	hb.mu.Unlock()
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
	waitFor(t, "the subscription the node kept is recorded again", func() bool { return present("private-token.kept") })

	// Silent past the liveness timeout but not yet deleted: taken for dead too.
	if _, err := admin.Exec(ctx, `UPDATE bus_nodes SET seen_at = now() - interval '25 seconds' WHERE node = $1`, busB.Node()); err != nil {
		t.Fatal(err)
	}
	busB.Beat(ctx)
	hb.mu.Lock()
	reconnects = hb.reconnects
	hb.mu.Unlock()
	if reconnects != 2 {
		t.Fatalf("%d reconnects after a beat 25 s late, want 2", reconnects)
	}
	busB.Beat(ctx) // on time: nothing missed
	hb.mu.Lock()
	reconnects = hb.reconnects
	hb.mu.Unlock()
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
	newBus(t, open(t, url), newLocalHub()) // creates the tables
	// A node that died without a word, with a subscription.
	if _, err := admin.Exec(ctx, `INSERT INTO bus_nodes (node, seen_at) VALUES ('ghost', now());
		INSERT INTO bus_presence (node, channel, seq) VALUES ('ghost', 'private-token.g', 1)`); err != nil {
		t.Fatal(err)
	}
	busA := newBus(t, open(t, url), newLocalHub())
	busB := newBus(t, open(t, url), newLocalHub())
	for i := range 3 {
		<-busB.Subscription("private-token.b"+strconv.Itoa(i), true)
	}
	waitFor(t, "A sees B's subscriptions", func() bool { return busA.Subscribed("private-token.b2") })
	if !busA.Subscribed("private-token.g") {
		t.Fatal("A did not load the dead node's subscription")
	}
	busB.Close()
	waitFor(t, "A forgets the node that left", func() bool { return !busA.Subscribed("private-token.b0") })
	if _, err := admin.Exec(ctx, `DELETE FROM bus_nodes WHERE node = 'ghost'`); err != nil { // what a beat does past a minute
		t.Fatal(err)
	}
	busA.Beat(ctx)
	busA.Beat(ctx)
	if channels, seqs, nodes := busA.Replica(); channels != 0 || seqs != 0 || nodes != 2 {
		t.Fatalf("A keeps %d channels, %d sequence numbers and %d nodes; want 0, 0 and the two alive (itself included)", channels, seqs, nodes)
	}
}

// Many events published at once (a ring to many devices) all reach the other
// node, in the order they were published, a batch to a notification.
func TestBusEventsInOrder(t *testing.T) {
	url := pgtest.Schema(t)
	ha, hb := newLocalHub(), newLocalHub()
	ha.got, hb.got = make(chan struct{}, 5000), make(chan struct{}, 5000) // room for every event: record does not block
	busA := newBus(t, open(t, url), ha)
	busB := newBus(t, open(t, url), hb)
	const ch = "private-user.9"
	<-busB.Subscription(ch, true)
	waitFor(t, "A sees B's subscription", func() bool { return busA.Subscribed(ch) })
	const n = 3000
	for i := range n {
		busA.Publish(ch, "ev", []byte(`{"i":`+strconv.Itoa(i)+`}`), "")
	}
	waitFor(t, "every event reaches B", func() bool { return len(hb.list(&hb.published)) == n })
	for i, got := range hb.list(&hb.published) {
		if want := ch + `|ev|{"i":` + strconv.Itoa(i) + `}|`; got != want {
			t.Fatalf("event %d is %q, want %q", i, got, want)
		}
	}
}
