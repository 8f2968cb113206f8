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
		Reason   string `json:"reason"`
	}
	json.Unmarshal(data, &v)
	b.mu.Lock()
	if v.Type == "intercom_cancel" {
		b.events = append(b.events, fmt.Sprintf("%s %s %s", channel, v.Type, v.Reason))
	} else {
		b.events = append(b.events, fmt.Sprintf("%s %s %d %v", channel, v.Type, v.ID, v.IsOnline))
	}
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
// those and the writes a deadline makes fail as with the database
// unreachable.
type countingStore struct {
	intercom.Store
	mu     sync.Mutex
	writes int
	down   atomic.Bool
	looks  atomic.Int64 // CallStatus calls
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
	if s.down.Load() {
		return nil, errDown
	}
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
	return s.Store.RecordHeartbeats(ctx, beats)
}

func (s *countingStore) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.writes }

// CallStatus counts the looks at a call's status.
func (s *countingStore) CallStatus(ctx context.Context, id int64) (string, error) {
	s.looks.Add(1)
	return s.Store.CallStatus(ctx, id)
}

type world struct {
	svc   *calls.Service
	store *countingStore
	clock *clocktest.Clock
	bus   *bus
	ics   []intercom.Intercom
	// online and offline count the changes StatusChanged observed.
	online, offline atomic.Int64
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
		if _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "t", Status: intercom.StatusConfirmed}, t0); err != nil {
			t.Fatal(err)
		}
		w.ics = append(w.ics, ic)
	}
	w.svc = calls.New(calls.Config{Store: w.store, Broadcaster: w.bus, Presence: w.bus, Scheduler: local.NewScheduler(w.clock),
		Doors: local.NewLimiter(10, time.Minute, w.clock.Now), Clock: w.clock, OfflineAfter: 90 * time.Second, HeartbeatBatch: batch,
		StatusChanged: func(online bool) {
			if online {
				w.online.Add(1)
			} else {
				w.offline.Add(1)
			}
		}})
	t.Cleanup(w.svc.Close)
	return w
}

// beat sends a heartbeat of each intercom as the HTTP handler does: with the
// intercom as the store holds it now.
func (w *world) beat(t *testing.T, ics ...intercom.Intercom) {
	t.Helper()
	for _, ic := range ics {
		if err := w.svc.Heartbeat(t.Context(), w.load(t, ic)); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *world) load(t *testing.T, ic intercom.Intercom) intercom.Intercom {
	t.Helper()
	ic, err := w.store.IntercomByID(t.Context(), ic.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ic
}

// lastBeat is the intercom's last heartbeat as the store holds it.
func (w *world) lastBeat(t *testing.T, ic intercom.Intercom) time.Time {
	t.Helper()
	last, err := w.store.LastHeartbeat(t.Context(), ic.ID)
	if err != nil || last == nil {
		t.Fatalf("LastHeartbeat of intercom %d: %v, %v", ic.ID, last, err)
	}
	return *last
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
	w.beat(t, w.ics...) // online at once, each
	if got, want := w.bus.take(), status(w.ics, true); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	w.wantChanges(t, 3, 0)
	w.clock.Advance(100 * time.Millisecond)
	w.beat(t, w.ics...)
	w.beat(t, w.ics[0]) // a second refresh of one intercom in the same batch
	if n := w.store.count(); n != 3 {
		t.Fatalf("%d writes, want 3 (one per intercom coming online) before the batch closed", n)
	}
	w.clock.Advance(time.Second)
	if n := w.store.count(); n != 4 {
		t.Fatalf("%d writes, want one more for one batch of 4 refreshes", n)
	}
	if got := w.bus.take(); len(got) != 0 {
		t.Fatalf("refreshes announced %q", got)
	}
	// The first keeps beating; the others go silent and go offline once,
	// offline-after past their last heartbeat.
	for range 10 {
		w.clock.Advance(20 * time.Second)
		w.beat(t, w.ics[0])
	}
	if got, want := w.bus.take(), status(w.ics[1:], false); !slices.Equal(got, want) {
		t.Fatalf("after 200 s: events %q, want %q", got, want)
	}
	w.wantChanges(t, 3, 2)
	if n := w.store.count(); n != 4+9 {
		t.Fatalf("%d writes, want 4 and 9 closed batches (the 10th is open)", n)
	}
	w.clock.Advance(time.Hour)
	if got, want := w.bus.take(), status(w.ics[:1], false); !slices.Equal(got, want) {
		t.Fatalf("after an hour: events %q, want %q", got, want)
	}
	w.wantChanges(t, 3, 3)
}

// wantChanges fails t unless StatusChanged observed online intercoms coming
// online and offline going offline: each change once, refreshes never.
func (w *world) wantChanges(t *testing.T, online, offline int64) {
	t.Helper()
	if on, off := w.online.Load(), w.offline.Load(); on != online || off != offline {
		t.Fatalf("StatusChanged: %d online and %d offline, want %d and %d", on, off, online, offline)
	}
}

// Issue 15, item 7: with a batch, a heartbeat of an offline intercom is
// written and announced before Heartbeat returns; refreshes wait for the
// batch; silent for offline-after, it is offline, and its next heartbeat
// brings it online at once again.
func TestHeartbeatComesOnlineAtOnce(t *testing.T) {
	w := newWorld(t, time.Second)
	ic := w.ics[1]
	for round := range 3 {
		start := w.clock.Now()
		w.beat(t, ic)
		if last := w.lastBeat(t, ic); !last.Equal(start) {
			t.Fatalf("round %d: right after the heartbeat, the store holds %v, want %v", round, last, start)
		}
		if got, want := w.bus.take(), status([]intercom.Intercom{ic}, true); !slices.Equal(got, want) {
			t.Fatalf("round %d: right after the heartbeat, events %q, want %q", round, got, want)
		}
		if !w.svc.Online(w.load(t, ic)) {
			t.Fatalf("round %d: offline right after the heartbeat", round)
		}
		writes := w.store.count()

		w.clock.Advance(500 * time.Millisecond)
		w.beat(t, ic) // a refresh, in the batch
		if n, last := w.store.count(), w.lastBeat(t, ic); n != writes || !last.Equal(start) {
			t.Fatalf("round %d: the refresh written at once (%d writes, was %d; last heartbeat %v)", round, n, writes, last)
		}
		w.clock.Advance(time.Second)
		if n, last := w.store.count(), w.lastBeat(t, ic); n != writes+1 || !last.Equal(start.Add(500*time.Millisecond)) {
			t.Fatalf("round %d: after the batch, %d writes (want %d), last heartbeat %v", round, n, writes+1, last)
		}
		if got := w.bus.take(); len(got) != 0 {
			t.Fatalf("round %d: the refresh announced %q", round, got)
		}

		w.clock.Advance(90*time.Second - time.Second - time.Nanosecond) // just short of offline-after past the refresh
		if got := w.bus.take(); len(got) != 0 {
			t.Fatalf("round %d: before offline-after: events %q", round, got)
		}
		w.clock.Advance(time.Nanosecond)
		if got, want := w.bus.take(), status([]intercom.Intercom{ic}, false); !slices.Equal(got, want) {
			t.Fatalf("round %d: at offline-after: events %q, want %q", round, got, want)
		}
		w.clock.Advance(time.Minute)
	}
}

// A refresh the batch would write only after its intercom went offline is
// written at once: the sweep does not take the intercom offline meanwhile.
func TestHeartbeatAboutToExpireIsWrittenAtOnce(t *testing.T) {
	w := newWorld(t, time.Second)
	ic := w.ics[0]
	w.beat(t, ic)
	w.bus.take()
	w.clock.Advance(90*time.Second - 500*time.Millisecond)
	w.beat(t, ic)
	if n := w.store.count(); n != 2 {
		t.Fatalf("%d writes, want the refresh written at once", n)
	}
	w.clock.Advance(time.Second)
	if got := w.bus.take(); len(got) != 0 {
		t.Fatalf("events %q, want none: the intercom stayed online", got)
	}
}

// A heartbeat that finds the intercom online already (its view of it stale)
// while its refresh waits in the batch is written at once, is not announced
// again and leaves nothing of that intercom for the batch.
func TestStaleHeartbeatOfAnIntercomInTheBatch(t *testing.T) {
	w := newWorld(t, time.Second)
	ic := w.ics[0]
	w.beat(t, ic)
	w.clock.Advance(100 * time.Millisecond)
	w.beat(t, ic) // in the batch
	w.clock.Advance(100 * time.Millisecond)
	if err := w.svc.Heartbeat(t.Context(), ic); err != nil { // ic as created: never a heartbeat
		t.Fatal(err)
	}
	if got, want := w.bus.take(), status([]intercom.Intercom{ic}, true); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if n, last := w.store.count(), w.lastBeat(t, ic); n != 2 || !last.Equal(t0.Add(200*time.Millisecond)) {
		t.Fatalf("%d writes, last heartbeat %v; want 2, the stale one's", n, last)
	}
	w.clock.Advance(time.Second)
	if n := w.store.count(); n != 2 {
		t.Fatalf("%d writes, want no batch: the stale heartbeat wrote a later one", n)
	}
	if got := w.bus.take(); len(got) != 0 {
		t.Fatalf("events %q after the batch", got)
	}
}

// A heartbeat that would bring its intercom online but cannot be written
// fails, so that the panel tries again; the batch under way is kept.
func TestHeartbeatComingOnlineFails(t *testing.T) {
	w := newWorld(t, time.Second)
	w.beat(t, w.ics[0])
	w.clock.Advance(100 * time.Millisecond)
	w.beat(t, w.ics[0]) // in the batch
	w.bus.take()
	w.store.down.Store(true)
	if err := w.svc.Heartbeat(t.Context(), w.load(t, w.ics[1])); intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
		t.Fatalf("Heartbeat with the database down: %v, want EUNAVAILABLE", err)
	}
	w.store.down.Store(false)
	if got := w.bus.take(); len(got) != 0 {
		t.Fatalf("events %q of a heartbeat not written", got)
	}
	w.clock.Advance(time.Second)
	if last := w.lastBeat(t, w.ics[0]); !last.Equal(t0.Add(100 * time.Millisecond)) {
		t.Fatalf("the batch: last heartbeat %v, want %v", last, t0.Add(100*time.Millisecond))
	}
	w.beat(t, w.ics[1]) // the panel tries again
	if got, want := w.bus.take(), status(w.ics[1:2], true); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
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
