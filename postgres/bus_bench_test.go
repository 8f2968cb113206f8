package postgres_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"intercom"
	"intercom/bustest"
	"intercom/postgres"
	"intercom/postgres/pgtest"
)

// arrivals counts what a node's bus hands to its sockets and how long each
// event took from its Publish on the other node: the event's data starts
// with the publish time, {"t":<19-digit Unix nanoseconds>.
type arrivals struct {
	n    atomic.Int64
	mu   sync.Mutex
	took []time.Duration
	last time.Time
}

func (a *arrivals) Publish(channel, event string, data []byte, except string) int {
	now := time.Now()
	if ns, err := strconv.ParseInt(string(data[5:24]), 10, 64); err == nil {
		a.mu.Lock()
		a.took = append(a.took, now.Sub(time.Unix(0, ns)))
		a.last = now
		a.mu.Unlock()
	}
	a.n.Add(1)
	return 1
}
func (a *arrivals) Authorized(socket, channel, token string, user int64, expires time.Time) {}
func (a *arrivals) CloseToken(token string)                                                 {}
func (a *arrivals) CloseUser(user int64)                                                    {}
func (a *arrivals) Reconnect()                                                              {}

// BenchmarkBus publishes events on node A's bus, from 16 goroutines at once
// (a node's requests publish concurrently), to a channel a socket of node B
// subscribes to, and reports the events per second that reach node B's
// sockets (from the first Publish to the last delivery) and the latency of
// one event, Publish on A to delivery on B. Payload sizes: a small event, one
// just under the NOTIFY limit, and one over it (stored in bus_messages and
// named by the notification). It runs in a fresh database, skipped without
// PostgreSQL.
func BenchmarkBus(b *testing.B) {
	url := pgtest.Schema(b)
	for _, size := range []int{300, 6000, 20000} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			dbA, dbB := openB(b, url), openB(b, url)
			var nop, got arrivals
			busA, err := postgres.NewBus(b.Context(), dbA, &nop, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer busA.Close()
			busB, err := postgres.NewBus(b.Context(), dbB, &got, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer busB.Close()
			const ch = "private-token.bench"
			busB.Subscription(ch, true)
			for deadline := time.Now().Add(5 * time.Second); !busA.Subscribed(ch); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatal("node A never saw node B's subscription")
				}
			}
			pad := strings.Repeat("x", size-len(`{"t":0000000000000000000,"p":""}`))
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			var sent atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					busA.Publish(ch, "bench", fmt.Appendf(nil, `{"t":%019d,"p":"%s"}`, time.Now().UnixNano(), pad), "")
					sent.Add(1)
				}
			})
			published := time.Since(start)
			for deadline := time.Now().Add(30 * time.Second); got.n.Load() < sent.Load(); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d events reached node B", got.n.Load(), sent.Load())
				}
			}
			b.StopTimer()
			got.mu.Lock()
			defer got.mu.Unlock()
			slices.Sort(got.took)
			pct := func(p int) float64 { return float64(got.took[len(got.took)*p/100].Microseconds()) / 1000 }
			b.ReportMetric(float64(sent.Load())/published.Seconds(), "published/s")
			b.ReportMetric(float64(len(got.took))/got.last.Sub(start).Seconds(), "delivered/s")
			b.ReportMetric(pct(50), "p50-ms")
			b.ReportMetric(pct(99), "p99-ms")
		})
	}
}

// BenchmarkBusRings: messages each node decodes per ring, and ring → event
// latency, over 2, 4 and 8 nodes sharing 15,000 sockets, on LISTEN/NOTIFY
// (natsbus's BenchmarkRings is the same on NATS; BENCHMARKS.md, issue 19).
func BenchmarkBusRings(b *testing.B) {
	bustest.BenchRings(b, 15_000, func(b *testing.B) bustest.Cluster {
		url := pgtest.Schema(b)
		return bustest.Cluster{Node: func(t testing.TB, local intercom.Sockets) bustest.Bus { return newBus(t, openTB(t, url), local) }}
	}, func(b bustest.Bus) int64 { return b.(*postgres.Bus).Received() })
}
