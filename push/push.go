// Package push delivers rings to sleeping phones through the push providers
// (intercom.PushProvider: APNs, FCM): off the request path, with bounded
// concurrency per provider, retries with backoff and jitter that honour
// Retry-After, all inside the ring timeout. Every send's outcome is stored
// with the call; a token the provider calls dead is cleared.
package push

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"intercom"
)

// Config is what a Dispatcher needs. Zero fields take defaults.
type Config struct {
	Store       intercom.Store
	Providers   []intercom.PushProvider
	Concurrency int // sends in flight per provider; default 64
	MaxAttempts int // per send; default 8
	Logger      *slog.Logger
	Now         func() time.Time
	// Sleep waits d or until ctx ends; tests pass one that moves their clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); default math/rand/v2.
	Jitter func() float64
	// Observe counts a finished send, for metrics.
	Observe func(channel, outcome string)
}

// Dispatcher sends pushes.
type Dispatcher struct {
	c      Config
	lanes  map[string]chan struct{} // per channel: a semaphore
	provs  map[string]intercom.PushProvider
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool // set by Close: sends are refused
}

// New returns a Dispatcher for the providers.
func New(c Config) *Dispatcher {
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
	if c.Observe == nil {
		c.Observe = func(string, string) {}
	}
	d := &Dispatcher{c: c, lanes: map[string]chan struct{}{}, provs: map[string]intercom.PushProvider{}}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for _, p := range c.Providers {
		d.provs[p.Channel()] = p
		d.lanes[p.Channel()] = make(chan struct{}, c.Concurrency)
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Has reports whether a provider serves channel. A nil Dispatcher has none.
func (d *Dispatcher) Has(channel string) bool {
	if d == nil {
		return false
	}
	_, ok := d.provs[channel]
	return ok
}

// Send delivers m through the provider of channel, in the background.
func (d *Dispatcher) Send(channel string, m intercom.PushMessage) {
	p, ok := d.provs[channel]
	if !ok {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.deliver(channel, p, m)
	}()
}

// Close abandons the sends under way and waits for them to stop.
func (d *Dispatcher) Close() {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

// Wait blocks until the sends under way are done.
func (d *Dispatcher) Wait() {
	if d != nil {
		d.wg.Wait()
	}
}

const (
	baseBackoff = 100 * time.Millisecond
	maxBackoff  = 5 * time.Second
)

// backoff is "full jitter" exponential backoff for the attempt that failed.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := min(maxBackoff, baseBackoff<<min(attempt-1, 10))
	return time.Duration(float64(b) * d.c.Jitter())
}

func (d *Dispatcher) deliver(channel string, p intercom.PushProvider, m intercom.PushMessage) {
	rec := intercom.CallSend{CallID: m.CallID, DeviceID: m.DeviceID, Channel: channel, Outcome: intercom.SendTimedOut}
	remaining := func() time.Duration { return m.Expires.Sub(d.c.Now()) }
	// A place in the provider's lane, while the ring lasts.
	wait, cancel := context.WithTimeout(d.ctx, max(0, remaining()))
	select {
	case d.lanes[channel] <- struct{}{}:
		cancel()
		defer func() { <-d.lanes[channel] }()
		d.attempt(p, m, &rec, remaining)
	case <-wait.Done():
		cancel()
		rec.Reason = "no free place to send before the ring timeout"
	}
	rec.At = d.c.Now()
	ctx := context.WithoutCancel(d.ctx)
	if err := d.c.Store.RecordSend(ctx, rec); err != nil {
		d.c.Logger.Error("push: recording a send", "call_id", m.CallID, "device_id", m.DeviceID, "error", err)
	}
	switch rec.Outcome {
	case intercom.SendDeadToken:
		if err := d.c.Store.ClearPushToken(ctx, m.DeviceID, channel, m.Token); err != nil {
			d.c.Logger.Error("push: clearing a dead token", "device_id", m.DeviceID, "error", err)
		}
	case intercom.SendCredentials:
		d.c.Logger.Error("push: the provider refused intercomd's credentials; no call reaches this channel until they are fixed",
			"channel", channel, "status", rec.Status, "reason", rec.Reason)
	}
	d.c.Observe(channel, rec.Outcome)
}

// attempt tries until the provider answers for good, the attempts run out
// or the ring timeout would pass.
func (d *Dispatcher) attempt(p intercom.PushProvider, m intercom.PushMessage, rec *intercom.CallSend, remaining func() time.Duration) {
	for rec.Attempts < d.c.MaxAttempts {
		left := remaining()
		if left <= 0 || d.ctx.Err() != nil {
			rec.Outcome = intercom.SendTimedOut
			return
		}
		ctx, cancel := context.WithTimeout(d.ctx, left)
		m.TTL = left
		res := p.Send(ctx, m)
		cancel()
		rec.Attempts++
		rec.Outcome, rec.Status, rec.Reason = res.Outcome, res.Status, res.Reason
		if !res.Retry {
			return
		}
		pause := max(d.backoff(rec.Attempts), res.RetryAfter)
		if pause >= remaining() {
			rec.Outcome = intercom.SendTimedOut
			return
		}
		if d.c.Sleep(d.ctx, pause) != nil {
			rec.Outcome = intercom.SendTimedOut
			return
		}
	}
	if rec.Outcome != intercom.SendSent {
		rec.Outcome = intercom.SendFailed
	}
}
