// Package local holds the single-process implementations of intercomd's
// cluster seams: a Scheduler on the process's clock and a Limiter in its
// memory. They are exact while one process serves the database; several
// nodes use the cluster implementations instead.
package local

import (
	"context"
	"sync"
	"time"

	"intercom"
)

var (
	_ intercom.Scheduler = (*Scheduler)(nil)
	_ intercom.Limiter   = (*Limiter)(nil)
)

type deadlineKey struct {
	kind string
	id   int64
}

// Scheduler fires deadlines on timers of one clock. Pending deadlines die
// with the process; the lifecycle sets them again from the database on start
// (calls.Service.Resume).
type Scheduler struct {
	clock intercom.Clock

	mu     sync.Mutex
	fire   func(context.Context, intercom.Deadline)
	timers map[deadlineKey]intercom.Timer
	closed bool
	firing sync.WaitGroup // deadlines whose handler runs; Close waits for them
}

// NewScheduler returns a Scheduler on clock.
func NewScheduler(clock intercom.Clock) *Scheduler {
	return &Scheduler{clock: clock, timers: map[deadlineKey]intercom.Timer{}}
}

// Handle sets the function deadlines fire into.
func (s *Scheduler) Handle(fire func(context.Context, intercom.Deadline)) {
	s.mu.Lock()
	s.fire = fire
	s.mu.Unlock()
}

// Schedule sets d, replacing a pending deadline of the same kind and id.
func (s *Scheduler) Schedule(_ context.Context, d intercom.Deadline) error {
	k := deadlineKey{d.Kind, d.ID}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if t, ok := s.timers[k]; ok {
		t.Stop()
	}
	var t intercom.Timer
	t = s.clock.AfterFunc(max(0, d.At.Sub(s.clock.Now())), func() {
		s.mu.Lock()
		if s.timers[k] != t || s.closed {
			s.mu.Unlock()
			return // replaced or cancelled as it fired
		}
		delete(s.timers, k)
		fire := s.fire
		s.firing.Add(1) // under mu and not closed: Close's Wait comes after
		s.mu.Unlock()
		defer s.firing.Done()
		fire(context.Background(), d)
	})
	s.timers[k] = t
	return nil
}

// Cancel drops the pending deadline of kind and id.
func (s *Scheduler) Cancel(_ context.Context, kind string, id int64) error {
	k := deadlineKey{kind, id}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.timers[k]; ok {
		t.Stop()
		delete(s.timers, k)
	}
	return nil
}

// Pending reports how many deadlines are set.
func (s *Scheduler) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.timers)
}

// Close stops every timer and waits for the handlers already running;
// nothing fires afterwards.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.closed = true
	for _, t := range s.timers {
		t.Stop()
	}
	clear(s.timers)
	s.mu.Unlock()
	s.firing.Wait()
}

// Limiter counts attempts per key in a sliding window and refuses a key that
// reached Max attempts until the oldest of them leaves the window. It keeps
// at most maxKeys keys, forgetting those with no attempt in the window first.
type Limiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string][]time.Time // attempt times, oldest first, at most max
}

const maxKeys = 100_000

// NewLimiter returns a Limiter allowing max attempts per window.
func NewLimiter(max int, window time.Duration, now func() time.Time) *Limiter {
	return &Limiter{max: max, window: window, now: now, entries: map[string][]time.Time{}}
}

// Attempt counts an attempt against every key unless one of them is at its
// limit; then it counts nothing and says how long the longest-blocked key
// still is.
func (l *Limiter) Attempt(_ context.Context, keys ...string) (time.Time, time.Duration, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		if hits := l.live(k, now); len(hits) >= l.max {
			wait = max(wait, hits[0].Add(l.window).Sub(now))
		}
	}
	if wait > 0 {
		return now, wait, false, nil
	}
	if len(l.entries) >= maxKeys {
		l.sweep(now)
	}
	for _, k := range keys {
		l.entries[k] = append(l.live(k, now), now)
	}
	return now, 0, true, nil
}

// Refund takes back an attempt counted at instant at against each of keys.
func (l *Limiter) Refund(_ context.Context, at time.Time, keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		hits := l.entries[k]
		for i := len(hits) - 1; i >= 0; i-- {
			if hits[i].Equal(at) {
				hits = append(hits[:i:i], hits[i+1:]...)
				break
			}
		}
		if len(hits) == 0 {
			delete(l.entries, k)
		} else {
			l.entries[k] = hits
		}
	}
	return nil
}

// Reset forgets the attempts of key.
func (l *Limiter) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	delete(l.entries, key)
	l.mu.Unlock()
	return nil
}

// live returns the attempts of k still in the window, pruning the rest.
func (l *Limiter) live(k string, now time.Time) []time.Time {
	hits := l.entries[k]
	i := 0
	for i < len(hits) && !hits[i].Add(l.window).After(now) {
		i++
	}
	if i == len(hits) {
		delete(l.entries, k)
		return nil
	}
	return hits[i:]
}

// sweep forgets keys with no attempt in the window; if that is not enough,
// it forgets arbitrary keys until there is room.
func (l *Limiter) sweep(now time.Time) {
	for k := range l.entries {
		l.live(k, now)
	}
	for k := range l.entries {
		if len(l.entries) < maxKeys {
			break
		}
		delete(l.entries, k)
	}
}
