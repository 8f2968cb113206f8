package calls_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"intercom"
	"intercom/calls"
	"intercom/clocktest"
	"intercom/local"
	"intercom/sqlite"
)

// heldScheduler fires deadlines when the test says; Close waits for a
// handler under way, as postgres.Scheduler's does.
type heldScheduler struct {
	fire   func(context.Context, intercom.Deadline)
	firing sync.WaitGroup
	closed chan struct{}
}

func (s *heldScheduler) Handle(f func(context.Context, intercom.Deadline)) { s.fire = f }
func (s *heldScheduler) Schedule(context.Context, intercom.Deadline) error { return nil }
func (s *heldScheduler) Cancel(context.Context, string, int64) error       { return nil }
func (s *heldScheduler) Close()                                            { close(s.closed); s.firing.Wait() }
func (s *heldScheduler) fireNow(d intercom.Deadline) {
	s.firing.Go(func() { s.fire(context.Background(), d) })
}

// heldStore holds UpdateCall until released.
type heldStore struct {
	intercom.Store
	entered, release chan struct{}
}

func (s *heldStore) UpdateCall(ctx context.Context, id int64, fn func(*intercom.Call) error) (intercom.Call, error) {
	close(s.entered)
	<-s.release
	return s.Store.UpdateCall(ctx, id, fn)
}

type controller struct {
	mu     sync.Mutex
	events []string
}

func (c *controller) Send(_ context.Context, _ intercom.Intercom, event string, _ map[string]any) intercom.ControlResult {
	c.mu.Lock()
	c.events = append(c.events, event)
	c.mu.Unlock()
	return intercom.ControlResult{OK: true, Status: 200}
}
func (c *controller) Redirects(context.Context, string) bool  { return false }
func (c *controller) CheckURL(context.Context, string) string { return "" }

// A deadline firing as the service closes carries out all its effects: the
// call it made missed is saved, and the intercom is told so.
func TestCloseCarriesOutTheDeadlineUnderWay(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "calls.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	u, err := db.CreateUser(ctx, intercom.User{Login: "alice", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://panel.invalid/control"
	ic, err := db.CreateIntercom(ctx, intercom.Intercom{Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 5, ControlURL: &url, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "t", Status: intercom.StatusConfirmed}, t0); err != nil {
		t.Fatal(err)
	}
	tok, err := db.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pub", Hash: []byte("h"), UserID: u.ID,
		DeviceUUID: "phone", Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.CreateCall(ctx, intercom.NewCall(ic.ID, nil, []intercom.CallDevice{{DeviceID: tok.DeviceID, UserID: u.ID, UUID: "phone",
		Client: "web", Channels: []string{intercom.ChannelWS}, Tokens: []string{tok.PublicID}}}, intercom.CallLines{}, t0))
	if err != nil {
		t.Fatal(err)
	}
	store := &heldStore{Store: db, entered: make(chan struct{}), release: make(chan struct{})}
	sched := &heldScheduler{closed: make(chan struct{})}
	ctl := &controller{}
	clock := clocktest.New(t0.Add(time.Minute))
	svc := calls.New(calls.Config{Store: store, Broadcaster: &bus{}, Presence: &bus{}, Scheduler: sched,
		Doors: local.NewLimiter(10, time.Minute, clock.Now), Controller: ctl, Clock: clock})

	sched.fireNow(intercom.Deadline{Kind: intercom.DeadlineRing, ID: c.ID, At: t0.Add(30 * time.Second)})
	<-store.entered
	closed := make(chan struct{})
	go func() { svc.Close(); close(closed) }()
	<-sched.closed // Close is waiting for the deadline under way
	close(store.release)
	<-closed
	if got, err := db.Call(ctx, c.ID); err != nil || got.Status != intercom.CallMissed {
		t.Fatalf("the call is %q (%v), want missed", got.Status, err)
	}
	ctl.mu.Lock()
	defer ctl.mu.Unlock()
	if len(ctl.events) != 1 || ctl.events[0] != intercom.ControlCallMissed {
		t.Fatalf("the intercom was told %q, want that the call was missed", ctl.events)
	}
}
