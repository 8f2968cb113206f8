package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// testViewsAndSessionsSeeEveryWrite: every write shows in the very next
// Intercom and AccessTokenByHash, whatever the engine caches. Each step reads
// first, so that a cache holds what it read, then writes, then checks each
// viewer's Intercom against IntercomsByIDs (the same view, read another way)
// and what the step changed.
func testViewsAndSessionsSeeEveryWrite(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	cam, err := s.CreateCamera(ctx, intercom.Camera{ID: 833, Status: "active", Type: "media_server_v2", CreatedAt: t0,
		PrettyName: "Intercom", UserStatus: "active", Name: "Intercom"})
	if err != nil {
		t.Fatal(err)
	}
	ic := mustIntercom(t, s, 180, &cam.ID)
	u, w := mustUser(t, s, "u"), mustUser(t, s, "w")
	mustMember(t, s, u.ID, ic.ID, "Home")
	mustMember(t, s, w.ID, ic.ID, "Neighbour")
	phone, tablet, other := mustToken(t, s, u.ID, "phone"), mustToken(t, s, u.ID, "tablet"), mustToken(t, s, w.ID, "other")
	p := mustUser(t, s, "p") // pairs with a key, then chooses a flat
	pairer := mustToken(t, s, p.ID, "pairer")
	viewer := func(tok intercom.AccessToken) intercom.Viewer {
		return intercom.Viewer{UserID: tok.UserID, DeviceID: tok.DeviceID}
	}
	tokens := []intercom.AccessToken{phone, tablet, other, pairer}
	view := func(t *testing.T, tok intercom.AccessToken) (intercom.IntercomView, error) {
		t.Helper()
		return s.Intercom(ctx, viewer(tok), ic.ID)
	}
	session := func(t *testing.T, tok intercom.AccessToken) (intercom.AccessToken, error) {
		t.Helper()
		return s.AccessTokenByHash(ctx, tok.Hash)
	}
	read := func(t *testing.T) {
		t.Helper()
		for _, tok := range tokens {
			view(t, tok)
			session(t, tok)
		}
	}
	// same checks that Intercom agrees with IntercomsByIDs for every viewer.
	same := func(t *testing.T) {
		t.Helper()
		for _, tok := range tokens {
			got, err := view(t, tok)
			want, werr := s.IntercomsByIDs(ctx, viewer(tok), []int64{ic.ID})
			if werr != nil {
				t.Fatal(werr)
			}
			switch {
			case len(want) == 0 && intercom.ErrorCode(err) != intercom.ENOTFOUND:
				t.Errorf("%s: Intercom = %+v, %v; IntercomsByIDs finds nothing", tok.DeviceUUID, got, err)
			case len(want) == 1 && err != nil:
				t.Errorf("%s: Intercom: %v; IntercomsByIDs finds it", tok.DeviceUUID, err)
			case len(want) == 1:
				if d := cmp.Diff(want[0], got); d != "" {
					t.Errorf("%s: Intercom differs from IntercomsByIDs (-want +got):\n%s", tok.DeviceUUID, d)
				}
			}
		}
	}
	title := func(tok intercom.AccessToken) string {
		v, err := view(t, tok)
		if err != nil {
			return intercom.ErrorCode(err)
		}
		return v.Membership.Title
	}
	tt := parseTimetable(t, `{"days":[{"type":"same_every_day","from":"08:00Z","to":"09:00Z"}]}`)
	var patched intercom.IntercomView

	steps := []struct {
		name  string
		write func(t *testing.T) error
		check func(t *testing.T)
	}{
		{"UpdateIntercomTitle", func(t *testing.T) error {
			patched, err = s.UpdateIntercom(ctx, viewer(phone), ic.ID, intercom.IntercomUpdate{Title: ptr("Flat")}, t0.Add(time.Minute))
			return err
		}, func(t *testing.T) {
			if title(phone) != "Flat" || title(tablet) != "Flat" || title(other) != "Neighbour" {
				t.Errorf("titles %q %q %q", title(phone), title(tablet), title(other))
			}
			if v, _ := view(t, phone); !cmp.Equal(v, patched) {
				t.Errorf("UpdateIntercom answered what the next read does not show:\n%s", cmp.Diff(v, patched))
			}
		}},
		{"UpdateIntercomSettings", func(t *testing.T) error {
			patched, err = s.UpdateIntercom(ctx, viewer(phone), ic.ID, intercom.IntercomUpdate{IsEnabled: ptr(false), Timetable: &tt}, t0.Add(2*time.Minute))
			return err
		}, func(t *testing.T) {
			p, _ := view(t, phone)
			tb, _ := view(t, tablet)
			if p.Settings.IsEnabled || p.Settings.Timetable.IsEmpty() || !tb.Settings.IsEnabled || !tb.Settings.Timetable.IsEmpty() {
				t.Errorf("settings: phone %+v, tablet %+v", p.Settings, tb.Settings)
			}
			if !cmp.Equal(p, patched) {
				t.Errorf("UpdateIntercom answered what the next read does not show:\n%s", cmp.Diff(p, patched))
			}
		}},
		{"UpdateIntercomOnlyIsEnabled", func(t *testing.T) error {
			patched, err = s.UpdateIntercom(ctx, viewer(tablet), ic.ID, intercom.IntercomUpdate{IsEnabled: ptr(false)}, t0.Add(3*time.Minute))
			return err
		}, func(t *testing.T) {
			if v, _ := view(t, tablet); !cmp.Equal(v, patched) || v.Settings.IsEnabled {
				t.Errorf("tablet %+v, answered %+v", v.Settings, patched.Settings)
			}
		}},
		{"SetCameraFavorite", func(t *testing.T) error { return s.SetCameraFavorite(ctx, u.ID, cam.ID, true) }, func(t *testing.T) {
			if v, _ := view(t, phone); !v.IsFavorite {
				t.Error("not the favourite")
			}
		}},
		{"UnsetCameraFavorite", func(t *testing.T) error { return s.SetCameraFavorite(ctx, u.ID, cam.ID, false) }, func(t *testing.T) {
			if v, _ := view(t, phone); v.IsFavorite {
				t.Error("still the favourite")
			}
			if err := s.SetCameraFavorite(ctx, u.ID, cam.ID, true); err != nil {
				t.Fatal(err)
			}
		}},
		{"RecordHeartbeats", func(t *testing.T) error {
			_, err := s.RecordHeartbeats(ctx, map[int64]time.Time{ic.ID: t0.Add(time.Hour)})
			return err
		}, func(t *testing.T) {
			if v, _ := view(t, other); v.Intercom.LastHeartbeatAt == nil || !v.Intercom.LastHeartbeatAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("last heartbeat %v", v.Intercom.LastHeartbeatAt)
			}
		}},
		{"OperatorSettings", func(t *testing.T) error {
			_, err := s.UpdateIntercomSettings(ctx, ic.ID, func(ic *intercom.Intercom) error {
				ic.FirstFlat, ic.LastFlat, ic.OpenDoorCode, ic.OpenDoorKey = ptr(int64(1)), ptr(int64(50)), true, true
				return nil
			})
			return err
		}, func(t *testing.T) {
			for _, tok := range []intercom.AccessToken{phone, other} {
				v, _ := view(t, tok)
				if v.Intercom.FirstFlat == nil || *v.Intercom.FirstFlat != 1 || v.Intercom.LastFlat == nil || *v.Intercom.LastFlat != 50 ||
					!v.Intercom.OpenDoorCode || !v.Intercom.OpenDoorKey {
					t.Errorf("%s: operator's settings not seen: %+v", tok.DeviceUUID, v.Intercom)
				}
			}
		}},
		{"Pair", func(t *testing.T) error {
			if _, _, err := s.PutKey(ctx, intercom.Key{IntercomID: ic.ID, ID: "key-p"}, t0); err != nil {
				return err
			}
			if err := s.CreatePairingCode(ctx, intercom.PairingCode{UserID: p.ID, Code: "424242", Client: "ios",
				ExpiresAt: t0.Add(time.Hour)}, t0); err != nil {
				return err
			}
			got, err := s.Pair(ctx, ic.ID, "424242", "key-p", t0.Add(time.Hour), t0.Add(time.Minute))
			if err == nil && got.Problem != "" {
				t.Fatalf("Pair: %s", got.Problem)
			}
			return err
		}, func(t *testing.T) {
			if title(pairer) != intercom.ENOTFOUND {
				t.Errorf("a pairing in progress is already the account's: %q", title(pairer))
			}
		}},
		{"ChooseFlat", func(t *testing.T) error {
			patched, err = s.ChooseFlat(ctx, viewer(pairer), ic.ID, 7, t0.Add(2*time.Minute))
			return err
		}, func(t *testing.T) {
			v, err := view(t, pairer)
			if err != nil || v.Membership.Status != intercom.StatusConfirmed || v.Membership.Flat == nil || *v.Membership.Flat != 7 {
				t.Errorf("the flat chosen: %+v, %v", v.Membership, err)
			}
			if !cmp.Equal(v, patched) {
				t.Errorf("ChooseFlat answered what the next read does not show:\n%s", cmp.Diff(v, patched))
			}
		}},
		{"PutMembershipTitle", func(t *testing.T) error {
			_, err := s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "Renamed", Status: intercom.StatusConfirmed}, t0)
			return err
		}, func(t *testing.T) {
			if title(phone) != "Renamed" || title(tablet) != "Renamed" {
				t.Errorf("titles %q %q", title(phone), title(tablet))
			}
		}},
		{"PutMembershipKeyConfirmed", func(t *testing.T) error {
			_, err := s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "Renamed", Status: intercom.StatusKeyConfirmed}, t0)
			return err
		}, func(t *testing.T) {
			if title(phone) != intercom.ENOTFOUND {
				t.Errorf("a pairing in progress is still the account's: %q", title(phone))
			}
		}},
		{"PutMembershipConfirmedAgain", func(t *testing.T) error {
			_, err := s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "Back", Status: intercom.StatusConfirmed}, t0)
			return err
		}, func(t *testing.T) {
			if title(phone) != "Back" {
				t.Errorf("title %q", title(phone))
			}
		}},
		{"CreateAccessTokenSameDevice", func(t *testing.T) error {
			_, err := s.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "again", Hash: []byte("again"), UserID: u.ID,
				DeviceUUID: "phone", Client: "android", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
			return err
		}, func(t *testing.T) {
			if got, err := session(t, phone); err != nil || got.Client != "android" {
				t.Errorf("the phone's earlier session: %+v, %v; want client android", got, err)
			}
		}},
		{"RevokeAccessToken", func(t *testing.T) error { return s.RevokeAccessToken(ctx, phone.ID, t0.Add(time.Minute)) }, func(t *testing.T) {
			if got, err := session(t, phone); err != nil || got.RevokedAt == nil || got.Live(t0.Add(2*time.Minute)) {
				t.Errorf("logged out: %+v, %v", got, err)
			}
			if got, err := session(t, tablet); err != nil || got.RevokedAt != nil {
				t.Errorf("another session: %+v, %v", got, err)
			}
		}},
		{"DeleteMembership", func(t *testing.T) error { _, err := s.DeleteMembership(ctx, ic.ID, w.ID); return err }, func(t *testing.T) {
			if title(other) != intercom.ENOTFOUND {
				t.Errorf("removed member still sees it: %q", title(other))
			}
		}},
		{"UnlinkIntercoms", func(t *testing.T) error {
			_, err := s.UnlinkIntercoms(ctx, u.ID, []int64{ic.ID})
			return err
		}, func(t *testing.T) {
			if title(phone) != intercom.ENOTFOUND || title(tablet) != intercom.ENOTFOUND {
				t.Errorf("unlinked: %q %q", title(phone), title(tablet))
			}
		}},
		{"DeleteUser", func(t *testing.T) error { return s.DeleteUser(ctx, u.ID) }, func(t *testing.T) {
			for _, tok := range []intercom.AccessToken{phone, tablet} {
				if _, err := session(t, tok); intercom.ErrorCode(err) != intercom.ENOTFOUND {
					t.Errorf("%s: the deleted account's session: %v", tok.DeviceUUID, err)
				}
			}
			if _, err := session(t, other); err != nil {
				t.Errorf("another account's session: %v", err)
			}
		}},
	}
	for _, st := range steps {
		if !t.Run(st.name, func(t *testing.T) {
			read(t)
			if err := st.write(t); err != nil {
				t.Fatal(err)
			}
			same(t)
			st.check(t)
		}) {
			return
		}
	}
}

// TokenViews holds an intercom.TokenViewReader (PostgreSQL's) to what
// AccessTokenByHash and Intercom read one after the other: the token
// whatever its state, and the view of the token's device and account, or
// ENOTFOUND for an intercom not the account's (another's, one being
// paired, a missing one); an unknown token is ENOTFOUND.
func TokenViews(t *testing.T, s intercom.Store) {
	r, ok := s.(intercom.TokenViewReader)
	if !ok {
		t.Fatalf("%T is no intercom.TokenViewReader", s)
	}
	ctx := t.Context()
	u, w := mustUser(t, s, "u"), mustUser(t, s, "w")
	mustIntercom(t, s, 180, nil)
	mustIntercom(t, s, 181, nil)
	mustIntercom(t, s, 182, nil)
	mustMember(t, s, u.ID, 180, "Home")
	mustMember(t, s, w.ID, 181, "Theirs")
	if _, err := s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: 182, Title: "Pairing",
		Status: intercom.StatusKeyConfirmed}, t0); err != nil {
		t.Fatal(err)
	}
	phone, tablet := mustToken(t, s, u.ID, "phone"), mustToken(t, s, u.ID, "tablet")
	if _, err := s.UpdateIntercom(ctx, intercom.Viewer{UserID: u.ID, DeviceID: tablet.DeviceID}, 180,
		intercom.IntercomUpdate{IsEnabled: ptr(false)}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAccessToken(ctx, tablet.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []intercom.AccessToken{phone, tablet} {
		wantTok, err := s.AccessTokenByHash(ctx, tok.Hash)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{180, 181, 182, 999} {
			wantView, wantErr := s.Intercom(ctx, intercom.Viewer{UserID: u.ID, DeviceID: tok.DeviceID}, id)
			gotTok, gotView, viewErr, err := r.AccessTokenWithIntercom(ctx, tok.Hash, id)
			if err != nil || !cmp.Equal(gotTok, wantTok) {
				t.Errorf("%s, intercom %d: token %+v, %v; want %+v", tok.DeviceUUID, id, gotTok, err, wantTok)
			}
			if intercom.ErrorCode(viewErr) != intercom.ErrorCode(wantErr) || !cmp.Equal(gotView, wantView) {
				t.Errorf("%s, intercom %d: view %+v, %v; want %+v, %v", tok.DeviceUUID, id, gotView, viewErr, wantView, wantErr)
			}
		}
	}
	if v, err := s.Intercom(ctx, intercom.Viewer{UserID: u.ID, DeviceID: tablet.DeviceID}, 180); err != nil || v.Settings.IsEnabled {
		t.Fatalf("the tablet's settings were not written (%v): the comparison above proves nothing of them", err)
	}
	_, _, _, err := r.AccessTokenWithIntercom(ctx, []byte("no such token"), 180)
	wantCode(t, err, intercom.ENOTFOUND)
}
