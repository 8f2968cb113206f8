package http

import (
	"sync"
	"time"
)

// Throttle counts failures per key in a sliding window and blocks a key that
// reached Max failures until the oldest of them leaves the window. It keeps
// at most maxKeys keys, forgetting those with no failure in the window first.
type Throttle struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string][]time.Time // failure times, oldest first, at most max
}

const maxThrottleKeys = 100_000

// NewThrottle returns a Throttle allowing max failures per window.
func NewThrottle(max int, window time.Duration, now func() time.Time) *Throttle {
	return &Throttle{max: max, window: window, now: now, entries: map[string][]time.Time{}}
}

// Blocked reports whether any of keys is blocked, and for how long the
// longest-blocked one still is.
func (t *Throttle) Blocked(keys ...string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range keys {
		fails := t.live(k, now)
		if len(fails) >= t.max {
			wait = max(wait, fails[0].Add(t.window).Sub(now))
		}
	}
	return wait, wait > 0
}

// Take counts an attempt against each of keys unless one of them is blocked,
// in one step: parallel attempts cannot all pass the check before any is
// counted. Blocked, it counts nothing and returns how long the wait is. The
// attempt is counted at the returned instant, for Refund.
func (t *Throttle) Take(keys ...string) (at time.Time, wait time.Duration, blocked bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys {
		if fails := t.live(k, now); len(fails) >= t.max {
			wait = max(wait, fails[0].Add(t.window).Sub(now))
		}
	}
	if wait > 0 {
		return now, wait, true
	}
	t.failLocked(now, keys)
	return now, 0, false
}

// Refund takes back an attempt Take counted at instant at against each of
// keys: one that turned out not to be a failure.
func (t *Throttle) Refund(at time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		fails := t.entries[k]
		for i := len(fails) - 1; i >= 0; i-- {
			if fails[i].Equal(at) {
				fails = append(fails[:i:i], fails[i+1:]...)
				break
			}
		}
		if len(fails) == 0 {
			delete(t.entries, k)
		} else {
			t.entries[k] = fails
		}
	}
}

// Fail records a failure against each of keys.
func (t *Throttle) Fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failLocked(t.now(), keys)
}

func (t *Throttle) failLocked(now time.Time, keys []string) {
	if len(t.entries) >= maxThrottleKeys {
		t.sweep(now)
	}
	for _, k := range keys {
		fails := append(t.live(k, now), now)
		if len(fails) > t.max {
			fails = fails[len(fails)-t.max:]
		}
		t.entries[k] = fails
	}
}

// Reset forgets the failures of key.
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	delete(t.entries, key)
	t.mu.Unlock()
}

// live returns the failures of k still in the window, pruning the rest.
func (t *Throttle) live(k string, now time.Time) []time.Time {
	fails := t.entries[k]
	i := 0
	for i < len(fails) && !fails[i].Add(t.window).After(now) {
		i++
	}
	if i == len(fails) {
		delete(t.entries, k)
		return nil
	}
	return fails[i:]
}

// sweep forgets keys with no failure in the window; if that is not enough,
// it forgets arbitrary keys until there is room.
func (t *Throttle) sweep(now time.Time) {
	for k := range t.entries {
		t.live(k, now)
	}
	for k := range t.entries {
		if len(t.entries) < maxThrottleKeys {
			break
		}
		delete(t.entries, k)
	}
}
