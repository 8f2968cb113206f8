package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"intercom"
)

// The concurrency suite holds an engine to who wins when transactions race,
// not only to what one transaction does alone (dex's
// storage/conformance/transactions.go). Each test starts its goroutines
// behind one barrier so that they really run at once.

// race runs fn(i) for i in [0, n) in n goroutines released together, and
// returns once all have returned.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// ringingCall makes an intercom, n accounts with a device each, and a call
// ringing all n devices.
func ringingCall(t *testing.T, s intercom.Store, n int) (intercom.Call, []intercom.AccessToken) {
	t.Helper()
	ic := mustIntercom(t, s, 0, nil)
	toks := make([]intercom.AccessToken, n)
	devices := make([]intercom.CallDevice, n)
	for i := range n {
		u := mustUser(t, s, fmt.Sprint("user-", i))
		mustMember(t, s, u.ID, ic.ID, "Home")
		uuid := fmt.Sprint("phone-", i)
		toks[i] = mustToken(t, s, u.ID, uuid)
		devices[i] = intercom.CallDevice{DeviceID: toks[i].DeviceID, UserID: u.ID, UUID: uuid, Client: "ios",
			Channels: []string{intercom.ChannelWS}, Tokens: []string{toks[i].PublicID}}
	}
	c, err := s.CreateCall(t.Context(), intercom.NewCall(ic.ID, nil, devices, intercom.CallLines{}, t0))
	if err != nil || c.Status != intercom.CallRing {
		t.Fatalf("CreateCall = %+v, %v", c, err)
	}
	return c, toks
}

const racers = 8

// show formats what p points at, or nil.
func show[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// testConcurrentAnswers: every rung device answers at once; exactly one
// takes the call, the others find nothing to answer.
func testConcurrentAnswers(t *testing.T, s intercom.Store) {
	c, toks := ringingCall(t, s, racers)
	at := t0.Add(time.Second)
	type result struct {
		call intercom.Call
		err  error
	}
	results := make([]result, racers)
	race(racers, func(i int) {
		call, err := s.UpdateCall(t.Context(), c.ID, func(c *intercom.Call) error { return c.Answer(toks[i].DeviceID, at) })
		results[i] = result{call, err}
	})
	winner := -1
	for i, r := range results {
		switch intercom.ErrorCode(r.err) {
		case "":
			if winner >= 0 {
				t.Errorf("devices %d and %d both answered", toks[winner].DeviceID, toks[i].DeviceID)
			}
			winner = i
			if r.call.Status != intercom.CallAnswered || r.call.AnsweredBy == nil || *r.call.AnsweredBy != toks[i].DeviceID {
				t.Errorf("the winner's call: status %q, answered by %s; want answered by %d", r.call.Status, show(r.call.AnsweredBy), toks[i].DeviceID)
			}
		case intercom.ENOTFOUND:
		default:
			t.Errorf("device %d: UpdateCall: %v; want success or ENOTFOUND", toks[i].DeviceID, r.err)
		}
	}
	if winner < 0 {
		t.Fatal("no device answered")
	}
	got, err := s.Call(t.Context(), c.ID)
	if err != nil || got.Status != intercom.CallAnswered || got.AnsweredBy == nil || *got.AnsweredBy != toks[winner].DeviceID ||
		got.StartedAt == nil || !got.StartedAt.Equal(at) {
		t.Errorf("stored call = status %q, answered by %s, started %s, %v; want answered by %d at %v",
			got.Status, show(got.AnsweredBy), show(got.StartedAt), err, toks[winner].DeviceID, at)
	}
}

// testConcurrentDeclines: every rung device declines at once; every decline
// counts, and exactly one of them is the last, the one that makes the call
// missed. A lost update would leave a device ringing or miss the call twice.
func testConcurrentDeclines(t *testing.T, s intercom.Store) {
	c, toks := ringingCall(t, s, racers)
	type result struct {
		call    intercom.Call
		sawRing bool // the saved run of fn found the call ringing
		err     error
	}
	results := make([]result, racers)
	race(racers, func(i int) {
		var sawRing bool
		call, err := s.UpdateCall(t.Context(), c.ID, func(c *intercom.Call) error {
			sawRing = c.Status == intercom.CallRing // overwritten by a retry: the last run counts
			return c.Decline(toks[i].DeviceID, t0.Add(time.Duration(i+1)*time.Millisecond))
		})
		results[i] = result{call, sawRing, err}
	})
	missed := 0
	for i, r := range results {
		if r.err != nil {
			t.Errorf("device %d: decline: %v", toks[i].DeviceID, r.err)
			continue
		}
		if !r.sawRing {
			t.Errorf("device %d: its decline saw a call no longer ringing, and succeeded", toks[i].DeviceID)
		}
		switch r.call.Status {
		case intercom.CallMissed:
			missed++
		case intercom.CallRing:
		default:
			t.Errorf("device %d: call after its decline is %q", toks[i].DeviceID, r.call.Status)
		}
	}
	if missed != 1 {
		t.Errorf("%d declines made the call missed, want exactly 1", missed)
	}
	got, err := s.Call(t.Context(), c.ID)
	if err != nil || got.Status != intercom.CallMissed || got.EndedAt == nil {
		t.Fatalf("stored call = status %q, ended %s, %v; want missed", got.Status, show(got.EndedAt), err)
	}
	for _, d := range got.Devices {
		if d.DeclinedAt == nil {
			t.Errorf("device %d: its decline was lost", d.DeviceID)
		}
	}
}

// testConcurrentPatch: two devices of one account PATCH one intercom at
// once, many times each. The title is the account's, so it ends as one of the
// two last titles, with the updated_at of the same write; the settings are
// each device's own, so each ends as that device's last write.
func testConcurrentPatch(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	const writes = 20
	u := mustUser(t, s, "alice")
	ic := mustIntercom(t, s, 0, nil)
	mustMember(t, s, u.ID, ic.ID, "House")
	viewers := []intercom.Viewer{
		{UserID: u.ID, DeviceID: mustToken(t, s, u.ID, "phone").DeviceID},
		{UserID: u.ID, DeviceID: mustToken(t, s, u.ID, "tablet").DeviceID},
	}
	// The j-th write of device i, made before the race: t.Fatal belongs to
	// the test's goroutine.
	type write struct {
		u  intercom.IntercomUpdate
		at time.Time
	}
	writesOf := make([][]write, len(viewers))
	for i := range viewers {
		for j := range writes {
			h := (i*writes + j) % 24
			tt := parseTimetable(t, fmt.Sprintf(`{"days":[{"type":"same_every_day","from":"%02d:00Z","to":"%02d:30Z"}]}`, h, h))
			writesOf[i] = append(writesOf[i], write{
				u:  intercom.IntercomUpdate{Title: ptr(fmt.Sprintf("device %d write %d", i, j)), IsEnabled: ptr((i+j)%2 == 0), Timetable: &tt},
				at: t0.Add(time.Duration(j+1)*time.Minute + time.Duration(i)*time.Second),
			})
		}
	}
	update := func(i, j int) (intercom.IntercomUpdate, time.Time) { return writesOf[i][j].u, writesOf[i][j].at }
	race(len(viewers), func(i int) {
		for j := range writes {
			u, at := update(i, j)
			v, err := s.UpdateIntercom(ctx, viewers[i], ic.ID, u, at)
			if err != nil {
				t.Errorf("device %d write %d: %v", i, j, err)
				return
			}
			if v.Membership.Title != *u.Title || !v.Membership.UpdatedAt.Equal(at) || !sameSettings(v.Settings, u) {
				t.Errorf("device %d write %d returned title %q at %v, settings %+v; want its own write",
					i, j, v.Membership.Title, v.Membership.UpdatedAt, v.Settings)
			}
		}
	})
	var lastTitles []string
	for i, vw := range viewers {
		last, at := update(i, writes-1)
		lastTitles = append(lastTitles, *last.Title)
		v, err := s.Intercom(ctx, vw, ic.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameSettings(v.Settings, last) {
			t.Errorf("device %d settings = %+v; want its last write %+v", i, v.Settings, last)
		}
		if v.Membership.Title == *last.Title && !v.Membership.UpdatedAt.Equal(at) {
			t.Errorf("title %q with updated_at %v; want the %v of the same write", v.Membership.Title, v.Membership.UpdatedAt, at)
		}
	}
	v, err := s.Intercom(ctx, viewers[0], ic.ID)
	if err != nil || !slices.Contains(lastTitles, v.Membership.Title) {
		t.Errorf("title = %q, %v; want one of the last writes %q", v.Membership.Title, err, lastTitles)
	}
	if !v.Membership.UpdatedAt.After(t0) {
		t.Errorf("membership updated_at %v did not move", v.Membership.UpdatedAt)
	}
}

// sameSettings reports whether s is what u sets (u sets both fields).
func sameSettings(s intercom.DeviceSettings, u intercom.IntercomUpdate) bool {
	got, _ := json.Marshal(s.Timetable)
	want, _ := json.Marshal(u.Timetable)
	return s.IsEnabled == *u.IsEnabled && string(got) == string(want)
}

// testIDsNeverReusedUnderConcurrency: accounts, devices, tokens and calls
// created and deleted at once all get ids of their own, and what comes after
// gets ids above all of them.
func testIDsNeverReusedUnderConcurrency(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	const rounds = 5
	ic := mustIntercom(t, s, 0, nil)
	var mu sync.Mutex
	seen := map[string]map[int64]string{"user": {}, "device": {}, "access token": {}, "call": {}}
	record := func(kind string, id int64, by string) {
		mu.Lock()
		defer mu.Unlock()
		if other, ok := seen[kind][id]; ok {
			t.Errorf("%s id %d given to %s and to %s", kind, id, other, by)
		}
		seen[kind][id] = by
	}
	race(racers, func(i int) {
		for j := range rounds {
			who := fmt.Sprintf("racer %d round %d", i, j)
			u, err := s.CreateUser(ctx, intercom.User{Login: fmt.Sprintf("u-%d-%d", i, j), PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
			if err != nil {
				t.Errorf("%s: CreateUser: %v", who, err)
				return
			}
			record("user", u.ID, who)
			_, tok := intercom.NewAccessToken(u.ID, "phone", "ios", t0, time.Hour)
			if tok, err = s.CreateAccessToken(ctx, tok); err != nil {
				t.Errorf("%s: CreateAccessToken: %v", who, err)
				return
			}
			record("device", tok.DeviceID, who)
			record("access token", tok.ID, who)
			c, err := s.CreateCall(ctx, intercom.NewCall(ic.ID, nil, []intercom.CallDevice{{DeviceID: tok.DeviceID, UserID: u.ID,
				UUID: "phone", Client: "ios", Channels: []string{intercom.ChannelWS}}}, intercom.CallLines{}, t0))
			if err != nil {
				t.Errorf("%s: CreateCall: %v", who, err)
				return
			}
			record("call", c.ID, who)
			if err := s.DeleteUser(ctx, u.ID); err != nil {
				t.Errorf("%s: DeleteUser: %v", who, err)
				return
			}
		}
	})
	if t.Failed() {
		return
	}
	u := mustUser(t, s, "after")
	tok := mustToken(t, s, u.ID, "phone")
	c, err := s.CreateCall(ctx, intercom.NewCall(ic.ID, nil, nil, intercom.CallLines{}, t0))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []struct {
		kind string
		next int64
	}{{"user", u.ID}, {"device", tok.DeviceID}, {"access token", tok.ID}, {"call", c.ID}} {
		if len(seen[id.kind]) != racers*rounds {
			t.Errorf("%d %s ids recorded, want %d", len(seen[id.kind]), id.kind, racers*rounds)
		}
		for old := range seen[id.kind] {
			if id.next <= old {
				t.Errorf("new %s id %d, want above %d given before", id.kind, id.next, old)
				break
			}
		}
	}
}

// testRingCandidatesAfterConcurrentReads: rings read while a device's
// settings change (and any cache of rosters fills from those reads) never
// hide a write from the ring that follows it.
func testRingCandidatesAfterConcurrentReads(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	const writes = 20
	u := mustUser(t, s, "alice")
	ic := mustIntercom(t, s, 0, nil)
	mustMember(t, s, u.ID, ic.ID, "Home")
	tok := mustToken(t, s, u.ID, "phone")
	viewer := intercom.Viewer{UserID: u.ID, DeviceID: tok.DeviceID}
	done := make(chan struct{})
	race(racers, func(i int) {
		if i > 0 { // readers, until the writer is done
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.RingCandidates(ctx, ic.ID, nil, t0); err != nil {
					t.Errorf("RingCandidates: %v", err)
					return
				}
			}
		}
		defer close(done)
		for j := range writes {
			enabled := j%2 == 1
			if _, err := s.UpdateIntercom(ctx, viewer, ic.ID, intercom.IntercomUpdate{IsEnabled: &enabled}, t0); err != nil {
				t.Errorf("write %d: %v", j, err)
				return
			}
			c, err := s.RingCandidates(ctx, ic.ID, nil, t0)
			if err != nil || len(c) != 1 || c[0].Settings.IsEnabled != enabled {
				t.Errorf("ring after write %d (is_enabled %v) = %+v, %v", j, enabled, c, err)
				return
			}
		}
	})
}

// testConcurrentFlatChoice: two accounts paired with one intercom choose the
// same flat at once; exactly one gets it.
func testConcurrentFlatChoice(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	ic := mustIntercom(t, s, 0, nil)
	viewers := make([]intercom.Viewer, racers)
	for i := range racers {
		u := mustUser(t, s, fmt.Sprint("user-", i))
		key := fmt.Sprint("key-", i)
		if _, _, err := s.PutKey(ctx, intercom.Key{IntercomID: ic.ID, ID: key}, t0); err != nil {
			t.Fatal(err)
		}
		code := fmt.Sprintf("%06d", i)
		if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: u.ID, Code: code, ExpiresAt: t0.Add(time.Minute)}, t0); err != nil {
			t.Fatal(err)
		}
		if p, err := s.Pair(ctx, ic.ID, code, key, t0.Add(time.Hour), t0); err != nil || p.Problem != "" {
			t.Fatalf("Pair = %+v, %v", p, err)
		}
		viewers[i] = intercom.Viewer{UserID: u.ID}
	}
	errs := make([]error, racers)
	race(racers, func(i int) {
		_, errs[i] = s.ChooseFlat(ctx, viewers[i], ic.ID, 15, t0.Add(time.Second))
	})
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case err != intercom.ErrFlatTaken:
			t.Errorf("racer %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d accounts got flat 15, want 1", won)
	}
}

// testConcurrentMemberships: the operator puts one account's membership
// confirmed many times at once; each put sees what the one before it left,
// so exactly one reports that the intercom was not the account's before (the
// one whose event says it became theirs), and only one created it.
func testConcurrentMemberships(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	ic := mustIntercom(t, s, 0, nil)
	u := mustUser(t, s, "erin")
	changes := make([]intercom.MembershipChange, racers)
	errs := make([]error, racers)
	race(racers, func(i int) {
		changes[i], errs[i] = s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID,
			Title: fmt.Sprint("Home ", i), Status: intercom.StatusConfirmed}, t0)
	})
	became, created := 0, 0
	for i, ch := range changes {
		if errs[i] != nil {
			t.Fatalf("racer %d: %v", i, errs[i])
		}
		if !ch.WasConfirmed {
			became++
		}
		if ch.Created {
			created++
		}
		if ch.View == nil || ch.View.Membership.Title != fmt.Sprint("Home ", i) {
			t.Errorf("racer %d: view %+v, want its own title", i, ch.View)
		}
	}
	if became != 1 || created != 1 {
		t.Fatalf("%d puts saw the intercom become the account's and %d created it, want 1 and 1", became, created)
	}
}

// testConcurrentSends: a ring's pushes record their outcomes at once; each
// is stored, the later of two for one push wins, and one that cannot be
// stored (its call is gone) fails alone.
func testConcurrentSends(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	c, toks := ringingCall(t, s, 40)
	send := func(i, attempt int) intercom.CallSend {
		return intercom.CallSend{CallID: c.ID, DeviceID: toks[i].DeviceID, Channel: intercom.ChannelAPNsVoIP,
			Attempts: attempt, Outcome: intercom.SendSent, Status: 200, At: t0.Add(time.Duration(attempt) * time.Second)}
	}
	errs := make([]error, len(toks)+1)
	race(len(toks)+1, func(i int) {
		if i == len(toks) {
			errs[i] = s.RecordSend(ctx, intercom.CallSend{CallID: c.ID + 1000, DeviceID: toks[0].DeviceID, Channel: intercom.ChannelFCM,
				Attempts: 1, Outcome: intercom.SendSent, Status: 200, At: t0})
			return
		}
		if errs[i] = s.RecordSend(ctx, send(i, 1)); errs[i] == nil {
			errs[i] = s.RecordSend(ctx, send(i, 2))
		}
	})
	for i, err := range errs[:len(toks)] {
		if err != nil {
			t.Errorf("RecordSend of device %d: %v", i, err)
		}
	}
	if errs[len(toks)] == nil {
		t.Error("RecordSend for a call that does not exist succeeded")
	}
	sends, err := s.CallSends(ctx, c.ID)
	if err != nil || len(sends) != len(toks) {
		t.Fatalf("CallSends = %d sends, %v; want %d", len(sends), err, len(toks))
	}
	for _, got := range sends {
		if got.Attempts != 2 {
			t.Errorf("device %d: %+v, want the second attempt", got.DeviceID, got)
		}
	}
}
