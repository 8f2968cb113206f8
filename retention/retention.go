// Package retention purges the histories (intercom.History) past their
// retention age in the background: at a bounded interval on the injected
// clock, each history in small batches, one transaction each, so that the
// purge never holds the database for long and the writes of calls go on
// between its batches. Every node of a cluster may run it: the stores'
// deletions are idempotent and nodes purging at once take different rows.
package retention

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"intercom"
)

// Defaults of Config.
const (
	// DefaultEvery is how often a pass runs.
	DefaultEvery = time.Hour
	// DefaultFirstAfter is how long after Start the first pass runs: soon,
	// so that a node restarted more often than DefaultEvery still purges,
	// but not while it is starting.
	DefaultFirstAfter = time.Minute
	// DefaultBatch is how many records one transaction deletes at most.
	DefaultBatch = 500
	// DefaultMaxBatches bounds the batches of one history in one pass; what
	// is left waits for the next pass.
	DefaultMaxBatches = 200
)

// Config is what a Purger is told. Zero values take the defaults.
type Config struct {
	Store      intercom.Retainer
	Ages       intercom.Retention // a history absent or KeepForever is never purged
	Clock      intercom.Clock     // nil: the system clock
	Logger     *slog.Logger       // nil: slog.Default()
	Every      time.Duration
	FirstAfter time.Duration
	Batch      int
	MaxBatches int
}

// Purger runs the passes.
type Purger struct {
	c      Config
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	timer  intercom.Timer
	closed bool
	passes sync.WaitGroup
}

// New returns a Purger; Start sets it going.
func New(c Config) *Purger {
	if c.Clock == nil {
		c.Clock = intercom.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Every <= 0 {
		c.Every = DefaultEvery
	}
	if c.FirstAfter <= 0 {
		c.FirstAfter = DefaultFirstAfter
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.MaxBatches <= 0 {
		c.MaxBatches = DefaultMaxBatches
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Purger{c: c, ctx: ctx, cancel: cancel}
}

// Start schedules the first pass, FirstAfter from now, and each next one
// Every after the end of the one before.
func (p *Purger) Start() { p.schedule(p.c.FirstAfter) }

func (p *Purger) schedule(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.passes.Add(1)
	p.timer = p.c.Clock.AfterFunc(d, func() {
		defer p.passes.Done()
		p.Pass(p.ctx)
		p.schedule(p.c.Every)
	})
}

// Close stops the passes: the one under way ends at its next batch, and
// none starts after. It returns when no pass runs.
func (p *Purger) Close() {
	p.mu.Lock()
	p.closed = true
	if p.timer != nil && p.timer.Stop() {
		p.passes.Done() // its pass will never run
	}
	p.mu.Unlock()
	p.cancel()
	p.passes.Wait()
}

// Pass purges each history once, at the clock's now, and returns how many
// records of each it deleted. An error of one history is logged and does
// not stop the others.
func (p *Purger) Pass(ctx context.Context) map[intercom.History]int {
	now := p.c.Clock.Now()
	deleted := map[intercom.History]int{}
	for _, h := range intercom.Histories {
		before, ok := p.c.Ages.Cutoff(h.History, now)
		if !ok {
			continue
		}
		n, err := p.purge(ctx, h.History, before)
		deleted[h.History] = n
		switch {
		case errors.Is(err, context.Canceled):
			return deleted
		case err != nil:
			p.c.Logger.Warn("retention: purging failed; the next pass tries again", "history", string(h.History),
				"deleted", n, "error", err)
		case n > 0:
			p.c.Logger.Info("retention: purged", "history", string(h.History), "deleted", n,
				"before", before.UTC().Format(time.RFC3339))
		}
	}
	return deleted
}

// purge deletes h's records made before before, batch after batch, until
// a batch finds fewer than a full one or MaxBatches ran.
func (p *Purger) purge(ctx context.Context, h intercom.History, before time.Time) (int, error) {
	total := 0
	for range p.c.MaxBatches {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := p.c.Store.PurgeHistory(ctx, h, before, p.c.Batch)
		total += n
		if err != nil || n < p.c.Batch {
			return total, err
		}
		runtime.Gosched() // each batch committed: let the writes waiting go first
	}
	return total, nil
}
