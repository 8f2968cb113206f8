package calls_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"intercom"
	"intercom/calls"
	"intercom/clocktest"
	"intercom/local"
	"intercom/sqlite"
)

// A deadline whose handler fails (the database unreachable for a moment) is
// not lost: it fires again, and the call is missed, the intercom offline.
func TestFailedDeadlinesFireAgain(t *testing.T) {
	w := newWorld(t, 0)
	ctx := t.Context()
	u, err := w.store.UserByLogin(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pub", Hash: []byte("h"), UserID: u.ID,
		DeviceUUID: "phone", Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w.beat(t, w.ics[0])
	c, err := w.svc.Ring(ctx, w.ics[0], nil)
	if err != nil || c.Status != intercom.CallRing {
		t.Fatalf("ring: %v, %v", c.Status, err)
	}
	w.bus.take()

	w.store.down.Store(true)
	w.clock.Advance(w.svc.RingTimeout()) // the ring timeout fails
	w.store.down.Store(false)
	w.clock.Advance(time.Minute)
	if got, err := w.store.Call(ctx, c.ID); err != nil || got.Status != intercom.CallMissed {
		t.Fatalf("a minute after a failed ring timeout the call is %q (%v), want missed", got.Status, err)
	}

	w.beat(t, w.ics[0]) // online again, if the sweep took it offline meanwhile
	w.svc.Wait()        // the missed call's history event is sent off the deadline's path
	w.bus.take()
	w.store.down.Store(true)
	w.clock.Advance(w.svc.OfflineAfter()) // the offline sweep fails
	w.store.down.Store(false)
	w.clock.Advance(time.Minute)
	w.svc.Wait()
	if got, want := w.bus.take(), status(w.ics[:1], false); !slices.Equal(got, want) {
		t.Fatalf("a minute after a failed offline sweep: events %q, want %q", got, want)
	}
}

// ringScheduler is a local Scheduler posing as one that keeps its deadlines
// in the database of store: its CreateCall writes the call and sets its ring
// deadline, as the PostgreSQL one does in one statement.
type ringScheduler struct {
	*local.Scheduler
	store intercom.Store

	mu        sync.Mutex
	created   int // calls written by CreateCall
	scheduled int // ring deadlines set by Schedule
}

func (s *ringScheduler) Store() intercom.Store { return s.store }

func (s *ringScheduler) CreateCall(ctx context.Context, c intercom.Call, ringUntil time.Time) (intercom.Call, error) {
	c, err := s.store.CreateCall(ctx, c)
	if err != nil {
		return c, err
	}
	s.mu.Lock()
	s.created++
	s.mu.Unlock()
	if c.Status != intercom.CallRing {
		return c, nil
	}
	return c, s.Scheduler.Schedule(ctx, intercom.Deadline{Kind: intercom.DeadlineRing, ID: c.ID, At: ringUntil})
}

func (s *ringScheduler) Schedule(ctx context.Context, d intercom.Deadline) error {
	if d.Kind == intercom.DeadlineRing {
		s.mu.Lock()
		s.scheduled++
		s.mu.Unlock()
	}
	return s.Scheduler.Schedule(ctx, d)
}

// A ring's call and its deadline are written by a Scheduler that keeps its
// deadlines in the store's database, and by nobody else; one that keeps them
// in another store's is not asked, and the deadline is set after the call.
// Either way the ring times out once.
func TestRingWritesItsDeadlineWithTheCall(t *testing.T) {
	for _, tc := range []struct {
		name               string
		sameStore          bool
		created, scheduled int
	}{
		{"TheStores", true, 1, 0},
		{"AnotherStores", false, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			open := func(name string) *sqlite.DB {
				db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), name))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			db := open("calls.db")
			u, err := db.CreateUser(ctx, intercom.User{Login: "alice", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			ic, err := db.CreateIntercom(ctx, intercom.Intercom{Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 5, CreatedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "t",
				Status: intercom.StatusConfirmed}, t0); err != nil {
				t.Fatal(err)
			}
			if _, err := db.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pub", Hash: []byte("h"), UserID: u.ID,
				DeviceUUID: "phone", Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			clock := clocktest.New(t0)
			sched := &ringScheduler{Scheduler: local.NewScheduler(clock), store: db}
			if !tc.sameStore {
				sched.store = open("other.db")
			}
			svc := calls.New(calls.Config{Store: db, Broadcaster: &bus{}, Presence: &bus{}, Scheduler: sched,
				Doors: local.NewLimiter(10, time.Minute, clock.Now), Clock: clock})
			t.Cleanup(svc.Close)

			c, err := svc.Ring(ctx, ic, nil)
			if err != nil || c.Status != intercom.CallRing {
				t.Fatalf("Ring = %+v, %v", c, err)
			}
			sched.mu.Lock()
			created, scheduled := sched.created, sched.scheduled
			sched.mu.Unlock()
			if created != tc.created || scheduled != tc.scheduled {
				t.Errorf("the Scheduler wrote %d calls and was asked for %d ring deadlines; want %d and %d",
					created, scheduled, tc.created, tc.scheduled)
			}
			clock.Advance(svc.RingTimeout())
			svc.Wait()
			if got, err := db.Call(ctx, c.ID); err != nil || got.Status != intercom.CallMissed || got.EndReason != intercom.EndRingTimeout {
				t.Fatalf("after the ring timeout the call is %q (%q, %v), want missed by its timeout", got.Status, got.EndReason, err)
			}
		})
	}
}
