package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// retentionFixture is an account with a phone and intercom 180, where a
// day's history is made by day.
type retentionFixture struct {
	s      intercom.Store
	alice  intercom.User
	device intercom.CallDevice
}

func newRetentionFixture(t *testing.T, s intercom.Store) retentionFixture {
	t.Helper()
	alice := mustUser(t, s, "alice")
	mustIntercom(t, s, 180, nil)
	mustMember(t, s, alice.ID, 180, "Home")
	tok := mustToken(t, s, alice.ID, "phone")
	return retentionFixture{s: s, alice: alice, device: intercom.CallDevice{DeviceID: tok.DeviceID, UserID: alice.ID,
		UUID: "phone", Client: "ios", Title: "Home", Channels: []string{"ws"}, Tokens: []string{tok.PublicID}}}
}

// call makes a call at at, with a send, and leaves it in status: ring,
// answered, or missed (timed out at once).
func (f retentionFixture) call(t *testing.T, at time.Time, status string) intercom.Call {
	t.Helper()
	ctx := t.Context()
	c, err := f.s.CreateCall(ctx, intercom.NewCall(180, nil, []intercom.CallDevice{f.device}, intercom.CallLines{}, at))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.RecordSend(ctx, intercom.CallSend{CallID: c.ID, DeviceID: f.device.DeviceID, Channel: intercom.ChannelFCM,
		Type: intercom.PushRing, Attempts: 1, Outcome: "sent", Status: 200, At: at}); err != nil {
		t.Fatal(err)
	}
	var end func(c *intercom.Call) error
	switch status {
	case intercom.CallRing:
		return c
	case intercom.CallAnswered:
		end = func(c *intercom.Call) error { return c.Answer(f.device.DeviceID, at) }
	default:
		end = func(c *intercom.Call) error { return c.TimeOut(at.Add(30 * time.Second)) }
	}
	if c, err = f.s.UpdateCall(ctx, c.ID, end); err != nil {
		t.Fatal(err)
	}
	return c
}

// logs records an access, a control and an audit entry at at.
func (f retentionFixture) logs(t *testing.T, at time.Time) {
	t.Helper()
	ctx := t.Context()
	if _, err := f.s.RecordAccess(ctx, intercom.AccessEntry{IntercomID: 180, Kind: intercom.AccessKey, Credential: "k1",
		At: at, Reason: "unknown"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RecordControl(ctx, intercom.ControlEntry{IntercomID: 180, Event: intercom.ControlDoorOpen, Device: "phone",
		At: at, Result: intercom.ControlResult{OK: true, Status: 200}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RecordAudit(ctx, intercom.AuditEntry{CredentialName: intercom.BootstrapCredential, Method: "PATCH",
		Route: "/api/admin/v1/intercoms/{intercom}", Resource: "intercoms/180", After: []byte(`{"id":180}`), At: at}); err != nil {
		t.Fatal(err)
	}
}

// retentionCounts is how much of each history the store holds.
type retentionCounts struct{ Calls, Sends, Access, Control, Audit int }

func (f retentionFixture) counts(t *testing.T, calls []int64) retentionCounts {
	t.Helper()
	ctx := t.Context()
	var n retentionCounts
	var err error
	if _, n.Calls, err = f.s.CallsOf(ctx, f.alice.ID, intercom.CallFilter{}, intercom.Page{Page: 1, PerPage: 1}); err != nil {
		t.Fatal(err)
	}
	for _, id := range calls {
		sends, err := f.s.CallSends(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n.Sends += len(sends)
	}
	if _, n.Access, err = f.s.AccessLog(ctx, 180, intercom.AccessFilter{}, intercom.Page{Page: 1, PerPage: 1}); err != nil {
		t.Fatal(err)
	}
	if _, n.Control, err = f.s.ControlLog(ctx, 180, "", intercom.Page{Page: 1, PerPage: 1}); err != nil {
		t.Fatal(err)
	}
	if _, n.Audit, err = f.s.AuditLog(ctx, intercom.AuditFilter{}, intercom.Page{Page: 1, PerPage: 1}); err != nil {
		t.Fatal(err)
	}
	return n
}

// purgeAll purges every history of r at now, in batches of limit, as the
// purger does, and returns how many records it deleted.
func purgeAll(t *testing.T, s intercom.Store, r intercom.Retention, now time.Time, limit int) int {
	t.Helper()
	total := 0
	for _, h := range intercom.Histories {
		before, ok := r.Cutoff(h.History, now)
		if !ok {
			continue
		}
		for {
			n, err := s.PurgeHistory(t.Context(), h.History, before, limit)
			if err != nil {
				t.Fatalf("PurgeHistory(%s): %v", h.History, err)
			}
			if n > limit {
				t.Fatalf("PurgeHistory(%s, limit %d) deleted %d", h.History, limit, n)
			}
			total += n
			if n < limit {
				break
			}
		}
	}
	return total
}

// testRetention: under a steady load, day after day, purging keeps each
// history to its age, so the store stops growing; live calls stay, however
// old.
func testRetention(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	f := newRetentionFixture(t, s)
	r := intercom.Retention{
		intercom.HistoryCalls:      intercom.RetentionAge(5 * 24 * time.Hour),
		intercom.HistorySends:      intercom.RetentionAge(2 * 24 * time.Hour),
		intercom.HistoryAccessLog:  intercom.RetentionAge(3 * 24 * time.Hour),
		intercom.HistoryControlLog: intercom.RetentionAge(4 * 24 * time.Hour),
		intercom.HistoryAuditLog:   intercom.RetentionAge(6 * 24 * time.Hour),
	}
	// Calls left ringing and answered on day 0: live, never purged.
	ringing, answered := f.call(t, t0, intercom.CallRing), f.call(t, t0, intercom.CallAnswered)
	calls := []int64{ringing.ID, answered.ID}
	const perDay, days = 3, 16
	var seen []retentionCounts
	for day := range days {
		now := t0.Add(time.Duration(day) * 24 * time.Hour)
		for i := range perDay {
			at := now.Add(time.Duration(i) * time.Hour)
			calls = append(calls, f.call(t, at, intercom.CallMissed).ID)
			f.logs(t, at)
		}
		purgeAll(t, s, r, now.Add(perDay*time.Hour), 2)
		seen = append(seen, f.counts(t, calls))
	}
	// Each history holds its age's days of load, plus the live calls and
	// their sends.
	want := retentionCounts{Calls: 2 + 5*perDay, Sends: 2 + 2*perDay, Access: 3 * perDay, Control: 4 * perDay, Audit: 6 * perDay}
	for day := 7; day < days; day++ {
		if diff := cmp.Diff(want, seen[day]); diff != "" {
			t.Errorf("day %d: the store holds (-want +got):\n%s", day, diff)
		}
	}
	if seen[2].Calls >= want.Calls {
		t.Errorf("day 2 already holds %d calls: the load does not reach the plateau by growing", seen[2].Calls)
	}
	for _, c := range []intercom.Call{ringing, answered} {
		got, err := s.Call(ctx, c.ID)
		if err != nil || got.Status != c.Status {
			t.Errorf("live call %d (%s) from day 0 = %+v, %v; want it kept", c.ID, c.Status, got, err)
		}
		if sends, err := s.CallSends(ctx, c.ID); err != nil || len(sends) != 1 {
			t.Errorf("sends of live call %d = %+v, %v; want them kept", c.ID, sends, err)
		}
	}
	// The oldest ended call is gone with its sends; a call past the sends'
	// age but within the calls' keeps itself and loses its sends.
	if _, err := s.Call(ctx, calls[2]); !errors.Is(err, intercom.ErrNotFound) {
		t.Errorf("call of day 0 after purging: %v, want ENOTFOUND", err)
	}
	if sends, _ := s.CallSends(ctx, calls[2]); len(sends) != 0 {
		t.Errorf("sends of a purged call stay: %+v", sends)
	}
	mid := calls[len(calls)-4*perDay] // a call of 4 days before the last day
	if _, err := s.Call(ctx, mid); err != nil {
		t.Errorf("call within its age: %v", err)
	}
	if sends, _ := s.CallSends(ctx, mid); len(sends) != 0 {
		t.Errorf("sends past their age stay: %+v", sends)
	}

	t.Run("Limit", func(t *testing.T) {
		// Everything but the live calls is due a year later; limit bounds a
		// transaction.
		later := t0.Add(400 * 24 * time.Hour)
		for _, h := range intercom.Histories {
			before, _ := r.Cutoff(h.History, later)
			if n, err := s.PurgeHistory(ctx, h.History, before, 1); err != nil || n != 1 {
				t.Errorf("PurgeHistory(%s, limit 1) = %d, %v; want 1", h.History, n, err)
			}
		}
		purgeAll(t, s, r, later, 500)
		if got, want := f.counts(t, calls), (retentionCounts{Calls: 2, Sends: 2}); got != want {
			t.Errorf("a year later the store holds %+v, want %+v: the live calls", got, want)
		}
		if n, err := s.PurgeHistory(ctx, intercom.HistoryCalls, later, 500); err != nil || n != 0 {
			t.Errorf("PurgeHistory with nothing due = %d, %v", n, err)
		}
	})
	t.Run("UnknownHistory", func(t *testing.T) {
		if _, err := s.PurgeHistory(ctx, "audit-log-of-the-future", t0, 10); !errors.Is(err, intercom.ErrUnknownHistory) {
			t.Errorf("PurgeHistory(unknown) = %v, want ErrUnknownHistory", err)
		}
	})
}

// testConcurrentPurges: purgers running at once (nodes of a cluster) each
// delete different records, none fails, and together they delete each due
// record once.
func testConcurrentPurges(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	f := newRetentionFixture(t, s)
	const due = 60
	var calls []int64
	for i := range due {
		at := t0.Add(time.Duration(i) * time.Minute)
		calls = append(calls, f.call(t, at, intercom.CallMissed).ID)
		f.logs(t, at)
	}
	kept := f.call(t, t0.Add(48*time.Hour), intercom.CallMissed)
	f.logs(t, t0.Add(48*time.Hour))
	calls = append(calls, kept.ID)
	before := t0.Add(24 * time.Hour)
	for _, h := range []intercom.History{intercom.HistorySends, intercom.HistoryCalls, intercom.HistoryAccessLog, intercom.HistoryControlLog,
		intercom.HistoryAuditLog} {
		const purgers = 4
		var wg sync.WaitGroup
		deleted := make([]int, purgers)
		errs := make([]error, purgers)
		for p := range purgers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n, err := s.PurgeHistory(ctx, h, before, 7)
					deleted[p] += n
					if err != nil || n == 0 {
						errs[p] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		sum := 0
		for p := range purgers {
			if errs[p] != nil {
				t.Errorf("purger %d of %s: %v", p, h, errs[p])
			}
			sum += deleted[p]
		}
		if sum != due {
			t.Errorf("%s: the purgers deleted %d records together, want %d", h, sum, due)
		}
	}
	if got, want := f.counts(t, calls), (retentionCounts{Calls: 1, Sends: 1, Access: 1, Control: 1, Audit: 1}); got != want {
		t.Errorf("after the purges the store holds %+v, want %+v", got, want)
	}
}
