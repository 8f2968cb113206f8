package retention_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
	"intercom/clocktest"
	"intercom/retention"
	"intercom/sqlite"
)

var t0 = time.Date(2026, 1, 10, 3, 0, 0, 0, time.UTC)

// fakeStore holds due records per history and records each PurgeHistory.
type fakeStore struct {
	mu    sync.Mutex
	due   map[intercom.History]int
	calls []purgeCall
	fail  map[intercom.History]error
}

type purgeCall struct {
	History intercom.History
	Before  time.Time
	Limit   int
}

func (s *fakeStore) PurgeHistory(_ context.Context, h intercom.History, before time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, purgeCall{h, before, limit})
	if err := s.fail[h]; err != nil {
		return 0, err
	}
	n := min(limit, s.due[h])
	s.due[h] -= n
	return n, nil
}

func (s *fakeStore) took() []purgeCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// A pass purges each history with an age in batches of Batch until one is
// short, with the cutoff its age before the clock's now; a history kept
// forever is not asked for.
func TestPassBatches(t *testing.T) {
	clock := clocktest.New(t0)
	store := &fakeStore{due: map[intercom.History]int{intercom.HistoryCalls: 1200, intercom.HistoryAccessLog: 3, intercom.HistorySends: 50}}
	day := 24 * time.Hour
	p := retention.New(retention.Config{Store: store, Clock: clock, Logger: quiet, Batch: 500, Ages: intercom.Retention{
		intercom.HistoryCalls: intercom.RetentionAge(365 * day), intercom.HistorySends: intercom.KeepForever,
		intercom.HistoryAccessLog: intercom.RetentionAge(90 * day),
	}})
	got := p.Pass(t.Context())
	if diff := cmp.Diff(map[intercom.History]int{intercom.HistoryCalls: 1200, intercom.HistoryAccessLog: 3}, got); diff != "" {
		t.Errorf("Pass deleted (-want +got):\n%s", diff)
	}
	calls, logs := t0.Add(-365*day), t0.Add(-90*day)
	want := []purgeCall{{intercom.HistoryCalls, calls, 500}, {intercom.HistoryCalls, calls, 500}, {intercom.HistoryCalls, calls, 500},
		{intercom.HistoryAccessLog, logs, 500}}
	if diff := cmp.Diff(want, store.took()); diff != "" {
		t.Errorf("PurgeHistory calls (-want +got):\n%s", diff)
	}
}

// A pass runs at most MaxBatches batches of a history; the rest waits for
// the next pass. A history that fails does not stop the others.
func TestPassBounded(t *testing.T) {
	store := &fakeStore{due: map[intercom.History]int{intercom.HistoryCalls: 1000, intercom.HistoryControlLog: 10, intercom.HistoryAuditLog: 4},
		fail: map[intercom.History]error{intercom.HistorySends: errors.New("disk I/O error")}}
	p := retention.New(retention.Config{Store: store, Clock: clocktest.New(t0), Logger: quiet, Batch: 10, MaxBatches: 3,
		Ages: intercom.DefaultRetention()})
	got := p.Pass(t.Context())
	if diff := cmp.Diff(map[intercom.History]int{intercom.HistoryCalls: 30, intercom.HistorySends: 0, intercom.HistoryAccessLog: 0,
		intercom.HistoryControlLog: 10, intercom.HistoryAuditLog: 4}, got); diff != "" {
		t.Errorf("Pass deleted (-want +got):\n%s", diff)
	}
}

// Start runs the first pass FirstAfter from now and the next ones Every
// apart, on the clock; Close stops them.
func TestSchedule(t *testing.T) {
	clock := clocktest.New(t0)
	store := &fakeStore{due: map[intercom.History]int{}}
	p := retention.New(retention.Config{Store: store, Clock: clock, Logger: quiet, Every: time.Hour, FirstAfter: time.Minute,
		Ages: intercom.Retention{intercom.HistoryCalls: intercom.RetentionAge(48 * time.Hour)}})
	p.Start()
	clock.Advance(59 * time.Second)
	if n := len(store.took()); n != 0 {
		t.Fatalf("%d purges before FirstAfter", n)
	}
	clock.Advance(time.Second)
	if got := store.took(); len(got) != 1 || !got[0].Before.Equal(t0.Add(time.Minute-48*time.Hour)) {
		t.Fatalf("first pass = %+v", got)
	}
	clock.Advance(59 * time.Minute)
	if n := len(store.took()); n != 0 {
		t.Fatalf("%d purges before Every", n)
	}
	clock.Advance(5 * time.Hour)
	if n := len(store.took()); n != 5 {
		t.Fatalf("%d passes in 5 hours, want 5", n)
	}
	p.Close()
	if clock.Pending() != 0 {
		t.Errorf("a pass is still scheduled after Close")
	}
	clock.Advance(10 * time.Hour)
	if n := len(store.took()); n != 0 {
		t.Errorf("%d purges after Close", n)
	}
}

// Day after day of steady load on a SQLite store, the purger on the clock
// keeps the call history to its age: the database stops growing.
func TestPurgerPlateau(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "intercomd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ic, err := db.CreateIntercom(ctx, intercom.Intercom{Address: "Main St 1", Department: 1, SecretHash: []byte("s"), DoorOpenSeconds: 5, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(t0)
	p := retention.New(retention.Config{Store: db, Clock: clock, Logger: quiet, Batch: 7, Every: time.Hour,
		Ages: intercom.Retention{intercom.HistoryCalls: intercom.RetentionAge(3 * 24 * time.Hour),
			intercom.HistoryControlLog: intercom.RetentionAge(2 * 24 * time.Hour)}})
	p.Start()
	defer p.Close()
	var ids []int64
	count := func() (calls, control int) {
		for _, id := range ids {
			if _, err := db.Call(ctx, id); err == nil {
				calls++
			}
		}
		_, control, err := db.ControlLog(ctx, ic.ID, "", intercom.Page{Page: 1, PerPage: 1})
		if err != nil {
			t.Fatal(err)
		}
		return calls, control
	}
	const perHour = 2
	sizes := map[int][2]int{} // every sixth hour
	for h := range 8 * 24 {
		for range perHour {
			c, err := db.CreateCall(ctx, intercom.NewCall(ic.ID, nil, nil, intercom.CallLines{}, clock.Now()))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
			if err := db.RecordControl(ctx, intercom.ControlEntry{IntercomID: ic.ID, Event: intercom.ControlDoorOpen, At: clock.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(time.Hour)
		if h%6 == 0 {
			c, l := count()
			sizes[h] = [2]int{c, l}
		}
	}
	if sizes[24][0] >= 3*24*perHour {
		t.Errorf("after a day the store holds %d calls: the load does not grow to the plateau", sizes[24][0])
	}
	// From the fourth day on, each history holds its age's hours of load.
	for h := 4 * 24; h < 8*24; h += 6 {
		if want := [2]int{3 * 24 * perHour, 2 * 24 * perHour}; sizes[h] != want {
			t.Fatalf("hour %d: the store holds %d calls and %d control entries, want %v", h, sizes[h][0], sizes[h][1], want)
		}
	}
}
