package push_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"intercom"
	"intercom/push"
	"intercom/sqlite"
)

// script is a provider that answers from a list, one result per attempt.
type script struct {
	mu      sync.Mutex
	results []intercom.PushResult
	calls   int
	block   chan struct{} // when set, Send waits for it (or ctx)
	started chan struct{} // when set, Send reports each start on it
	active  atomic.Int64
	peak    atomic.Int64
}

func (s *script) Channel() string { return intercom.ChannelFCM }

func (s *script) Send(ctx context.Context, m intercom.PushMessage) intercom.PushResult {
	n := s.active.Add(1)
	defer s.active.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if s.started != nil {
		s.started <- struct{}{}
	}
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return intercom.PushResult{Outcome: intercom.SendFailed, Reason: ctx.Err().Error(), Retry: true}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.results) == 0 {
		return intercom.PushResult{Outcome: intercom.SendSent, Status: 200}
	}
	r := s.results[0]
	s.results = s.results[1:]
	return r
}

// clock is moved by the dispatcher's sleeps.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return nil
}

type world struct {
	store    *sqlite.DB
	clock    *clock
	callID   int64
	deviceID int64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "push.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	u, _ := db.CreateUser(ctx, intercom.User{Login: "u", PasswordHash: "h", CreatedAt: now, UpdatedAt: now})
	_, tok := intercom.NewAccessToken(u.ID, "phone", "android", now, time.Hour)
	tok, err = db.CreateAccessToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	fcm := "fcm-token"
	pf := &fcm
	if err := db.UpdatePushTokens(ctx, tok.DeviceID, intercom.PushTokensUpdate{FCM: &pf}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: 1, Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 7, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	c, err := db.CreateCall(ctx, intercom.NewCall(1, nil, []intercom.CallDevice{{DeviceID: tok.DeviceID, UserID: u.ID, UUID: "phone",
		Client: "android", Channels: []string{intercom.ChannelFCM}}}, intercom.CallLines{}, now))
	if err != nil {
		t.Fatal(err)
	}
	return &world{store: db, clock: &clock{t: now}, callID: c.ID, deviceID: tok.DeviceID}
}

func (w *world) dispatcher(p intercom.PushProvider, concurrency int) *push.Dispatcher {
	return push.New(push.Config{Store: w.store, Providers: []intercom.PushProvider{p}, Concurrency: concurrency,
		Now: w.clock.Now, Sleep: w.clock.Sleep, Jitter: func() float64 { return 0.5 }})
}

func (w *world) send(t *testing.T, d *push.Dispatcher, ttl time.Duration) intercom.CallSend {
	t.Helper()
	d.Send(intercom.ChannelFCM, intercom.PushMessage{CallID: w.callID, DeviceID: w.deviceID, Token: "fcm-token", Type: "intercom_ring",
		Expires: w.clock.Now().Add(ttl)})
	d.Wait()
	sends, err := w.store.CallSends(t.Context(), w.callID)
	if err != nil || len(sends) != 1 {
		t.Fatalf("sends %+v, %v", sends, err)
	}
	return sends[0]
}

func TestSent(t *testing.T) {
	w := newWorld(t)
	s := w.send(t, w.dispatcher(&script{}, 4), 30*time.Second)
	if s.Outcome != intercom.SendSent || s.Attempts != 1 || s.Status != 200 || s.Channel != "fcm" {
		t.Errorf("send %+v", s)
	}
}

func TestRetriesWithBackoffAndRetryAfter(t *testing.T) {
	w := newWorld(t)
	p := &script{results: []intercom.PushResult{
		{Outcome: intercom.SendFailed, Status: 503, Retry: true},
		{Outcome: intercom.SendFailed, Status: 429, Retry: true, RetryAfter: 3 * time.Second},
		{Outcome: intercom.SendSent, Status: 200},
	}}
	s := w.send(t, w.dispatcher(p, 4), 30*time.Second)
	if s.Outcome != intercom.SendSent || s.Attempts != 3 {
		t.Fatalf("send %+v", s)
	}
	// Half of 100 ms after the first failure (jitter 0.5), then Retry-After's 3 s over half of 200 ms.
	if len(w.clock.sleeps) != 2 || w.clock.sleeps[0] != 50*time.Millisecond || w.clock.sleeps[1] != 3*time.Second {
		t.Errorf("sleeps %v", w.clock.sleeps)
	}
}

func TestRetryAfterBeyondTheRingTimeout(t *testing.T) {
	w := newWorld(t)
	p := &script{results: []intercom.PushResult{{Outcome: intercom.SendFailed, Status: 429, Retry: true, RetryAfter: time.Minute}}}
	s := w.send(t, w.dispatcher(p, 4), 30*time.Second)
	if s.Outcome != intercom.SendTimedOut || s.Attempts != 1 || s.Status != 429 || len(w.clock.sleeps) != 0 {
		t.Errorf("send %+v, sleeps %v", s, w.clock.sleeps)
	}
}

func TestRetriesRunOut(t *testing.T) {
	w := newWorld(t)
	var results []intercom.PushResult
	for i := 0; i < 20; i++ {
		results = append(results, intercom.PushResult{Outcome: intercom.SendFailed, Status: 500, Retry: true})
	}
	s := w.send(t, w.dispatcher(&script{results: results}, 4), time.Hour)
	if s.Outcome != intercom.SendFailed || s.Attempts != 8 {
		t.Errorf("send %+v", s)
	}
}

func TestDeadTokenIsCleared(t *testing.T) {
	w := newWorld(t)
	p := &script{results: []intercom.PushResult{{Outcome: intercom.SendDeadToken, Status: 404, Reason: "UNREGISTERED"}}}
	s := w.send(t, w.dispatcher(p, 4), 30*time.Second)
	if s.Outcome != intercom.SendDeadToken || s.Reason != "UNREGISTERED" {
		t.Errorf("send %+v", s)
	}
	if d, _ := w.store.Device(t.Context(), w.deviceID); d.FCMToken != nil {
		t.Errorf("dead token kept: %v", *d.FCMToken)
	}
}

func TestCredentialErrorClearsNothing(t *testing.T) {
	w := newWorld(t)
	p := &script{results: []intercom.PushResult{{Outcome: intercom.SendCredentials, Status: 401}}}
	if s := w.send(t, w.dispatcher(p, 4), 30*time.Second); s.Outcome != intercom.SendCredentials || s.Attempts != 1 {
		t.Errorf("send %+v", s)
	}
	if d, _ := w.store.Device(t.Context(), w.deviceID); d.FCMToken == nil {
		t.Error("a credential error cleared the token")
	}
}

// A provider that hangs: the send gives up by the ring timeout.
func TestHangingProvider(t *testing.T) {
	w := newWorld(t)
	p := &script{block: make(chan struct{})} // never released
	start := time.Now()
	s := w.send(t, w.dispatcher(p, 4), 200*time.Millisecond)
	if s.Outcome != intercom.SendTimedOut {
		t.Errorf("send %+v", s)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("gave up after %v", took)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	w := newWorld(t)
	p := &script{block: make(chan struct{}), started: make(chan struct{}, 10)}
	d := w.dispatcher(p, 3)
	for i := 0; i < 10; i++ {
		d.Send(intercom.ChannelFCM, intercom.PushMessage{CallID: w.callID, DeviceID: w.deviceID, Token: "fcm-token",
			Expires: w.clock.Now().Add(time.Minute)})
	}
	for i := 0; i < 3; i++ {
		<-p.started
	}
	close(p.block)
	d.Wait()
	if p.peak.Load() != 3 || p.calls != 10 {
		t.Errorf("peak %d concurrent sends of %d, want 3 of 10", p.peak.Load(), p.calls)
	}
}

func TestUnknownChannelIsIgnored(t *testing.T) {
	w := newWorld(t)
	d := w.dispatcher(&script{}, 1)
	if d.Has(intercom.ChannelAPNsVoIP) || !d.Has(intercom.ChannelFCM) {
		t.Fatal("Has is wrong")
	}
	var none *push.Dispatcher
	if none.Has(intercom.ChannelFCM) {
		t.Fatal("a nil dispatcher has a channel")
	}
	d.Send(intercom.ChannelAPNsVoIP, intercom.PushMessage{CallID: w.callID})
	d.Wait()
	if sends, _ := w.store.CallSends(t.Context(), w.callID); len(sends) != 0 {
		t.Errorf("sends %v", sends)
	}
}

// A provider that hangs holds each attempt for AttemptTimeout at most, not
// for the message's whole life: a missed-call notification lives a day, and
// its sends give up after their attempts, recorded with their type.
func TestAttemptTimeoutBoundsEachAttempt(t *testing.T) {
	w := newWorld(t)
	p := &script{block: make(chan struct{})} // never released
	d := push.New(push.Config{Store: w.store, Providers: []intercom.PushProvider{p}, MaxAttempts: 3,
		AttemptTimeout: 20 * time.Millisecond, Now: w.clock.Now, Sleep: w.clock.Sleep, Jitter: func() float64 { return 0.5 }})
	start := time.Now()
	d.Send(intercom.ChannelFCM, intercom.PushMessage{CallID: w.callID, DeviceID: w.deviceID, Token: "fcm-token",
		Type: intercom.PushMissed, Expires: w.clock.Now().Add(24 * time.Hour)})
	d.Wait()
	took := time.Since(start)
	sends, err := w.store.CallSends(t.Context(), w.callID)
	if err != nil || len(sends) != 1 {
		t.Fatalf("sends %+v, %v", sends, err)
	}
	if s := sends[0]; s.Outcome != intercom.SendFailed || s.Attempts != 3 || s.Type != intercom.PushMissed {
		t.Errorf("send %+v, want failed after 3 attempts, type call.missed", s)
	}
	if took > 5*time.Second {
		t.Errorf("three attempts of 20 ms took %v", took)
	}
}

// A ring whose call stopped ringing is not sent: not when its turn comes,
// and not on a retry after its call ended (it would reach the phone after
// its cancel). It is recorded obsolete.
func TestObsoleteRingIsNotSent(t *testing.T) {
	for _, tt := range []struct {
		name         string
		overAfter    int // attempts made before the call's ring ends
		wantAttempts int
		wantCalls    int
	}{
		{"over before its turn", 0, 0, 0},
		{"over between retries", 1, 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			p := &script{results: []intercom.PushResult{{Outcome: intercom.SendFailed, Status: 503, Retry: true}}}
			d := push.New(push.Config{Store: w.store, Providers: []intercom.PushProvider{p}, Now: w.clock.Now, Sleep: w.clock.Sleep,
				Jitter: func() float64 { return 0.5 },
				Obsolete: func(m intercom.PushMessage) bool {
					p.mu.Lock()
					defer p.mu.Unlock()
					return m.Type == intercom.PushRing && p.calls >= tt.overAfter
				}})
			s := w.send(t, d, 30*time.Second)
			if s.Outcome != intercom.SendObsolete || s.Attempts != tt.wantAttempts || p.calls != tt.wantCalls {
				t.Errorf("send %+v after %d provider calls; want obsolete after %d", s, p.calls, tt.wantCalls)
			}
		})
	}
}
