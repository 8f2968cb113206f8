package local_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
	"intercom/clocktest"
	"intercom/local"
)

var t0 = time.Date(2022, 4, 20, 12, 0, 0, 0, time.UTC)

type fired struct {
	mu  sync.Mutex
	got []intercom.Deadline
}

func (f *fired) fire(_ context.Context, d intercom.Deadline) {
	f.mu.Lock()
	f.got = append(f.got, d)
	f.mu.Unlock()
}

func TestSchedulerFiresOnceAtItsInstant(t *testing.T) {
	c := clocktest.New(t0)
	s := local.NewScheduler(c)
	var f fired
	s.Handle(f.fire)
	ctx := t.Context()
	ring := intercom.Deadline{Kind: intercom.DeadlineRing, ID: 1, At: t0.Add(30 * time.Second)}
	offline := intercom.Deadline{Kind: intercom.DeadlineOffline, ID: 1, At: t0.Add(10 * time.Second)}
	for _, d := range []intercom.Deadline{ring, offline} {
		if err := s.Schedule(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(29 * time.Second)
	if diff := cmp.Diff([]intercom.Deadline{offline}, f.got); diff != "" {
		t.Fatalf("after 29 s (-want +got):\n%s", diff)
	}
	c.Advance(time.Hour)
	if diff := cmp.Diff([]intercom.Deadline{offline, ring}, f.got); diff != "" {
		t.Fatalf("after an hour (-want +got):\n%s", diff)
	}
	if s.Pending() != 0 {
		t.Fatalf("Pending = %d after all fired", s.Pending())
	}
}

func TestSchedulerReplaceAndCancel(t *testing.T) {
	c := clocktest.New(t0)
	s := local.NewScheduler(c)
	var f fired
	s.Handle(f.fire)
	ctx := t.Context()
	d := intercom.Deadline{Kind: intercom.DeadlineOffline, ID: 7, At: t0.Add(10 * time.Second)}
	later := d
	later.At = t0.Add(20 * time.Second)
	s.Schedule(ctx, d)
	s.Schedule(ctx, later) // a heartbeat pushes the check back
	other := intercom.Deadline{Kind: intercom.DeadlineRing, ID: 7, At: t0.Add(5 * time.Second)}
	s.Schedule(ctx, other)
	s.Cancel(ctx, intercom.DeadlineRing, 7) // answered
	c.Advance(15 * time.Second)
	if len(f.got) != 0 {
		t.Fatalf("fired %v: a replaced and a cancelled deadline must not fire", f.got)
	}
	c.Advance(5 * time.Second)
	if diff := cmp.Diff([]intercom.Deadline{later}, f.got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestSchedulerPastDeadlineFiresAtOnceAndCloseStops(t *testing.T) {
	c := clocktest.New(t0)
	s := local.NewScheduler(c)
	var f fired
	s.Handle(f.fire)
	past := intercom.Deadline{Kind: intercom.DeadlineRing, ID: 1, At: t0.Add(-time.Minute)}
	s.Schedule(t.Context(), past)
	s.Schedule(t.Context(), intercom.Deadline{Kind: intercom.DeadlineRing, ID: 2, At: t0.Add(time.Minute)})
	c.Advance(0)
	if diff := cmp.Diff([]intercom.Deadline{past}, f.got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	s.Close()
	c.Advance(time.Hour)
	if len(f.got) != 1 {
		t.Fatalf("fired after Close: %v", f.got)
	}
}

func TestLimiter(t *testing.T) {
	c := clocktest.New(t0)
	l := local.NewLimiter(3, time.Minute, c.Now)
	ctx := t.Context()
	type step struct {
		advance time.Duration
		keys    []string
		ok      bool
		wait    time.Duration
	}
	steps := []step{
		{0, []string{"login:a", "ip:1"}, true, 0},
		{10 * time.Second, []string{"login:a", "ip:1"}, true, 0},
		{10 * time.Second, []string{"login:b", "ip:1"}, true, 0},
		{0, []string{"login:c", "ip:1"}, false, 40 * time.Second}, // ip:1 is full; login:c is not counted
		{0, []string{"login:c"}, true, 0},
		{0, []string{"login:a"}, true, 0},
		{0, []string{"login:a"}, false, 40 * time.Second},
		{40 * time.Second, []string{"ip:1"}, true, 0}, // the first attempt left the window
	}
	for i, st := range steps {
		c.Advance(st.advance)
		_, wait, ok, err := l.Attempt(ctx, st.keys...)
		if err != nil || ok != st.ok || wait != st.wait {
			t.Fatalf("step %d %v: Attempt = %v, %v, %v; want %v, %v", i, st.keys, wait, ok, err, st.wait, st.ok)
		}
	}
	l.Reset(ctx, "login:a")
	if _, _, ok, _ := l.Attempt(ctx, "login:a"); !ok {
		t.Fatal("login:a still blocked after Reset")
	}
}

func TestLimiterParallelAttemptsCountEach(t *testing.T) {
	l := local.NewLimiter(10, 15*time.Minute, func() time.Time { return t0 })
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 30 {
		wg.Go(func() {
			if _, _, ok, _ := l.Attempt(context.Background(), "login:x"); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 10 {
		t.Fatalf("%d of 30 parallel attempts allowed, want 10", allowed)
	}
}

func TestLimiterRefund(t *testing.T) {
	c := clocktest.New(t0)
	l := local.NewLimiter(2, time.Minute, c.Now)
	ctx := t.Context()
	l.Attempt(ctx, "k")
	c.Advance(time.Second)
	at, _, _, _ := l.Attempt(ctx, "k")
	if _, _, ok, _ := l.Attempt(ctx, "k"); ok {
		t.Fatal("third attempt allowed with a limit of 2")
	}
	l.Refund(ctx, at, "k")
	if _, _, ok, _ := l.Attempt(ctx, "k"); !ok {
		t.Fatal("attempt refused after a refund")
	}
}
