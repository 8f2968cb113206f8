package city

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"intercom"
)

// Latency is how long one hot path's store calls took, over every run.
type Latency struct {
	Name          string
	Runs          int
	P50, P99, Max time.Duration
}

// Measure runs every hot path n times over clients concurrent clients, each
// run as the next of samples (so that no one resident's rows stay cached),
// after a warm-up of one run per sample, and returns the latencies of each.
func Measure(ctx context.Context, st intercom.Store, samples []Sample, at time.Time, n, clients int) ([]Latency, error) {
	var paths [][]HotPath
	for _, s := range samples {
		paths = append(paths, HotPaths(st, s, at))
	}
	var out []Latency
	for h := range paths[0] {
		for _, p := range paths { // warm-up
			if err := p[h].Run(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", p[h].Name, err)
			}
		}
		var mu sync.Mutex
		took := make([]time.Duration, 0, n)
		var first error
		var wg sync.WaitGroup
		next := make(chan int)
		for range clients {
			wg.Go(func() {
				for i := range next {
					p := paths[i%len(paths)][h]
					start := time.Now()
					err := p.Run(ctx)
					d := time.Since(start)
					mu.Lock()
					took = append(took, d)
					if err != nil && first == nil {
						first = fmt.Errorf("%s: %w", p.Name, err)
					}
					mu.Unlock()
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		if first != nil {
			return nil, first
		}
		slices.Sort(took)
		out = append(out, Latency{Name: paths[0][h].Name, Runs: len(took),
			P50: took[len(took)/2], P99: took[len(took)*99/100], Max: took[len(took)-1]})
	}
	return out, nil
}

// ReportLatencies writes a line per hot path.
func ReportLatencies(w io.Writer, ls []Latency) {
	fmt.Fprintf(w, "%-16s %7s %10s %10s %10s\n", "hot path", "runs", "p50", "p99", "max")
	for _, l := range ls {
		fmt.Fprintf(w, "%-16s %7d %10s %10s %10s\n", l.Name, l.Runs, l.P50.Round(time.Microsecond), l.P99.Round(time.Microsecond), l.Max.Round(time.Microsecond))
	}
}
