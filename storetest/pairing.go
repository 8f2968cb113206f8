package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// pairingWorld is an intercom with flats 10–20 that opens for keys and codes,
// keys "k1" (any flat) and "k2" (flat 12), and alice with a live code.
func pairingWorld(t *testing.T, s intercom.Store) (intercom.Intercom, intercom.User) {
	t.Helper()
	ic := mustIntercom(t, s, 0, nil)
	ic, err := s.UpdateIntercomSettings(t.Context(), ic.ID, func(ic *intercom.Intercom) error {
		ic.FirstFlat, ic.LastFlat, ic.OpenDoorCode, ic.OpenDoorKey = ptr[int64](10), ptr[int64](20), true, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []intercom.Key{{IntercomID: ic.ID, ID: "k1"}, {IntercomID: ic.ID, ID: "k2", Flat: ptr[int64](12)}} {
		if _, created, err := s.PutKey(t.Context(), k, t0); err != nil || !created {
			t.Fatalf("PutKey(%s) = %v, %v", k.ID, created, err)
		}
	}
	alice := mustUser(t, s, "alice")
	if err := s.CreatePairingCode(t.Context(), intercom.PairingCode{UserID: alice.ID, Code: "111111", Client: "ios",
		ExpiresAt: t0.Add(time.Minute)}, t0); err != nil {
		t.Fatal(err)
	}
	return ic, alice
}

func testPairing(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	ic, alice := pairingWorld(t, s)
	bob := mustUser(t, s, "bob")
	// Another account cannot take a live code; a new code replaces the old.
	wantCode(t, s.CreatePairingCode(ctx, intercom.PairingCode{UserID: bob.ID, Code: "111111", ExpiresAt: t0.Add(time.Minute)}, t0),
		intercom.ECONFLICT)
	if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: bob.ID, Code: "222222", Client: "android",
		ExpiresAt: t0.Add(time.Minute)}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: bob.ID, Code: "333333", Client: "android",
		ExpiresAt: t0.Add(time.Minute)}, t0); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Second)
	flatBy := at.Add(10 * time.Minute)
	tests := []struct {
		name, code, key string
		at              time.Time
		want            string
		user            int64
	}{
		{"ReplacedCode", "222222", "k1", at, intercom.PairUnknownCode, 0},
		{"UnknownKey", "333333", "nope", at, intercom.PairUnknownKey, bob.ID},
		{"UsedUp", "333333", "k1", at, intercom.PairUnknownCode, 0},
		{"Expired", "111111", "k1", t0.Add(time.Minute), intercom.PairUnknownCode, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Pair(ctx, ic.ID, tt.code, tt.key, flatBy, tt.at)
			if err != nil || got.Problem != tt.want || got.UserID != tt.user {
				t.Fatalf("Pair = %+v, %v; want problem %q user %d", got, err, tt.want, tt.user)
			}
		})
	}
	// The code expired above: a new one pairs alice with k2.
	if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: alice.ID, Code: "111111", Client: "ios", ExpiresAt: at.Add(time.Minute)}, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pair(ctx, ic.ID, "111111", "k2", flatBy, at)
	if err != nil || got.Problem != "" || got.UserID != alice.ID || got.Client != "ios" ||
		got.View.Membership.Status != intercom.StatusKeyConfirmed || got.View.Intercom.ID != ic.ID || got.View.Membership.Title != "Cameras" {
		t.Fatalf("Pair = %+v, %v", got, err)
	}
	// A pairing in progress is not the account's intercom.
	_, err = s.Intercom(ctx, intercom.Viewer{UserID: alice.ID}, ic.ID)
	wantCode(t, err, intercom.ENOTFOUND)
	// bob cannot pair with alice's key.
	if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: bob.ID, Code: "444444", ExpiresAt: at.Add(time.Minute)}, at); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Pair(ctx, ic.ID, "444444", "k2", flatBy, at); err != nil || got.Problem != intercom.PairKeyTaken {
		t.Fatalf("Pair with a taken key = %+v, %v", got, err)
	}
	keys, n, err := s.Keys(ctx, ic.ID, intercom.Page{Page: 1, PerPage: 10})
	if err != nil || n != 2 || keys[1].ID != "k2" || keys[1].UserID == nil || *keys[1].UserID != alice.ID || keys[0].UserID != nil {
		t.Fatalf("Keys = %+v, %d, %v", keys, n, err)
	}
	for _, k := range keys {
		if got, err := s.Key(ctx, ic.ID, k.ID); err != nil || !cmp.Equal(got, k) {
			t.Errorf("Key(%s) = %+v, %v; want %+v as Keys lists it", k.ID, got, err, k)
		}
	}
	_, err = s.Key(ctx, ic.ID, "nope")
	wantCode(t, err, intercom.ENOTFOUND)
	_, err = s.Key(ctx, ic.ID+100, "k1")
	wantCode(t, err, intercom.ENOTFOUND)

	v := intercom.Viewer{UserID: alice.ID}
	for _, c := range []struct {
		name string
		flat int64
	}{{"OutOfRange", 21}, {"NotTheKeysFlat", 11}} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.ChooseFlat(ctx, v, ic.ID, c.flat, at)
			wantCode(t, err, intercom.EINVALID)
		})
	}
	_, err = s.ChooseFlat(ctx, intercom.Viewer{UserID: bob.ID}, ic.ID, 12, at)
	wantCode(t, err, intercom.ENOTFOUND) // bob has no pairing
	_, err = s.ChooseFlat(ctx, v, ic.ID, 12, flatBy)
	wantCode(t, err, intercom.ENOTFOUND) // too late
	view, err := s.ChooseFlat(ctx, v, ic.ID, 12, at)
	if err != nil || view.Membership.Status != intercom.StatusConfirmed || *view.Membership.Flat != 12 || !view.Intercom.OpenDoorCode {
		t.Fatalf("ChooseFlat = %+v, %v", view, err)
	}
	_, err = s.ChooseFlat(ctx, v, ic.ID, 12, at)
	wantCode(t, err, intercom.ENOTFOUND) // the flat is fixed once chosen
	if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: alice.ID, Code: "555555", ExpiresAt: at.Add(time.Minute)}, at); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Pair(ctx, ic.ID, "555555", "k1", flatBy, at); err != nil || got.Problem != intercom.PairAlreadyAdded || got.UserID != alice.ID {
		t.Fatalf("Pair of an added intercom = %+v, %v", got, err)
	}
	// Unknown intercom.
	_, err = s.Pair(ctx, ic.ID+100, "x", "k1", flatBy, at)
	wantCode(t, err, intercom.ENOTFOUND)
	// bob pairs with k1 and finds flat 12 taken.
	if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: bob.ID, Code: "666666", ExpiresAt: at.Add(time.Minute)}, at); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Pair(ctx, ic.ID, "666666", "k1", flatBy, at); err != nil || got.Problem != "" {
		t.Fatalf("Pair = %+v, %v", got, err)
	}
	_, err = s.ChooseFlat(ctx, intercom.Viewer{UserID: bob.ID}, ic.ID, 12, at)
	if err != intercom.ErrFlatTaken {
		t.Fatalf("ChooseFlat of a taken flat: %v", err)
	}
	wantCode(t, s.DeleteKey(ctx, ic.ID, "nope"), intercom.ENOTFOUND)
	if err := s.DeleteKey(ctx, ic.ID, "k1"); err != nil {
		t.Fatal(err)
	}
}

func testVisitorCodesAndAccess(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	ic, alice := pairingWorld(t, s)
	other, err := s.CreateIntercom(ctx, intercom.Intercom{Address: "Gate", SecretHash: []byte("gate"), DoorOpenSeconds: 7, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	mustMember(t, s, alice.ID, ic.ID, "Home")
	bob := mustUser(t, s, "bob")
	code := func(u intercom.User, icID int64, digits string, expires time.Time) (intercom.VisitorCode, error) {
		return s.CreateVisitorCode(ctx, intercom.VisitorCode{UserID: u.ID, IntercomID: icID, Title: "Guest " + digits, Code: digits,
			ExpiredAt: expires, CreatedAt: t0}, 3)
	}
	_, err = code(bob, ic.ID, "00001", t0.Add(time.Hour))
	wantCode(t, err, intercom.ENOTFOUND) // not a member
	_, err = code(alice, other.ID, "00001", t0.Add(time.Hour))
	wantCode(t, err, intercom.ENOTFOUND)
	first, err := code(alice, ic.ID, "00001", t0.Add(time.Hour))
	if err != nil || first.ID == 0 {
		t.Fatal(err)
	}
	_, err = code(alice, ic.ID, "00001", t0.Add(time.Hour))
	wantCode(t, err, intercom.ECONFLICT)
	for i := 2; i <= 3; i++ {
		if _, err := code(alice, ic.ID, fmt.Sprintf("0000%d", i), t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := code(alice, ic.ID, "00004", t0.Add(time.Hour)); err != intercom.ErrTooManyCodes {
		t.Fatalf("4th code with a limit of 3: %v", err)
	}
	codes, n, err := s.VisitorCodes(ctx, alice.ID, intercom.Page{Page: 1, PerPage: 2}, t0)
	if err != nil || n != 3 || len(codes) != 2 || codes[0].Code != "00003" {
		t.Fatalf("VisitorCodes = %+v, %d, %v", codes, n, err)
	}
	// Access: the live code opens, another intercom's does not, an expired
	// one is named, a removed one is unknown.
	at := t0.Add(90 * time.Minute) // 00001 expired
	for _, c := range []struct {
		intercom         int64
		kind, credential string
		at               time.Time
		open             bool
		reason           string
		user             bool
	}{
		{ic.ID, "code", "00002", at, true, "", true},
		{ic.ID, "code", "00001", at, false, intercom.ReasonExpiredCode, true},
		{ic.ID, "code", "99999", at, false, intercom.ReasonUnknownCode, false},
		{other.ID, "code", "00002", at, false, intercom.ReasonCodesOff, false},
		{ic.ID, "key", "k1", at, true, "", false},
		{ic.ID, "key", "k9", at, false, intercom.ReasonUnknownKey, false},
		{ic.ID, "code", "00001", t0.Add(25 * time.Hour), false, intercom.ReasonUnknownCode, false},
	} {
		e, err := s.CheckAccess(ctx, c.intercom, c.kind, c.credential, c.at)
		if err != nil || e.Open != c.open || e.Reason != c.reason || (e.UserID != nil) != c.user || e.ID == 0 {
			t.Errorf("CheckAccess(%d, %s %s) = %+v, %v", c.intercom, c.kind, c.credential, e, err)
		}
	}
	_, err = s.CheckAccess(ctx, ic.ID+100, "key", "k1", at)
	wantCode(t, err, intercom.ENOTFOUND)
	log, n, err := s.AccessLog(ctx, ic.ID, intercom.AccessFilter{Kind: "code", Open: ptr(false)}, intercom.Page{Page: 1, PerPage: 10})
	if err != nil || n != 3 || len(log) != 3 || log[0].Credential != "00001" {
		t.Fatalf("AccessLog = %+v, %d, %v", log, n, err)
	}
	if _, n, err := s.AccessLog(ctx, ic.ID, intercom.AccessFilter{UserID: alice.ID}, intercom.Page{Page: 1, PerPage: 10}); err != nil || n != 2 {
		t.Fatalf("AccessLog of alice: %d, %v", n, err)
	}
	_, _, err = s.AccessLog(ctx, ic.ID+100, intercom.AccessFilter{}, intercom.Page{Page: 1, PerPage: 10})
	wantCode(t, err, intercom.ENOTFOUND)
	_, keys, live, err := s.Credentials(ctx, ic.ID, at)
	if err != nil || len(keys) != 2 || len(live) != 2 || live[0].Code != "00002" {
		t.Fatalf("Credentials = %+v, %+v, %v", keys, live, err)
	}
	// Codes are removed a day after they expired.
	if codes, n, err := s.VisitorCodes(ctx, alice.ID, intercom.Page{Page: 1, PerPage: 10}, t0.Add(25*time.Hour)); err != nil || n != 2 || len(codes) != 2 {
		t.Fatalf("VisitorCodes a day on = %+v, %d, %v", codes, n, err)
	}
	// Others' ids are ignored; unlinking removes the rest.
	second := first.ID + 1 // 00002, listed until t0+26h
	if gone, err := s.DeleteVisitorCodes(ctx, bob.ID, []int64{second}); err != nil || len(gone) != 0 {
		t.Fatalf("bob deletes alice's code: %v, %v", gone, err)
	}
	if gone, err := s.DeleteVisitorCodes(ctx, alice.ID, []int64{second, first.ID + 1000}); err != nil || len(gone) != 1 || gone[0] != second {
		t.Fatalf("DeleteVisitorCodes = %v, %v", gone, err)
	}
	if _, err := s.UnlinkIntercoms(ctx, alice.ID, []int64{ic.ID}); err != nil {
		t.Fatal(err)
	}
	if codes, n, err := s.VisitorCodes(ctx, alice.ID, intercom.Page{Page: 1, PerPage: 10}, t0); err != nil || n != 0 || len(codes) != 0 {
		t.Fatalf("codes after unlinking: %+v, %d, %v", codes, n, err)
	}
	// The next code gets a new id.
	mustMember(t, s, alice.ID, ic.ID, "Home")
	if c, err := code(alice, ic.ID, "00001", t0.Add(time.Hour)); err != nil || c.ID <= first.ID+2 {
		t.Fatalf("new code %+v, %v: ids are never reused", c, err)
	}
}
