package storetest

import (
	"sync"
	"testing"
	"time"

	"intercom"
)

// testCallNumbers: every call gets a number in the numbers' own range, a
// live call's number is held by it alone, and CallByNumber finds live calls
// only.
func testCallNumbers(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tok := mustToken(t, s, u.ID, "phone")
	ic := mustIntercom(t, s, 0, nil)
	rung := []intercom.CallDevice{{DeviceID: tok.DeviceID, UserID: u.ID, UUID: "phone", Client: "web", Channels: []string{"ws"}}}
	ring := func(number string) intercom.Call {
		t.Helper()
		c := intercom.NewCall(ic.ID, ptr(int64(15)), rung, intercom.CallLines{}, t0)
		c.Number = number
		c, err := s.CreateCall(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	a := ring("")
	t.Run("Given", func(t *testing.T) {
		if !intercom.IsCallNumber(a.Number) || a.Number[0] < '2' {
			t.Fatalf("number %q: want ten digits from 2000000000", a.Number)
		}
		if got, err := s.Call(ctx, a.ID); err != nil || got.Number != a.Number {
			t.Fatalf("Call = %q, %v; want number %q", got.Number, err, a.Number)
		}
	})
	t.Run("ByNumber", func(t *testing.T) {
		got, err := s.CallByNumber(ctx, a.Number)
		if err != nil || got.ID != a.ID || len(got.Devices) != 1 {
			t.Fatalf("CallByNumber(%s) = %+v, %v; want call %d with its device", a.Number, got, err, a.ID)
		}
		_, err = s.CallByNumber(ctx, "2999999999x")
		wantCode(t, err, intercom.ENOTFOUND)
	})
	t.Run("HeldWhileLive", func(t *testing.T) {
		b := ring(a.Number)
		if b.Number == a.Number || !intercom.IsCallNumber(b.Number) {
			t.Fatalf("a second live call got number %q beside %q", b.Number, a.Number)
		}
		// Answered is live too.
		if _, err := s.UpdateCall(ctx, b.ID, func(c *intercom.Call) error { return c.Answer(tok.DeviceID, t0) }); err != nil {
			t.Fatal(err)
		}
		if c := ring(b.Number); c.Number == b.Number {
			t.Fatalf("the number %q of an answered call was given again", b.Number)
		}
		if got, err := s.CallByNumber(ctx, b.Number); err != nil || got.ID != b.ID || got.Status != intercom.CallAnswered {
			t.Fatalf("CallByNumber(answered) = %+v, %v", got, err)
		}
	})
	t.Run("FreedWhenOver", func(t *testing.T) {
		if _, err := s.UpdateCall(ctx, a.ID, func(c *intercom.Call) error { return c.TimeOut(t0.Add(time.Minute)) }); err != nil {
			t.Fatal(err)
		}
		_, err := s.CallByNumber(ctx, a.Number)
		wantCode(t, err, intercom.ENOTFOUND)
		again := ring(a.Number)
		if again.Number != a.Number {
			t.Fatalf("number %q of a missed call not given again: got %q", a.Number, again.Number)
		}
		if got, err := s.CallByNumber(ctx, a.Number); err != nil || got.ID != again.ID {
			t.Fatalf("CallByNumber = %+v, %v; want the new call %d", got, err, again.ID)
		}
		if old, err := s.Call(ctx, a.ID); err != nil || old.Number != a.Number {
			t.Fatalf("the old call lost its number: %q, %v", old.Number, err)
		}
	})
	t.Run("ConcurrentSameNumber", func(t *testing.T) {
		// Eight rings asking for one number at once: one gets it.
		const n = 8
		want := intercom.NewCallNumber()
		got := make([]intercom.Call, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c := intercom.NewCall(ic.ID, nil, rung, intercom.CallLines{}, t0)
				c.Number = want
				got[i], errs[i] = s.CreateCall(ctx, c)
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("CreateCall %d: %v", i, errs[i])
			}
			if seen[got[i].Number] {
				t.Fatalf("number %s given to two live calls", got[i].Number)
			}
			seen[got[i].Number] = true
		}
		if !seen[want] {
			t.Errorf("nobody got the number asked for, %s", want)
		}
	})
}
