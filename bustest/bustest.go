// Package bustest is the conformance suite of the cluster's buses: what
// every implementation of Broadcaster, Presence and Sessions across nodes
// (postgres.Bus over LISTEN/NOTIFY, natsbus.Bus over NATS) must do, whatever
// carries it. Each engine runs it from its own tests with Run.
package bustest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"intercom"
)

// Bus is one node's bus, as the suite drives it.
type Bus interface {
	intercom.Broadcaster
	intercom.PresenceMany
	intercom.Sessions
	// Subscription is the hub's hook (pusher.Hub.Watch): channel got its
	// first socket on this node, or lost its last. The channel returned is
	// closed once the other nodes can know.
	Subscription(channel string, on bool) <-chan struct{}
	// Close leaves the cluster.
	Close()
}

// Cluster is one cluster of an engine, fresh for a test.
type Cluster struct {
	// Node starts a node whose bus hands what it receives to local; it is
	// closed when t ends, if not before.
	Node func(t testing.TB, local intercom.Sockets) Bus
	// SocketID is the id of a socket the node of b holds: the n-th.
	SocketID func(b Bus, n int) string
}

// Run runs the suite, each test on a cluster of its own from newCluster.
func Run(t *testing.T, newCluster func(t *testing.T) Cluster) {
	tests := []struct {
		name string
		fn   func(t *testing.T, c Cluster)
	}{
		{"CrossesNodes", testCrossesNodes},
		{"CloseFollowsEarlierEvents", testCloseFollowsEarlierEvents},
		{"CloseUserFollowsEarlierEvents", testCloseUserFollowsEarlierEvents},
		{"OwnSubscriptionAtOnce", testOwnSubscriptionAtOnce},
		{"NewNodeSeesPresence", testNewNodeSeesPresence},
		{"NodeLeavingDropsItsPresence", testNodeLeavingDropsItsPresence},
		{"PresenceStorm", testPresenceStorm},
		{"EventsInOrder", testEventsInOrder},
		{"ChannelNames", testChannelNames},
		{"SubscribedMany", testSubscribedMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newCluster(t)) })
	}
}

// Hub records what a node's bus hands to its sockets (intercom.Sockets).
type Hub struct {
	mu         sync.Mutex
	published  []string // channel|event|data|except
	granted    []string // socket|channel|token
	closed     []string // token:<id> or user:<id>
	all        []string // everything above, in the order it came
	reconnects int
	changed    chan struct{} // closed and replaced at each record
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{changed: make(chan struct{})} }

func (h *Hub) record(list *[]string, s string) {
	h.mu.Lock()
	*list = append(*list, s)
	h.all = append(h.all, s)
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// Publish records an event.
func (h *Hub) Publish(channel, event string, data []byte, except string) int {
	h.record(&h.published, channel+"|"+event+"|"+string(data)+"|"+except)
	return 1
}

// Authorized records a grant.
func (h *Hub) Authorized(socket, channel, token string, user int64, expires time.Time) {
	h.record(&h.granted, socket+"|"+channel+"|"+token)
}

// CloseToken records a token's close.
func (h *Hub) CloseToken(token string) { h.record(&h.closed, "token:"+token) }

// CloseUser records an account's close.
func (h *Hub) CloseUser(user int64) { h.record(&h.closed, "user:"+strconv.FormatInt(user, 10)) }

// Reconnect counts the times the node's sockets were told to reconnect.
func (h *Hub) Reconnect() {
	h.mu.Lock()
	h.reconnects++
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// Published is the events recorded, as channel|event|data|except.
func (h *Hub) Published() []string { return h.list(&h.published) }

// Granted is the grants recorded, as socket|channel|token.
func (h *Hub) Granted() []string { return h.list(&h.granted) }

// Closed is the closes recorded, as token:<id> or user:<id>.
func (h *Hub) Closed() []string { return h.list(&h.closed) }

// All is everything recorded, in the order it came.
func (h *Hub) All() []string { return h.list(&h.all) }

// Reconnects is how many times the sockets were told to reconnect.
func (h *Hub) Reconnects() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reconnects
}

func (h *Hub) list(l *[]string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(*l)
}

// Await waits until cond holds of the hub, or fails t after 10 s.
func (h *Hub) Await(t testing.TB, what string, cond func(h *Hub) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		changed := h.changed
		h.mu.Unlock()
		if cond(h) {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("never: %s", what)
		}
	}
}

// WaitFor polls cond, which asks the cluster, until it holds; the deadline
// only bounds a failure.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testCrossesNodes(t *testing.T, c Cluster) {
	ha, hb := NewHub(), NewHub()
	busA, busB := c.Node(t, ha), c.Node(t, hb)

	const ch = "private-user.7"
	if busA.Subscribed(ch) {
		t.Fatal("Subscribed before anyone subscribed")
	}
	<-busB.Subscription(ch, true) // a socket on B subscribes
	WaitFor(t, "A sees B's subscription", func() bool { return busA.Subscribed(ch) })

	busA.Publish(ch, "ev", []byte(`{"x":1}`), "1.2")
	hb.Await(t, "B's sockets get the event", func(h *Hub) bool { return len(h.Published()) == 1 })
	if got := hb.Published(); got[0] != ch+`|ev|{"x":1}|1.2` {
		t.Fatalf("B's sockets got %q", got)
	}
	if got := ha.Published(); len(got) != 1 || got[0] != ch+`|ev|{"x":1}|1.2` {
		t.Fatalf("A's own sockets got %q, want the event once", got)
	}

	big := `{"data":"` + strings.Repeat("x", 20_000) + `"}`
	busA.Publish(ch, "big", []byte(big), "")
	hb.Await(t, "the large event", func(h *Hub) bool { return len(h.Published()) == 2 })
	if got := hb.Published(); got[1] != ch+"|big|"+big+"|" {
		t.Fatalf("the large event arrived as %.60q", got[1])
	}

	socket := c.SocketID(busB, 6)
	busA.Authorized(socket, "private-token.abc", "abc", 7, time.Now().Add(time.Hour))
	busA.CloseToken("abc")
	busA.CloseUser(7)
	hb.Await(t, "grant and closes", func(h *Hub) bool { return len(h.Closed()) == 2 })
	if g, cl := hb.Granted(), hb.Closed(); !slices.Equal(g, []string{socket + "|private-token.abc|abc"}) ||
		!slices.Equal(cl, []string{"token:abc", "user:7"}) {
		t.Fatalf("B got grants %q, closes %q", g, cl)
	}
	if cl := ha.Closed(); !slices.Equal(cl, []string{"token:abc", "user:7"}) {
		t.Fatalf("A's own sockets got closes %q", cl)
	}

	<-busB.Subscription(ch, false)
	WaitFor(t, "A sees B's unsubscription", func() bool { return !busA.Subscribed(ch) })
	busA.Publish(ch, "nobody", []byte(`{}`), "")
	// A later event on a channel B holds arrives after it, had it been sent.
	<-busB.Subscription("private-user.8", true)
	WaitFor(t, "A sees B's other subscription", func() bool { return busA.Subscribed("private-user.8") })
	busA.Publish("private-user.8", "marker", []byte(`{}`), "")
	hb.Await(t, "the marker", func(h *Hub) bool { return len(h.Published()) >= 3 })
	if got := hb.Published(); len(got) != 3 || !strings.HasPrefix(got[2], "private-user.8|marker") {
		t.Fatalf("an event went to a node without subscribers: %q", got[2:])
	}
}

// A session ended on one node gets its logout event on every node before
// its sockets close there: the close does not overtake the events published
// before it.
func testCloseFollowsEarlierEvents(t *testing.T, c Cluster) {
	ha, hb := NewHub(), NewHub()
	busA, busB := c.Node(t, ha), c.Node(t, hb)
	const n = 20
	var want []string
	for i := range n {
		tok := fmt.Sprint("tok", i)
		<-busB.Subscription("private-token."+tok, true)
		want = append(want, "private-token."+tok+`|App\Events\TokenPush|{}|`, "token:"+tok)
	}
	WaitFor(t, "A sees B's subscriptions", func() bool { return busA.Subscribed(fmt.Sprint("private-token.tok", n-1)) })
	for i := range n {
		tok := fmt.Sprint("tok", i)
		busA.Publish("private-token."+tok, `App\Events\TokenPush`, []byte(`{}`), "")
		busA.CloseToken(tok)
	}
	hb.Await(t, "logouts and closes", func(h *Hub) bool { return len(h.All()) >= 2*n })
	if got := hb.All(); !slices.Equal(got, want) {
		t.Fatalf("B got, in order:\n%q\nwant:\n%q", got, want)
	}
}

// An account's deletion: its events, then its sockets closed, on every node.
func testCloseUserFollowsEarlierEvents(t *testing.T, c Cluster) {
	ha, hb := NewHub(), NewHub()
	busA, busB := c.Node(t, ha), c.Node(t, hb)
	const n = 20
	var want []string
	for i := range n {
		ch := fmt.Sprint("private-user.", i+1)
		<-busB.Subscription(ch, true)
		want = append(want, ch+"|gone|{}|", fmt.Sprint("user:", i+1))
	}
	WaitFor(t, "A sees B's subscriptions", func() bool { return busA.Subscribed(fmt.Sprint("private-user.", n)) })
	for i := range n {
		busA.Publish(fmt.Sprint("private-user.", i+1), "gone", []byte(`{}`), "")
		busA.CloseUser(int64(i + 1))
	}
	hb.Await(t, "events and closes", func(h *Hub) bool { return len(h.All()) >= 2*n })
	if got := hb.All(); !slices.Equal(got, want) {
		t.Fatalf("B got, in order:\n%q\nwant:\n%q", got, want)
	}
}

// A node knows its own subscriptions as soon as its hub tells it.
func testOwnSubscriptionAtOnce(t *testing.T, c Cluster) {
	busA := c.Node(t, NewHub())
	busA.Subscription("private-token.own", true)
	if !busA.Subscribed("private-token.own") {
		t.Fatal("a node does not see its own socket's subscription")
	}
	busA.Subscription("private-token.own", false)
	if busA.Subscribed("private-token.own") {
		t.Fatal("a node still sees its own socket's subscription after it ended")
	}
}

// A node that starts sees the subscriptions held before it.
func testNewNodeSeesPresence(t *testing.T, c Cluster) {
	busA := c.Node(t, NewHub())
	<-busA.Subscription("private-token.x", true)
	busB := c.Node(t, NewHub())
	if !busB.Subscribed("private-token.x") {
		t.Fatal("a node started after a subscription does not see it")
	}
	if busB.Subscribed("private-token.y") {
		t.Fatal("a new node sees a subscription nobody made")
	}
}

func testNodeLeavingDropsItsPresence(t *testing.T, c Cluster) {
	busA := c.Node(t, NewHub())
	busB := c.Node(t, NewHub())
	<-busB.Subscription("private-token.y", true)
	WaitFor(t, "A sees B's subscription", func() bool { return busA.Subscribed("private-token.y") })
	busB.Close()
	// At once, not after a liveness timeout this wait could not outlast.
	WaitFor(t, "A forgets the node that left", func() bool { return !busA.Subscribed("private-token.y") })
}

// A storm of subscriptions (sockets reconnecting after a node restart) is
// made in batches and none is dropped.
func testPresenceStorm(t *testing.T, c Cluster) {
	busA := c.Node(t, NewHub())
	busB := c.Node(t, NewHub())
	const n = 10_000
	channel := func(i int) string { return "private-token.storm" + strconv.Itoa(i) }
	for _, on := range []bool{true, false} {
		var done []<-chan struct{}
		for i := range n {
			done = append(done, busB.Subscription(channel(i), on))
		}
		for _, d := range done {
			<-d
		}
		WaitFor(t, "A sees every change", func() bool {
			for i := range n {
				if busA.Subscribed(channel(i)) != on {
					return false
				}
			}
			return true
		})
	}
}

// Many events published at once (a ring to many devices) all reach the other
// node, in the order they were published.
func testEventsInOrder(t *testing.T, c Cluster) {
	hb := NewHub()
	busA := c.Node(t, NewHub())
	busB := c.Node(t, hb)
	const ch = "private-user.9"
	<-busB.Subscription(ch, true)
	WaitFor(t, "A sees B's subscription", func() bool { return busA.Subscribed(ch) })
	const n = 3000
	for i := range n {
		busA.Publish(ch, "ev", []byte(`{"i":`+strconv.Itoa(i)+`}`), "")
	}
	hb.Await(t, "every event reaches B", func(h *Hub) bool { return len(h.Published()) >= n })
	for i, got := range hb.Published() {
		if want := ch + `|ev|{"i":` + strconv.Itoa(i) + `}|`; got != want {
			t.Fatalf("event %d is %q, want %q", i, got, want)
		}
	}
}

// Channel names Pusher allows, dots and all, each reach their own
// subscribers only.
func testChannelNames(t *testing.T, c Cluster) {
	hb := NewHub()
	busA := c.Node(t, NewHub())
	busB := c.Node(t, hb)
	names := []string{"private-a.b.c", "private-a..b", "private-a.", "private-x=y@z,w;v", "private-user.1", "private-user"}
	for _, ch := range names[:len(names)-1] {
		<-busB.Subscription(ch, true)
	}
	WaitFor(t, "A sees B's subscriptions", func() bool {
		for _, ch := range names[:len(names)-1] {
			if !busA.Subscribed(ch) {
				return false
			}
		}
		return true
	})
	if ch := names[len(names)-1]; busA.Subscribed(ch) {
		t.Errorf("Subscribed(%q) = true, want false: a prefix of subscribed channels is not one", ch)
	}
	for _, ch := range names {
		busA.Publish(ch, "ev", []byte(`{}`), "")
	}
	<-busB.Subscription("private-marker", true)
	WaitFor(t, "A sees the marker's subscription", func() bool { return busA.Subscribed("private-marker") })
	busA.Publish("private-marker", "ev", []byte(`{}`), "")
	hb.Await(t, "the marker", func(h *Hub) bool { return slices.Contains(h.Published(), "private-marker|ev|{}|") })
	var want []string
	for _, ch := range names[:len(names)-1] {
		want = append(want, ch+"|ev|{}|")
	}
	if got := hb.Published(); !slices.Equal(got, append(want, "private-marker|ev|{}|")) {
		t.Fatalf("B got %q", got)
	}
}

// SubscribedMany (intercom.PresenceMany) answers as Subscribed would, channel by channel: its own, other nodes'
// (one held on two nodes), and nobody's.
func testSubscribedMany(t *testing.T, c Cluster) {
	busA, busB, busC := c.Node(t, NewHub()), c.Node(t, NewHub()), c.Node(t, NewHub())
	many := busA
	var channels []string
	var want []bool
	for i := range 300 {
		ch := "private-token.many" + strconv.Itoa(i)
		channels = append(channels, ch)
		want = append(want, i%3 != 2)
		switch i % 3 {
		case 0:
			<-busA.Subscription(ch, true)
		case 1:
			<-busB.Subscription(ch, true)
			if i%2 == 0 {
				<-busC.Subscription(ch, true)
			}
		}
	}
	WaitFor(t, "A sees the others' subscriptions", func() bool { return busA.Subscribed(channels[len(channels)-2]) })
	if got := many.SubscribedMany(channels); !slices.Equal(got, want) {
		t.Fatalf("SubscribedMany = %v\nwant %v", got, want)
	}
	for i, ch := range channels {
		if busA.Subscribed(ch) != want[i] {
			t.Fatalf("Subscribed(%s) = %v, want %v", ch, !want[i], want[i])
		}
	}
	if got := many.SubscribedMany(nil); len(got) != 0 {
		t.Fatalf("SubscribedMany(nil) = %v", got)
	}
	if got := many.SubscribedMany(channels[1:2]); !slices.Equal(got, []bool{true}) {
		t.Fatalf("SubscribedMany of one channel elsewhere = %v", got)
	}
}
