package calls_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"intercom"
	"intercom/calls"
	"intercom/clocktest"
	"intercom/local"
	"intercom/sqlite"
)

var t0 = time.Date(2022, 4, 20, 12, 0, 0, 0, time.UTC)

// bus records what the lifecycle publishes; everyone listens.
type bus struct {
	mu     sync.Mutex
	events []string
}

func (b *bus) Publish(channel, event string, data []byte, except string) {
	var v struct {
		Type     string `json:"type"`
		ID       int64  `json:"intercom_id"`
		IsOnline bool   `json:"is_online"`
	}
	json.Unmarshal(data, &v)
	b.mu.Lock()
	b.events = append(b.events, fmt.Sprintf("%s %s %d %v", channel, v.Type, v.ID, v.IsOnline))
	b.mu.Unlock()
}

func (b *bus) Subscribed(string) bool { return true }

func (b *bus) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.events
	b.events = nil
	slices.Sort(out)
	return out
}

// countingStore counts the transactions that record heartbeats; while down,
// the writes a deadline makes fail as with the database unreachable.
type countingStore struct {
	intercom.Store
	mu     sync.Mutex
	writes int
	down   atomic.Bool
}

var errDown = &intercom.Error{Code: intercom.EUNAVAILABLE, Message: "the database is down"}

func (s *countingStore) UpdateCall(ctx context.Context, id int64, fn func(*intercom.Call) error) (intercom.Call, error) {
	if s.down.Load() {
		return intercom.Call{}, errDown
	}
	return s.Store.UpdateCall(ctx, id, fn)
}

func (s *countingStore) SweepOffline(ctx context.Context, lastBefore time.Time) ([]int64, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.SweepOffline(ctx, lastBefore)
}

func (s *countingStore) OldestOnline(ctx context.Context) (*time.Time, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.OldestOnline(ctx)
}

func (s *countingStore) RecordHeartbeats(ctx context.Context, beats map[int64]time.Time) ([]int64, error) {
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
	return s.Store.RecordHeartbeats(ctx, beats)
}

func (s *countingStore) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.writes }

type world struct {
	svc   *calls.Service
	store *countingStore
	clock *clocktest.Clock
	bus   *bus
	ics   []intercom.Intercom
}

func newWorld(t *testing.T, batch time.Duration) *world {
	t.Helper()
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
	w := &world{store: &countingStore{Store: db}, clock: clocktest.New(t0), bus: &bus{}}
	for i := range 3 {
		ic, err := db.CreateIntercom(ctx, intercom.Intercom{Address: "a", SecretHash: []byte{byte(i)}, DoorOpenSeconds: 5, CreatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "t", Status: intercom.StatusConfirmed}, t0); err != nil {
			t.Fatal(err)
		}
		w.ics = append(w.ics, ic)
	}
	w.svc = calls.New(calls.Config{Store: w.store, Broadcaster: w.bus, Presence: w.bus, Scheduler: local.NewScheduler(w.clock),
		Doors: local.NewLimiter(10, time.Minute, w.clock.Now), Clock: w.clock, OfflineAfter: 90 * time.Second, HeartbeatBatch: batch})
	t.Cleanup(w.svc.Close)
	return w
}

func (w *world) beat(t *testing.T, ics ...intercom.Intercom) {
	t.Helper()
	for _, ic := range ics {
		if err := w.svc.Heartbeat(t.Context(), ic); err != nil {
			t.Fatal(err)
		}
	}
}

func status(ics []intercom.Intercom, online bool) []string {
	var out []string
	for _, ic := range ics {
		out = append(out, fmt.Sprintf("private-user.1 intercom.status %d %v", ic.ID, online))
	}
	slices.Sort(out)
	return out
}

func TestHeartbeatsAreBatched(t *testing.T) {
	w := newWorld(t, time.Second)
	w.beat(t, w.ics...)
	w.beat(t, w.ics[0]) // a second beat of one intercom in the same batch
	if n := w.store.count(); n != 0 {
		t.Fatalf("%d writes before the batch closed", n)
	}
	w.clock.Advance(time.Second)
	if n := w.store.count(); n != 1 {
		t.Fatalf("%d writes for one batch of 4 heartbeats, want 1", n)
	}
	if got, want := w.bus.take(), status(w.ics, true); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	// The first keeps beating; the others go silent and go offline once,
	// offline-after past their last heartbeat (give or take the batch).
	for range 10 {
		w.clock.Advance(20 * time.Second)
		w.beat(t, w.ics[0])
	}
	if got, want := w.bus.take(), status(w.ics[1:], false); !slices.Equal(got, want) {
		t.Fatalf("after 200 s: events %q, want %q", got, want)
	}
	if n := w.store.count(); n != 10 {
		t.Fatalf("%d writes for 10 closed batches (the 11th is open)", n)
	}
	w.clock.Advance(time.Hour)
	if got, want := w.bus.take(), status(w.ics[:1], false); !slices.Equal(got, want) {
		t.Fatalf("after an hour: events %q, want %q", got, want)
	}
}

func TestOfflineIsExactWithoutBatching(t *testing.T) {
	w := newWorld(t, 0)
	w.beat(t, w.ics[0])
	if n := w.store.count(); n != 1 {
		t.Fatalf("%d writes, want the heartbeat written at once", n)
	}
	if got, want := w.bus.take(), status(w.ics[:1], true); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	w.clock.Advance(90*time.Second - time.Nanosecond)
	if got := w.bus.take(); len(got) != 0 {
		t.Fatalf("offline before offline-after passed: %q", got)
	}
	w.clock.Advance(time.Nanosecond)
	if got, want := w.bus.take(), status(w.ics[:1], false); !slices.Equal(got, want) {
		t.Fatalf("at offline-after: events %q, want %q", got, want)
	}
}

func TestCloseWritesTheBatchUnderWay(t *testing.T) {
	w := newWorld(t, time.Second)
	w.beat(t, w.ics[2])
	w.svc.Close()
	if last, err := w.store.LastHeartbeat(t.Context(), w.ics[2].ID); err != nil || last == nil || !last.Equal(t0) {
		t.Fatalf("after Close, last heartbeat %v, %v", last, err)
	}
}
