package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"intercom"
)

// testFlatLines: a flat's lines are shared by its accounts, read in their
// views and by the ring, set by the operator and by the apps' PATCH (which
// refuses a line the flat lacks, changing nothing), and serialized per flat.
// A call keeps what it rang and which line answered.
func testFlatLines(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	const uri = "sip:+15551234567@gw.example"
	alice, bob, carol := mustUser(t, s, "alice"), mustUser(t, s, "bob"), mustUser(t, s, "carol")
	_, err := s.CreateIntercom(ctx, intercom.Intercom{ID: 180, Address: "Cameras", SecretHash: []byte("secret-180"),
		DoorOpenSeconds: 7, CreatedAt: t0, AnalogLine: true, LandlineLine: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.IntercomByID(ctx, 180); err != nil || !got.AnalogLine || !got.LandlineLine {
		t.Fatalf("IntercomByID %+v, %v", got, err)
	}
	flat15, flat16 := ptr(int64(15)), ptr(int64(16))
	for _, m := range []struct {
		user int64
		flat *int64
	}{{alice.ID, flat15}, {bob.ID, flat15}, {carol.ID, flat16}} {
		if _, err := s.PutMembership(ctx, intercom.Membership{UserID: m.user, IntercomID: 180, Flat: m.flat, Title: "Home",
			Status: intercom.StatusConfirmed}, t0); err != nil {
			t.Fatal(err)
		}
	}
	va := intercom.Viewer{UserID: alice.ID, DeviceID: mustToken(t, s, alice.ID, "alice-phone").DeviceID}
	vb := intercom.Viewer{UserID: bob.ID, DeviceID: mustToken(t, s, bob.ID, "bob-phone").DeviceID}
	vc := intercom.Viewer{UserID: carol.ID, DeviceID: mustToken(t, s, carol.ID, "carol-phone").DeviceID}
	view := func(v intercom.Viewer) intercom.FlatLines {
		t.Helper()
		got, err := s.Intercom(ctx, v, 180)
		if err != nil {
			t.Fatal(err)
		}
		return got.Lines
	}

	// Defaults, for a flat that never chose and for one that does not exist.
	for _, v := range []intercom.Viewer{va, vb, vc} {
		if got := view(v); got != intercom.DefaultFlatLines {
			t.Errorf("user %d sees %+v before anything was set", v.UserID, got)
		}
	}
	if got, err := s.FlatLines(ctx, 999, nil); err != nil || got != intercom.DefaultFlatLines {
		t.Errorf("FlatLines of nothing: %+v, %v", got, err)
	}

	// The operator sets flat 15's landline; a failing fn saves nothing.
	at := t0.Add(time.Hour)
	boom := errors.New("boom")
	if _, err := s.UpdateFlatLines(ctx, 180, flat15, func(_ intercom.Intercom, fl *intercom.FlatLines) error {
		fl.LandlineURI = "sip:lost@gw"
		return boom
	}, at); !errors.Is(err, boom) && intercom.ErrorMessage(err) != intercom.ErrorMessage(boom) {
		t.Fatalf("UpdateFlatLines with a failing fn: %v", err)
	}
	if _, err := s.UpdateFlatLines(ctx, 999, flat15, func(intercom.Intercom, *intercom.FlatLines) error { return nil }, at); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Errorf("UpdateFlatLines of no intercom: %v", err)
	}
	fl, err := s.UpdateFlatLines(ctx, 180, flat15, func(got intercom.Intercom, fl *intercom.FlatLines) error {
		if !got.AnalogLine || got.ID != 180 {
			return fmt.Errorf("fn got intercom %+v", got)
		}
		fl.LandlineURI = uri
		return nil
	}, at)
	if err != nil || fl != (intercom.FlatLines{Analog: true, LandlineURI: uri}) {
		t.Fatalf("UpdateFlatLines: %+v, %v", fl, err)
	}
	if got, err := s.FlatLines(ctx, 180, flat15); err != nil || got != fl {
		t.Errorf("FlatLines(15) = %+v, %v", got, err)
	}

	// Alice chooses for the flat: bob sees it (his view was read before),
	// carol's flat does not change.
	view(vb)
	v, err := s.UpdateIntercom(ctx, va, 180, intercom.IntercomUpdate{Analog: ptr(false), Landline: ptr(true)}, at)
	want := intercom.FlatLines{Landline: true, LandlineURI: uri}
	if err != nil || v.Lines != want {
		t.Fatalf("UpdateIntercom: %+v, %v", v.Lines, err)
	}
	if got := view(vb); got != want {
		t.Errorf("bob sees %+v, want %+v", got, want)
	}
	if got := view(vc); got != intercom.DefaultFlatLines {
		t.Errorf("carol sees %+v", got)
	}

	// Carol's flat has no landline: 422, and the title sent with it stays.
	_, err = s.UpdateIntercom(ctx, vc, 180, intercom.IntercomUpdate{Title: ptr("Renamed"), Landline: ptr(true)}, at)
	wantCode(t, err, intercom.EINVALID)
	if got, err := s.Intercom(ctx, vc, 180); err != nil || got.Membership.Title != "Home" || got.Lines != intercom.DefaultFlatLines {
		t.Errorf("after a refused update carol sees %+v, %v", got, err)
	}
	// Another account's intercom is not found before its lines are judged.
	dave := mustUser(t, s, "dave")
	vd := intercom.Viewer{UserID: dave.ID, DeviceID: mustToken(t, s, dave.ID, "dave-phone").DeviceID}
	_, err = s.UpdateIntercom(ctx, vd, 180, intercom.IntercomUpdate{Landline: ptr(true)}, at)
	wantCode(t, err, intercom.ENOTFOUND)

	// Concurrent choices of one flat's two lines both stay.
	for i := range 5 {
		analog, landline := i%2 == 0, i%2 == 1
		race(2, func(j int) {
			var err error
			if j == 0 {
				_, err = s.UpdateIntercom(ctx, va, 180, intercom.IntercomUpdate{Analog: &analog}, at)
			} else {
				_, err = s.UpdateIntercom(ctx, vb, 180, intercom.IntercomUpdate{Landline: &landline}, at)
			}
			if err != nil {
				t.Error(err)
			}
		})
		if got, err := s.FlatLines(ctx, 180, flat15); err != nil || got.Analog != analog || got.Landline != landline {
			t.Fatalf("round %d: %+v, %v; want analog %v, landline %v", i, got, err, analog, landline)
		}
	}

	// A call keeps its lines, and the line that answered.
	c, err := s.CreateCall(ctx, intercom.NewCall(180, flat15, nil, intercom.CallLines{Analog: true, Landline: uri}, at))
	if err != nil || c.Status != intercom.CallRing {
		t.Fatalf("CreateCall: %+v, %v", c, err)
	}
	answered := at.Add(5 * time.Second)
	if _, err := s.UpdateCall(ctx, c.ID, func(c *intercom.Call) error {
		_, err := c.AnswerOn(intercom.LineAnalog, answered)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Call(ctx, c.ID)
	if err != nil || got.Status != intercom.CallAnswered || got.Lines != (intercom.CallLines{Analog: true, Landline: uri}) ||
		got.AnsweredOn != intercom.LineAnalog || got.ConnectedAt == nil || !got.ConnectedAt.Equal(answered) {
		t.Errorf("Call after the handset answered: %+v, %v", got, err)
	}
}

// testKeepSecret: the first value stored under a name stays, on every
// engine, also when several callers store at once (nodes starting
// together): each gets the winner's.
func testKeepSecret(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	got := make([][]byte, 8)
	race(len(got), func(i int) {
		v, err := s.KeepSecret(ctx, "secret:sip-secret", []byte(fmt.Sprint("value ", i)))
		if err != nil {
			t.Error(err)
		}
		got[i] = v
	})
	for i := range got {
		if string(got[i]) != string(got[0]) || len(got[0]) == 0 {
			t.Fatalf("concurrent first stores got %q", got)
		}
	}
	if v, err := s.KeepSecret(ctx, "secret:sip-secret", []byte("later")); err != nil || string(v) != string(got[0]) {
		t.Errorf("a later store got %q, %v; want %q", v, err, got[0])
	}
	if v, err := s.KeepSecret(ctx, "check:sip-secret", []byte{0, 1, 255}); err != nil || string(v) != "\x00\x01\xff" {
		t.Errorf("bytes: %q, %v", v, err)
	}
	// Forgotten, the next value stored is kept; forgetting nothing is no error.
	if gone, err := s.ForgetSecret(ctx, "secret:sip-secret"); err != nil || !gone {
		t.Fatalf("ForgetSecret: %v, %v", gone, err)
	}
	if gone, err := s.ForgetSecret(ctx, "secret:sip-secret"); err != nil || gone {
		t.Errorf("ForgetSecret again: %v, %v", gone, err)
	}
	if v, err := s.KeepSecret(ctx, "secret:sip-secret", []byte("new")); err != nil || string(v) != "new" {
		t.Errorf("after forgetting: %q, %v", v, err)
	}
	if v, _ := s.KeepSecret(ctx, "check:sip-secret", []byte("x")); string(v) != "\x00\x01\xff" {
		t.Errorf("another name was forgotten too: %q", v)
	}
}

// testControlKey: an intercom's control key is kept as given (sealed or
// not is package secrets' business) and read with the intercom, by its
// secret's hash and in the account's view; the operator's update replaces it.
func testControlKey(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	ic, err := s.CreateIntercom(ctx, intercom.Intercom{Address: "Keys", SecretHash: []byte("hash"), ControlKey: []byte("aes256gcm:\x00\xff"),
		DoorOpenSeconds: 7, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.IntercomBySecretHash(ctx, []byte("hash")); err != nil || string(got.ControlKey) != "aes256gcm:\x00\xff" {
		t.Fatalf("IntercomBySecretHash: %q, %v", got.ControlKey, err)
	}
	u := mustUser(t, s, "keys")
	mustMember(t, s, u.ID, ic.ID, "Keys")
	v := intercom.Viewer{UserID: u.ID, DeviceID: mustToken(t, s, u.ID, "keys-phone").DeviceID}
	if view, err := s.Intercom(ctx, v, ic.ID); err != nil || string(view.Intercom.ControlKey) != "aes256gcm:\x00\xff" {
		t.Fatalf("view: %q, %v", view.Intercom.ControlKey, err)
	}
	if _, err := s.UpdateIntercomSettings(ctx, ic.ID, func(ic *intercom.Intercom) error {
		ic.SecretHash, ic.ControlKey = []byte("hash 2"), []byte("plain:k")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.IntercomByID(ctx, ic.ID); err != nil || string(got.ControlKey) != "plain:k" || string(got.SecretHash) != "hash 2" {
		t.Errorf("after the update: %+v, %v", got, err)
	}
	if view, err := s.Intercom(ctx, v, ic.ID); err != nil || string(view.Intercom.ControlKey) != "plain:k" {
		t.Errorf("view after the update: %q, %v", view.Intercom.ControlKey, err)
	}
	none, err := s.CreateIntercom(ctx, intercom.Intercom{Address: "No key", SecretHash: []byte("none"), DoorOpenSeconds: 7, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.IntercomByID(ctx, none.ID); err != nil || got.ControlKey != nil {
		t.Errorf("an intercom without a key: %q, %v", got.ControlKey, err)
	}
}
