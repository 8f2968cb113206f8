package storetest

import (
	"testing"
	"time"

	"intercom"
)

// testRingCandidatesSeeEveryWrite: every write that may change who a ring
// reaches, or how, shows in the very next RingCandidates, whatever the
// engine caches. Each step reads the rosters before its write, so that a
// cache holds them, and checks the read after it.
func testRingCandidatesSeeEveryWrite(t *testing.T, s intercom.Store) {
	RingCandidatesSeeEveryWrite(t, s, s)
}

// RingCandidatesSeeEveryWrite is the test of RingCandidatesSeeEveryWrite
// with its writes on s and its rings on ringer, as two nodes of one database
// are: a node that caches rosters must see the other's writes at its very
// next ring.
func RingCandidatesSeeEveryWrite(t *testing.T, s, ringer intercom.Store) {
	ctx := t.Context()
	ic := mustIntercom(t, s, 0, nil)
	u := mustUser(t, s, "u")
	neighbour := mustUser(t, s, "neighbour")
	flat, otherFlat := int64(3), int64(4)
	put := func(t *testing.T, userID, flat int64, title, status string) {
		t.Helper()
		if _, err := s.PutMembership(ctx, intercom.Membership{UserID: userID, IntercomID: ic.ID, Flat: &flat, Title: title,
			Status: status}, t0); err != nil {
			t.Fatal(err)
		}
	}
	put(t, u.ID, flat, "Home", intercom.StatusConfirmed)
	ring := func(t *testing.T, flat *int64, at time.Time) []*intercom.RingCandidate {
		t.Helper()
		c, err := ringer.RingCandidates(ctx, ic.ID, flat, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	login := func(t *testing.T, userID int64, uuid string) intercom.AccessToken {
		t.Helper()
		_, tok := intercom.NewAccessToken(userID, uuid, "ios", t0, time.Hour)
		tok, err := s.CreateAccessToken(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	uuids := func(cands []*intercom.RingCandidate) []string {
		out := []string{}
		for _, c := range cands {
			out = append(out, c.UUID)
		}
		return out
	}
	var phone intercom.AccessToken
	var pairer int64
	set := func(v string) **string { p := &v; return &p }
	tt := parseTimetable(t, `{"days":[{"type":"same_every_day","from":"08:00Z","to":"09:00Z"}]}`)

	steps := []struct {
		name  string
		write func(t *testing.T)
		// check gets the candidates of the flat and of the whole intercom,
		// at t0.
		check func(t *testing.T, inFlat, all []*intercom.RingCandidate)
	}{
		{"NoDeviceYet", func(*testing.T) {}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat)+len(all) != 0 {
				t.Errorf("candidates %v / %v; want none", uuids(inFlat), uuids(all))
			}
		}},
		{"Login", func(t *testing.T) { phone = login(t, u.ID, "phone") }, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || inFlat[0].UUID != "phone" || len(inFlat[0].Tokens) != 1 || inFlat[0].Tokens[0] != phone.PublicID || len(all) != 1 {
				t.Errorf("candidates %+v / %v; want the phone with its token", inFlat, uuids(all))
			}
		}},
		{"TokenExpiry", func(*testing.T) {}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if late := ring(t, &flat, phone.ExpiresAt); len(late) != 0 {
				t.Errorf("at the token's expiry: %v; want none", uuids(late))
			}
			if late := ring(t, nil, phone.ExpiresAt.Add(time.Hour)); len(late) != 0 {
				t.Errorf("past the token's expiry: %v; want none", uuids(late))
			}
			if len(inFlat) != 1 || len(ring(t, &flat, phone.ExpiresAt.Add(-time.Microsecond))) != 1 {
				t.Errorf("before the token's expiry: %v; want the phone", uuids(inFlat))
			}
		}},
		{"PushTokenSet", func(t *testing.T) {
			if err := s.UpdatePushTokens(ctx, phone.DeviceID, intercom.PushTokensUpdate{VoIP: set("v1"), FCM: set("f1")}, t0); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || inFlat[0].VoIPToken != "v1" || inFlat[0].FCMToken != "f1" || len(all) != 1 || all[0].VoIPToken != "v1" {
				t.Errorf("candidates %+v / %+v; want voip v1, fcm f1", inFlat, all)
			}
		}},
		{"PushTokenCleared", func(t *testing.T) {
			if err := s.ClearPushToken(ctx, phone.DeviceID, intercom.ChannelAPNsVoIP, "v1"); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || inFlat[0].VoIPToken != "" || inFlat[0].FCMToken != "f1" || len(all) != 1 || all[0].VoIPToken != "" {
				t.Errorf("candidates %+v / %+v; want no voip token, fcm f1", inFlat, all)
			}
		}},
		{"PatchIsEnabled", func(t *testing.T) {
			if _, err := s.UpdateIntercom(ctx, intercom.Viewer{UserID: u.ID, DeviceID: phone.DeviceID}, ic.ID,
				intercom.IntercomUpdate{IsEnabled: ptr(false)}, t0); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || inFlat[0].Settings.IsEnabled || len(all) != 1 || all[0].Settings.IsEnabled {
				t.Errorf("candidates %+v / %+v; want disabled", inFlat, all)
			}
		}},
		{"PatchTimetable", func(t *testing.T) {
			if _, err := s.UpdateIntercom(ctx, intercom.Viewer{UserID: u.ID, DeviceID: phone.DeviceID}, ic.ID,
				intercom.IntercomUpdate{Timetable: &tt}, t0); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || len(inFlat[0].Settings.Timetable.Days) != 1 || len(all) != 1 || len(all[0].Settings.Timetable.Days) != 1 {
				t.Errorf("candidates %+v / %+v; want the timetable", inFlat, all)
			}
		}},
		{"MembershipStatusAndTitle", func(t *testing.T) { put(t, u.ID, flat, "Renamed", intercom.StatusKeyConfirmed) },
			func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
				if len(inFlat) != 1 || inFlat[0].MemberStatus != intercom.StatusKeyConfirmed || inFlat[0].Title != "Renamed" ||
					len(all) != 1 || all[0].Title != "Renamed" {
					t.Errorf("candidates %+v / %+v; want key_confirmed, Renamed", inFlat, all)
				}
			}},
		{"MembershipFlat", func(t *testing.T) { put(t, u.ID, otherFlat, "Renamed", intercom.StatusConfirmed) },
			func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
				if len(inFlat) != 0 || len(all) != 1 || len(ring(t, &otherFlat, t0)) != 1 {
					t.Errorf("candidates %v / %v; want the phone in flat %d only", uuids(inFlat), uuids(all), otherFlat)
				}
				put(t, u.ID, flat, "Renamed", intercom.StatusConfirmed)
			}},
		// A write that cannot change a roster leaves it as it was.
		{"Heartbeat", func(t *testing.T) {
			if _, err := s.RecordHeartbeats(ctx, map[int64]time.Time{ic.ID: t0}); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || len(all) != 1 {
				t.Errorf("candidates %v / %v; want the phone", uuids(inFlat), uuids(all))
			}
		}},
		{"Logout", func(t *testing.T) {
			if err := s.RevokeAccessToken(ctx, phone.ID, t0); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat)+len(all) != 0 {
				t.Errorf("candidates %v / %v; want none", uuids(inFlat), uuids(all))
			}
		}},
		{"SecondDeviceLogin", func(t *testing.T) { login(t, u.ID, "tablet") }, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || inFlat[0].UUID != "tablet" || len(all) != 1 {
				t.Errorf("candidates %v / %v; want the tablet", uuids(inFlat), uuids(all))
			}
		}},
		{"MembershipDeleted", func(t *testing.T) {
			if _, err := s.DeleteMembership(ctx, ic.ID, u.ID); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat)+len(all) != 0 {
				t.Errorf("candidates %v / %v; want none", uuids(inFlat), uuids(all))
			}
		}},
		{"MembershipPut", func(t *testing.T) { put(t, u.ID, flat, "Back", intercom.StatusConfirmed) },
			func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
				if len(inFlat) != 1 || inFlat[0].Title != "Back" || len(all) != 1 {
					t.Errorf("candidates %+v / %v; want the tablet, titled Back", inFlat, uuids(all))
				}
			}},
		{"UnlinkIntercoms", func(t *testing.T) {
			if _, err := s.UnlinkIntercoms(ctx, u.ID, []int64{ic.ID}); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat)+len(all) != 0 {
				t.Errorf("candidates %v / %v; want none", uuids(inFlat), uuids(all))
			}
		}},
		{"NeighbourJoins", func(t *testing.T) {
			put(t, u.ID, flat, "Back", intercom.StatusConfirmed)
			put(t, neighbour.ID, flat, "Next door", intercom.StatusConfirmed)
			login(t, neighbour.ID, "neighbour-phone")
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 2 || len(all) != 2 {
				t.Errorf("candidates %v / %v; want the tablet and the neighbour's phone", uuids(inFlat), uuids(all))
			}
		}},
		{"DeleteUser", func(t *testing.T) {
			if err := s.DeleteUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || inFlat[0].UUID != "neighbour-phone" || len(all) != 1 {
				t.Errorf("candidates %v / %v; want only the neighbour's phone", uuids(inFlat), uuids(all))
			}
		}},
		// Pairing: a key_confirmed member waits for its flat (it is no flat's),
		// then chooses this one.
		{"Pair", func(t *testing.T) {
			p := mustUser(t, s, "pairer")
			login(t, p.ID, "pairer-phone")
			if _, _, err := s.PutKey(ctx, intercom.Key{IntercomID: ic.ID, ID: "key-p"}, t0); err != nil {
				t.Fatal(err)
			}
			if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: p.ID, Code: "424242", Client: "ios",
				ExpiresAt: t0.Add(time.Hour)}, t0); err != nil {
				t.Fatal(err)
			}
			// Both rosters are read again after the login: the pairing alone changes them.
			ring(t, &flat, t0)
			ring(t, nil, t0)
			if got, err := s.Pair(ctx, ic.ID, "424242", "key-p", t0.Add(time.Hour), t0); err != nil || got.Problem != "" {
				t.Fatalf("Pair: %+v, %v", got, err)
			}
			pairer = p.ID
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || len(all) != 2 || all[1].UUID != "pairer-phone" || all[1].MemberStatus != intercom.StatusKeyConfirmed {
				t.Errorf("candidates %v / %+v; want the pairer, key_confirmed, outside the flat", uuids(inFlat), all)
			}
		}},
		// Deleting the key ends the pairing waiting for its flat.
		{"DeleteKey", func(t *testing.T) {
			if err := s.DeleteKey(ctx, ic.ID, "key-p"); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || len(all) != 1 || all[0].UUID != "neighbour-phone" {
				t.Errorf("candidates %v / %v; want only the neighbour's phone", uuids(inFlat), uuids(all))
			}
		}},
		{"PairAgain", func(t *testing.T) {
			if _, _, err := s.PutKey(ctx, intercom.Key{IntercomID: ic.ID, ID: "key-q"}, t0); err != nil {
				t.Fatal(err)
			}
			if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: pairer, Code: "434343", Client: "ios",
				ExpiresAt: t0.Add(time.Hour)}, t0); err != nil {
				t.Fatal(err)
			}
			ring(t, &flat, t0)
			ring(t, nil, t0)
			if got, err := s.Pair(ctx, ic.ID, "434343", "key-q", t0.Add(time.Hour), t0); err != nil || got.Problem != "" {
				t.Fatalf("Pair: %+v, %v", got, err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			if len(inFlat) != 1 || len(all) != 2 || all[1].UUID != "pairer-phone" || all[1].MemberStatus != intercom.StatusKeyConfirmed {
				t.Errorf("candidates %v / %+v; want the pairer, key_confirmed, outside the flat", uuids(inFlat), all)
			}
		}},
		{"ChooseFlat", func(t *testing.T) {
			tok, err := s.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pairer-2", Hash: []byte("pairer-2"), UserID: pairer,
				DeviceUUID: "pairer-phone", Client: "ios", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			ring(t, &otherFlat, t0)
			ring(t, nil, t0)
			if _, err := s.ChooseFlat(ctx, intercom.Viewer{UserID: pairer, DeviceID: tok.DeviceID}, ic.ID, otherFlat, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, inFlat, all []*intercom.RingCandidate) {
			other := ring(t, &otherFlat, t0)
			if len(inFlat) != 1 || len(all) != 2 || all[1].MemberStatus != intercom.StatusConfirmed ||
				len(other) != 1 || other[0].UUID != "pairer-phone" || other[0].MemberStatus != intercom.StatusConfirmed {
				t.Errorf("candidates %v / %+v / flat %d %+v; want the pairer, confirmed, in flat %d", uuids(inFlat), all, otherFlat, other, otherFlat)
			}
		}},
	}
	for _, step := range steps {
		ok := t.Run(step.name, func(t *testing.T) {
			ring(t, &flat, t0) // a cache, if any, holds the rosters now
			ring(t, nil, t0)
			step.write(t)
			step.check(t, ring(t, &flat, t0), ring(t, nil, t0))
		})
		if !ok {
			return // the steps build on each other
		}
	}
}
