// Package clocktest is an intercom.Clock that a test moves by hand: timers
// fire in order, synchronously, inside Advance. No test waits on real time.
package clocktest

import (
	"sync"
	"time"

	"intercom"
)

var _ intercom.Clock = (*Clock)(nil)

// Clock is a time source the test moves by hand.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	timers []*timer
}

type timer struct {
	c    *Clock
	at   time.Time
	f    func()
	done bool
}

// New returns a Clock reading t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// AfterFunc calls f inside the Advance that passes d from now.
func (c *Clock) AfterFunc(d time.Duration, f func()) intercom.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	ft := &timer{c: c, at: c.t.Add(d), f: f}
	c.timers = append(c.timers[:0:0], append(c.live(), ft)...)
	return ft
}

// live lists the timers not yet fired or stopped; c.mu is held.
func (c *Clock) live() []*timer {
	out := c.timers[:0:0]
	for _, t := range c.timers {
		if !t.done {
			out = append(out, t)
		}
	}
	return out
}

// Stop cancels the timer; it reports whether it was pending.
func (ft *timer) Stop() bool {
	ft.c.mu.Lock()
	defer ft.c.mu.Unlock()
	was := !ft.done
	ft.done = true
	return was
}

// Pending reports how many timers are set and not yet fired.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.live())
}

// Advance moves time forward by d, firing each timer that falls due, in
// order of their instants.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.t.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *timer
		for _, ft := range c.timers {
			if !ft.done && !ft.at.After(target) && (next == nil || ft.at.Before(next.at)) {
				next = ft
			}
		}
		if next == nil {
			c.t = target
			c.mu.Unlock()
			return
		}
		next.done = true
		if next.at.After(c.t) {
			c.t = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}
