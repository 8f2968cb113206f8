package natsbus_test

import (
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"intercom"
	"intercom/bustest"
	"intercom/natsbus"
	"intercom/natsbus/natstest"
)

func newBus(t testing.TB, url string, local intercom.Sockets) *natsbus.Bus {
	t.Helper()
	b, err := natsbus.New(natsbus.Config{URL: url, ReconnectWait: 20 * time.Millisecond}, local)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestBus runs the buses' conformance suite on NATS, each test on a server
// of its own.
func TestBus(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Cluster {
		url := natstest.Start(t).ClientURL()
		return bustest.Cluster{
			Node: func(t testing.TB, local intercom.Sockets) bustest.Bus { return newBus(t, url, local) },
			SocketID: func(b bustest.Bus, n int) string {
				return b.(*natsbus.Bus).Node() + "." + strconv.Itoa(n)
			},
		}
	})
}

// A node receives what its sockets need and nothing else: not the events of
// channels held elsewhere, nor the grants of other nodes' sockets.
func TestBusNodeReceivesOnlyItsOwn(t *testing.T) {
	url := natstest.Start(t).ClientURL()
	ha, hb, hc := bustest.NewHub(), bustest.NewHub(), bustest.NewHub()
	busA, busB, busC := newBus(t, url, ha), newBus(t, url, hb), newBus(t, url, hc)
	<-busB.Subscription("private-token.b", true)
	<-busC.Subscription("private-token.c", true)
	const n = 100
	for i := range n {
		busA.Publish("private-token.b", "ev", []byte(strconv.Itoa(i)), "")
	}
	busA.Authorized(busB.Node()+".1", "private-token.b", "b", 1, time.Now().Add(time.Hour))
	busA.Publish("private-token.c", "marker", []byte(`{}`), "")
	hb.Await(t, "B gets its events and its grant", func(h *bustest.Hub) bool { return len(h.Published()) == n && len(h.Granted()) == 1 })
	hc.Await(t, "C gets its event", func(h *bustest.Hub) bool { return len(h.Published()) == 1 })
	// The marker was published after everything B got: had C been sent
	// any of it, it would have arrived before.
	if got := hc.All(); !slices.Equal(got, []string{"private-token.c|marker|{}|"}) {
		t.Fatalf("C got %q, want its own event only", got)
	}
	if got, want := busC.Received(), int64(1); got != want {
		t.Errorf("C received %d messages, want %d", got, want)
	}
	if got, want := busB.Received(), int64(n+1); got != want {
		t.Errorf("B received %d messages, want %d (its events and its grant)", got, want)
	}
	if got := busA.Received(); got != 0 {
		t.Errorf("A, which holds no socket, received %d messages", got)
	}
}

// Once a node's announcement of a subscription is done, every node sees it
// at once: nothing is replicated, each is asked.
func TestBusPresenceAtOnce(t *testing.T) {
	url := natstest.Start(t).ClientURL()
	busA, busB := newBus(t, url, bustest.NewHub()), newBus(t, url, bustest.NewHub())
	for i := range 50 {
		ch := "private-token.p" + strconv.Itoa(i)
		<-busB.Subscription(ch, true)
		if !busA.Subscribed(ch) {
			t.Fatalf("%s: not seen right after its announcement", ch)
		}
		<-busB.Subscription(ch, false)
		if busA.Subscribed(ch) {
			t.Fatalf("%s: still seen right after its end", ch)
		}
	}
}

// After the connection to NATS drops, the node's sockets are told to
// reconnect (they may have missed events), and the node's subscriptions hold
// again once it is back.
func TestBusReconnect(t *testing.T) {
	srv := natstest.Start(t)
	url := srv.ClientURL()
	ha, hb := bustest.NewHub(), bustest.NewHub()
	busA, busB := newBus(t, url, ha), newBus(t, url, hb)
	<-busB.Subscription("private-token.r", true)
	srv = natstest.Restart(t, srv)
	hb.Await(t, "B's sockets told to reconnect", func(h *bustest.Hub) bool { return h.Reconnects() == 1 })
	ha.Await(t, "A's sockets told to reconnect", func(h *bustest.Hub) bool { return h.Reconnects() == 1 })
	bustest.WaitFor(t, "A sees B's subscription again", func() bool { return busA.Subscribed("private-token.r") })
	busA.Publish("private-token.r", "after", []byte(`{}`), "")
	hb.Await(t, "an event after the reconnection", func(h *bustest.Hub) bool { return len(h.Published()) == 1 })
	waitClients(t, srv, 2)
}

// While the NATS server is away, presence does not wait for it: a node's
// own channels are known, the others' count as none, at once.
func TestBusPresenceWithoutServer(t *testing.T) {
	srv := natstest.Start(t)
	url := srv.ClientURL()
	busA, busB := newBus(t, url, bustest.NewHub()), newBus(t, url, bustest.NewHub())
	<-busA.Subscription("private-token.mine", true)
	<-busB.Subscription("private-token.theirs", true)
	srv.Shutdown()
	srv.WaitForShutdown()
	bustest.WaitFor(t, "A notices the server is gone", func() bool { return !busA.Subscribed("private-token.theirs") })
	start := time.Now()
	got := busA.SubscribedMany([]string{"private-token.mine", "private-token.theirs", "private-token.nobody's"})
	if !slices.Equal(got, []bool{true, false, false}) {
		t.Errorf("SubscribedMany without the server = %v, want its own channel only", got)
	}
	if !busA.Subscribed("private-token.mine") || busA.Subscribed("private-token.theirs") {
		t.Error("Subscribed without the server: want its own channel only")
	}
	// Far below the presence timeout (1 s) the questions would wait for.
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("presence without the server took %s", d)
	}
}

// waitClients waits until srv has n clients.
func waitClients(t *testing.T, srv *server.Server, n int) {
	t.Helper()
	bustest.WaitFor(t, strconv.Itoa(n)+" clients", func() bool { return srv.NumClients() == n })
}

// A NATS server that cannot be reached is said so at start.
func TestBusUnreachable(t *testing.T) {
	srv := natstest.Start(t)
	url := srv.ClientURL()
	srv.Shutdown()
	srv.WaitForShutdown()
	_, err := natsbus.New(natsbus.Config{URL: url}, bustest.NewHub())
	if intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
		t.Fatalf("New with no server: %v, want EUNAVAILABLE", err)
	}
}

func TestRedact(t *testing.T) {
	got := natsbus.Redact("nats://u:secret@10.0.0.1:4222, nats://10.0.0.2:4222,nats://s3cr3t-token@10.0.0.3")
	if want := "nats://u:xxxxx@10.0.0.1:4222,nats://10.0.0.2:4222,nats://xxxxx@10.0.0.3"; got != want {
		t.Fatalf("Redact = %q, want %q", got, want)
	}
}

// BenchmarkSubscribed is the cost of the question a ring asks per device
// token: a channel another node holds, one nobody holds, and one this node
// holds (answered without asking).
func BenchmarkSubscribed(b *testing.B) {
	url := natstest.Start(b).ClientURL()
	busA, busB := newBus(b, url, bustest.NewHub()), newBus(b, url, bustest.NewHub())
	<-busB.Subscription("private-token.there", true)
	<-busA.Subscription("private-token.here", true)
	for _, c := range []struct {
		name, channel string
		want          bool
	}{{"elsewhere", "private-token.there", true}, {"nowhere", "private-token.none", false}, {"here", "private-token.here", true}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if busA.Subscribed(c.channel) != c.want {
					b.Fatalf("Subscribed(%s) != %v", c.channel, c.want)
				}
			}
		})
	}
}

// BenchmarkRings: messages each node receives per ring, and ring → event
// latency, over 2, 4 and 8 nodes sharing 15,000 sockets (BENCHMARKS.md,
// issue 19).
func BenchmarkRings(b *testing.B) {
	bustest.BenchRings(b, 15_000, func(b *testing.B) bustest.Cluster {
		url := natstest.Start(b).ClientURL()
		return bustest.Cluster{Node: func(t testing.TB, local intercom.Sockets) bustest.Bus { return newBus(t, url, local) }}
	}, func(b bustest.Bus) int64 { return b.(*natsbus.Bus).Received() })
}

// BenchmarkSubscribedMany is a ring's question for a house of 1,000 devices
// (half with a socket on another node): all at once, and one at a time.
func BenchmarkSubscribedMany(b *testing.B) {
	url := natstest.Start(b).ClientURL()
	busA, busB := newBus(b, url, bustest.NewHub()), newBus(b, url, bustest.NewHub())
	var channels []string
	for i := range 1000 {
		ch := "private-token.house" + strconv.Itoa(i)
		channels = append(channels, ch)
		if i%2 == 0 {
			<-busB.Subscription(ch, true)
		}
	}
	b.Run("at-once", func(b *testing.B) {
		for b.Loop() {
			if got := busA.SubscribedMany(channels); !got[0] || got[1] {
				b.Fatal("wrong answers")
			}
		}
	})
	b.Run("one-by-one", func(b *testing.B) {
		for b.Loop() {
			for i, ch := range channels {
				if busA.Subscribed(ch) != (i%2 == 0) {
					b.Fatal("wrong answer")
				}
			}
		}
	})
}

// countingHub counts the events that reach a node's sockets.
type countingHub struct {
	bustest.Hub
	n atomic.Int64
}

func (h *countingHub) Publish(channel, event string, data []byte, except string) int {
	h.n.Add(1)
	return 1
}

// BenchmarkBus is postgres's BenchmarkBus on NATS: 16 goroutines of node A
// publish 300-byte events to a channel a socket of node B holds; it reports
// the events per second delivered to B's sockets, first publish to last
// delivery.
func BenchmarkBus(b *testing.B) {
	url := natstest.Start(b).ClientURL()
	got := &countingHub{}
	busA, busB := newBus(b, url, bustest.NewHub()), newBus(b, url, got)
	const ch = "private-token.bench"
	<-busB.Subscription(ch, true)
	payload := []byte(`{"p":"` + strings.Repeat("x", 290) + `"}`)
	b.SetParallelism(8)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			busA.Publish(ch, "ev", payload, "")
		}
	})
	bustest.WaitFor(b, "every event delivered", func() bool { return got.n.Load() >= int64(b.N) })
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "delivered/s")
}
