// Package push delivers pushes about calls to sleeping phones — rings, the
// ends of rings, missed-call notifications — through the push providers
// (intercom.PushProvider: APNs, FCM, Push Kit): off the request path, with
// bounded concurrency per provider, retries with backoff and jitter that
// honour Retry-After, each attempt bounded, all inside the push's useful
// life (PushMessage.Expires). Every send's outcome is stored with the call,
// per type, with the provider's id of it; a token the provider calls dead
// is cleared.
package push

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"intercom"
)

// DefaultConcurrency is how many sends are in flight per provider unless
// told otherwise.
const DefaultConcurrency = 64

// Config is what a Dispatcher needs. Zero fields take defaults.
type Config struct {
	Store       intercom.Calls // where the outcomes of sends are recorded
	Providers   []intercom.PushProvider
	Concurrency int // sends in flight per provider; default DefaultConcurrency
	MaxAttempts int // per send; default 8
	// AttemptTimeout bounds one attempt (a provider that hangs); default
	// 10 s, and never past the message's useful life.
	AttemptTimeout time.Duration
	Logger         *slog.Logger
	Now            func() time.Time
	// Sleep waits d or until ctx ends; tests pass one that moves their clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); default math/rand/v2.
	Jitter func() float64
	// Obsolete, when set, reports whether m is no longer worth sending (a
	// ring whose call stopped ringing meanwhile, calls.Service.RingOver); it
	// is asked before each attempt, so a ring waiting in its lane or between
	// retries is not sent after its call's end, and after its cancel.
	Obsolete func(m intercom.PushMessage) bool
	// Observe counts a finished send, for metrics.
	Observe func(channel, typ, outcome string)
}

// Dispatcher sends pushes.
type Dispatcher struct {
	c      Config
	lanes  map[string]*lane // per channel
	provs  map[string]intercom.PushProvider
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool // set by Close: sends are refused
}

// lane queues a provider's sends for at most Concurrency workers, which
// exist only while there is something to send: a ring to a thousand devices
// costs a queue of a thousand messages, not a thousand goroutines each with
// its timer.
type lane struct {
	mu      sync.Mutex
	queue   []intercom.PushMessage
	head    int // queue[head:] waits
	workers int
}

// push queues m and reports whether a worker should be started for it.
func (l *lane) push(m intercom.PushMessage, most int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queue = append(l.queue, m)
	if l.workers < most {
		l.workers++
		return true
	}
	return false
}

// pop takes the next message; false when there is none, and then the worker
// that asked is gone.
func (l *lane) pop() (intercom.PushMessage, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head == len(l.queue) {
		l.queue, l.head = l.queue[:0], 0
		l.workers--
		return intercom.PushMessage{}, false
	}
	m := l.queue[l.head]
	l.queue[l.head] = intercom.PushMessage{} // let its data go
	l.head++
	return m, true
}

// New returns a Dispatcher for the providers.
func New(c Config) *Dispatcher {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = 10 * time.Second
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
		c.Observe = func(string, string, string) {}
	}
	d := &Dispatcher{c: c, lanes: map[string]*lane{}, provs: map[string]intercom.PushProvider{}}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for _, p := range c.Providers {
		d.provs[p.Channel()] = p
		d.lanes[p.Channel()] = &lane{}
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
	if l := d.lanes[channel]; l.push(m, d.c.Concurrency) {
		go d.work(channel, p, l)
	}
}

// work sends what the lane queues until it is empty.
func (d *Dispatcher) work(channel string, p intercom.PushProvider, l *lane) {
	for {
		m, ok := l.pop()
		if !ok {
			return
		}
		d.deliver(channel, p, m)
		d.wg.Done()
	}
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
	rec := intercom.CallSend{CallID: m.CallID, DeviceID: m.DeviceID, Channel: channel, Type: m.Type, Outcome: intercom.SendTimedOut}
	rec.Type = rec.PushType()
	if m.ID == "" && (channel == intercom.ChannelAPNsVoIP || channel == intercom.ChannelAPNsAlert) {
		m.ID = uuid.NewString() // the apns-id, the same for each attempt and found in the record
	}
	remaining := func() time.Duration { return m.Expires.Sub(d.c.Now()) }
	// Its turn in the provider's lane came after its useful life, or after Close.
	if remaining() <= 0 || d.ctx.Err() != nil {
		rec.Reason = "no free place to send before it expired"
	} else {
		d.attempt(p, m, &rec, remaining)
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
	d.c.Observe(channel, rec.Type, rec.Outcome)
}

// attempt tries until the provider answers for good, the attempts run out
// or the ring timeout would pass.
func (d *Dispatcher) attempt(p intercom.PushProvider, m intercom.PushMessage, rec *intercom.CallSend, remaining func() time.Duration) {
	for rec.Attempts < d.c.MaxAttempts {
		if d.c.Obsolete != nil && d.c.Obsolete(m) {
			rec.Outcome, rec.Reason = intercom.SendObsolete, "the call stopped ringing before it could be sent"
			return
		}
		left := remaining()
		if left <= 0 || d.ctx.Err() != nil {
			rec.Outcome = intercom.SendTimedOut
			return
		}
		ctx, cancel := context.WithTimeout(d.ctx, min(left, d.c.AttemptTimeout))
		m.TTL = left
		res := p.Send(ctx, m)
		cancel()
		rec.Attempts++
		rec.Outcome, rec.Status, rec.Reason, rec.ProviderID = res.Outcome, res.Status, res.Reason, res.ID
		if rec.ProviderID == "" {
			rec.ProviderID = m.ID
		}
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
