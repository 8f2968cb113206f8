package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// RingReads holds s, an intercom.RingReader (PostgreSQL's), to what
// FlatLines and RingCandidates of ref, another node on the same database
// (with caches of its own, not s's), read one after the other: for a flat that chose its
// lines and one that did not, a private house's ring (every member, its own
// lines), a flat nobody is in and an intercom that does not exist; at the
// first ring of each (nothing cached), again (the rosters cached), after a
// member, a device's settings and the lines changed (a roster patched), and
// after more accounts joined a flat than a roster is patched for (read
// whole again).
func RingReads(t *testing.T, s, ref intercom.Store) {
	r, ok := s.(intercom.RingReader)
	if !ok {
		t.Fatalf("%T is no intercom.RingReader", s)
	}
	ctx := t.Context()
	alice, bob, carol := mustUser(t, s, "alice"), mustUser(t, s, "bob"), mustUser(t, s, "carol")
	if _, err := s.CreateIntercom(ctx, intercom.Intercom{ID: 180, Address: "Cameras", SecretHash: []byte("secret-180"),
		DoorOpenSeconds: 7, CreatedAt: t0, AnalogLine: true, LandlineLine: true}); err != nil {
		t.Fatal(err)
	}
	flat15, flat16, flat17, flat99 := ptr(int64(15)), ptr(int64(16)), ptr(int64(17)), ptr(int64(99))
	member := func(u intercom.User, flat *int64) {
		t.Helper()
		if _, err := s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: 180, Flat: flat, Title: "Home",
			Status: intercom.StatusConfirmed}, t0); err != nil {
			t.Fatal(err)
		}
	}
	member(alice, flat15)
	member(carol, flat16)
	alicePhone := mustToken(t, s, alice.ID, "alice-phone")
	mustToken(t, s, alice.ID, "alice-tablet")
	mustToken(t, s, carol.ID, "carol-phone")
	if _, err := s.UpdateFlatLines(ctx, 180, flat15, func(_ intercom.Intercom, fl *intercom.FlatLines) error {
		fl.Analog, fl.LandlineURI = false, "sip:+15551234567@gw.example"
		return nil
	}, t0); err != nil {
		t.Fatal(err)
	}
	houseLines := intercom.FlatLines{LandlineURI: "sip:house@gw.example"}
	if _, err := s.UpdateFlatLines(ctx, 180, nil, func(_ intercom.Intercom, fl *intercom.FlatLines) error {
		*fl = houseLines
		return nil
	}, t0); err != nil {
		t.Fatal(err)
	}

	at := t0.Add(time.Minute) // the tokens live an hour from t0
	byDevice := cmp.Transformer("byDevice", func(cs []*intercom.RingCandidate) []*intercom.RingCandidate {
		return slices.SortedFunc(slices.Values(cs), func(a, b *intercom.RingCandidate) int { return int(a.DeviceID - b.DeviceID) })
	})
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			intercom int64
			flat     *int64
		}{{180, flat15}, {180, flat16}, {180, flat17}, {180, nil}, {180, flat99}, {999, flat15}} {
			cands, lines, err := r.RingRead(ctx, c.intercom, c.flat, at)
			if err != nil {
				t.Fatalf("%s, intercom %d, flat %v: RingRead: %v", when, c.intercom, intercom.FlatKey(c.flat), err)
			}
			wantLines, err := ref.FlatLines(ctx, c.intercom, c.flat)
			if err != nil {
				t.Fatal(err)
			}
			wantCands, err := ref.RingCandidates(ctx, c.intercom, c.flat, at)
			if err != nil {
				t.Fatal(err)
			}
			if lines != wantLines || !cmp.Equal(cands, wantCands, byDevice) {
				t.Errorf("%s, intercom %d, flat %v: %+v, %d candidates; want %+v, %d\n%s", when, c.intercom, intercom.FlatKey(c.flat),
					lines, len(cands), wantLines, len(wantCands), cmp.Diff(wantCands, cands, byDevice))
			}
		}
	}
	// The first RingRead of each key comes before any RingCandidates of it.
	if cands, lines, err := r.RingRead(ctx, 180, flat15, at); err != nil || len(cands) != 2 ||
		lines != (intercom.FlatLines{LandlineURI: "sip:+15551234567@gw.example"}) {
		t.Fatalf("the first ring of flat 15: %d candidates, %+v, %v", len(cands), lines, err)
	}
	if cands, lines, err := r.RingRead(ctx, 180, nil, at); err != nil || len(cands) != 3 || lines != houseLines {
		t.Fatalf("the first ring of the house: %d candidates, %+v, %v", len(cands), lines, err)
	}
	check("rosters read")
	check("rosters cached")

	member(bob, flat15)
	mustToken(t, s, bob.ID, "bob-phone")
	if _, err := s.UpdateIntercom(ctx, intercom.Viewer{UserID: alice.ID, DeviceID: alicePhone.DeviceID}, 180,
		intercom.IntercomUpdate{IsEnabled: ptr(false), Analog: ptr(true)}, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateFlatLines(ctx, 180, flat16, func(_ intercom.Intercom, fl *intercom.FlatLines) error {
		fl.Analog = false
		return nil
	}, at); err != nil {
		t.Fatal(err)
	}
	cands, lines, err := r.RingRead(ctx, 180, flat15, at)
	if err != nil || len(cands) != 3 || !lines.Analog {
		t.Fatalf("flat 15 after bob joined and alice chose the handset: %d candidates, %+v, %v", len(cands), lines, err)
	}
	if _, lines, err := r.RingRead(ctx, 180, flat16, at); err != nil || lines.Analog {
		t.Fatalf("flat 16 after the operator took its handset: %+v, %v", lines, err)
	}
	check("after the changes")

	// More accounts join flat 17 than a roster is patched for (PostgreSQL's
	// 64): the cached roster is read whole again, with the lines.
	const many = 65
	for i := range many {
		u := mustUser(t, s, fmt.Sprint("neighbour", i))
		member(u, flat17)
		mustToken(t, s, u.ID, fmt.Sprint("neighbour-phone-", i))
	}
	if cands, lines, err := r.RingRead(ctx, 180, flat17, at); err != nil || len(cands) != many || lines != intercom.DefaultFlatLines {
		t.Fatalf("flat 17 after %d accounts joined: %d candidates, %+v, %v", many, len(cands), lines, err)
	}
	check("after many joined")
}
