package bustest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Rings is what BenchRings measures on a cluster of one size.
type Rings struct {
	Nodes, Sockets, Rings int
	// PerNodePerRing is the messages a node received from the bus per
	// ring, on average over the nodes; MaxPerNodePerRing the most any node
	// received.
	PerNodePerRing, MaxPerNodePerRing float64
	// Across is ring → event on the sockets of the nodes that did not ring;
	// Local on the ringing node's own.
	Across, Local []time.Duration
}

// BenchRings rings over clusters of 2, 4 and 8 nodes sharing sockets
// sockets, one token channel each, socket i on node i mod the nodes, in
// flats of 3 consecutive sockets (so a flat's devices are on different
// nodes); ring r goes to flat r·7919 mod the flats, from a node picked by
// a hash of r, as a ring does: for each device, Subscribed on its channel, then
// Publish of the ring event. It waits for every device's event before the
// next ring, and reports the messages each node received from the bus per
// ring (received counts them) and ring → event latency across nodes.
func BenchRings(b *testing.B, sockets int, newCluster func(b *testing.B) Cluster, received func(Bus) int64) {
	for _, nodes := range []int{2, 4, 8} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			r := RingLoad(b, newCluster(b), nodes, sockets, b.N, received)
			b.ReportMetric(r.PerNodePerRing, "msgs/node/ring")
			b.ReportMetric(r.MaxPerNodePerRing, "max-msgs/node/ring")
			b.ReportMetric(float64(Percentile(r.Across, 50).Microseconds()), "across-p50-µs")
			b.ReportMetric(float64(Percentile(r.Across, 99).Microseconds()), "across-p99-µs")
			b.ReportMetric(float64(Percentile(r.Local, 99).Microseconds()), "local-p99-µs")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// Percentile is the p-th percentile of d (sorted in place).
func Percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)]
}

// arrival is a ring event on a node's socket.
type arrival struct {
	channel string
	at      time.Time
}

// ringHub is node k's sockets for RingLoad: those of the channels i with
// i mod nodes = k. It reports each event that reaches one.
type ringHub struct {
	k, nodes int
	arrived  chan<- arrival
}

func (h ringHub) Publish(channel, event string, data []byte, except string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(channel, loadChannel))
	if err != nil || i%h.nodes != h.k {
		return 0 // no socket here
	}
	h.arrived <- arrival{channel, time.Now()}
	return 1
}
func (ringHub) Authorized(socket, channel, token string, user int64, expires time.Time) {}
func (ringHub) CloseToken(token string)                                                 {}
func (ringHub) CloseUser(user int64)                                                    {}
func (ringHub) Reconnect()                                                              {}

// loadChannel starts the channels of RingLoad's sockets.
const loadChannel = "private-token.load"

// RingLoad runs rings rings as BenchRings describes on a cluster of nodes
// nodes from c.
func RingLoad(tb testing.TB, c Cluster, nodes, sockets, rings int, received func(Bus) int64) Rings {
	tb.Helper()
	const perFlat = 3
	arrived := make(chan arrival, 1024)
	buses := make([]Bus, nodes)
	for k := range buses {
		buses[k] = c.Node(tb, ringHub{k, nodes, arrived})
	}
	channel := func(i int) string { return loadChannel + strconv.Itoa(i) }
	var announced []<-chan struct{}
	for i := range sockets {
		announced = append(announced, buses[i%nodes].Subscription(channel(i), true))
	}
	for _, a := range announced {
		<-a
	}
	// Every node sees every subscription before the rings (a bus that
	// replicates presence may take a moment).
	var wg sync.WaitGroup
	for k := range buses {
		wg.Go(func() {
			for i := range sockets {
				WaitFor(tb, "every node sees every subscription", func() bool { return buses[k].Subscribed(channel(i)) })
			}
		})
	}
	wg.Wait()

	before := make([]int64, nodes)
	for k, bus := range buses {
		before[k] = received(bus)
	}
	if b, ok := tb.(*testing.B); ok {
		b.ResetTimer() // the rings only, not the cluster's start
	}
	flats := sockets / perFlat
	r := Rings{Nodes: nodes, Sockets: sockets, Rings: rings}
	payload := []byte(`{"type":"intercom_ring","call_id":1,"intercom_id":1,"title":"Home","address":"Lenina 1, flat 12","sip":{"username":"u","password":"p","domain":"sip.example.com"},"uuid":"6f1c3a52-7c1e-4d43-9a55-0f2d1c7b9e10"}`)
	for n := range rings {
		flat := (n * 7919) % flats
		from := int(uint32(n)*2654435761>>8) % nodes // not in step with the flat
		start := time.Now()
		for d := range perFlat {
			ch := channel(flat*perFlat + d)
			if buses[from].Subscribed(ch) {
				buses[from].Publish(ch, `App\Events\IntercomRing`, payload, "")
			}
		}
		for got := 0; got < perFlat; got++ {
			select {
			case a := <-arrived:
				i, _ := strconv.Atoi(strings.TrimPrefix(a.channel, loadChannel))
				if i/perFlat != flat {
					tb.Fatalf("ring %d of flat %d reached %s", n, flat, a.channel)
				}
				if i%nodes == from {
					r.Local = append(r.Local, a.at.Sub(start))
				} else {
					r.Across = append(r.Across, a.at.Sub(start))
				}
			case <-time.After(10 * time.Second):
				tb.Fatalf("ring %d: %d of %d devices got the event in 10 s", n, got, perFlat)
			}
		}
	}
	// A node that hears every message may not have decoded the last ring's
	// yet: at most one ring's worth is missed.
	total, most := int64(0), int64(0)
	for k, bus := range buses {
		d := received(bus) - before[k]
		total += d
		most = max(most, d)
	}
	r.PerNodePerRing = float64(total) / float64(nodes) / float64(rings)
	r.MaxPerNodePerRing = float64(most) / float64(rings)
	return r
}
