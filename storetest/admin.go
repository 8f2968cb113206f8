package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// testAdminLists: the operator's lists search literally and any case, page,
// and filter offline intercoms by their last heartbeat.
func testAdminLists(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	for _, login := range []string{"Alice", "alicia", "bob", "100%", "a_b", "it's", "Ёлка"} {
		mustUser(t, s, login)
	}
	logins := func(f intercom.UserFilter, p intercom.Page) ([]string, int) {
		t.Helper()
		users, total, err := s.Users(ctx, f, p)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, u := range users {
			out = append(out, u.Login)
		}
		return out, total
	}
	all := intercom.Page{Page: 1, PerPage: 100}
	for _, tt := range []struct {
		search string
		want   []string
	}{
		{"", []string{"Alice", "alicia", "bob", "100%", "a_b", "it's", "Ёлка"}},
		{"ЁЛ", []string{"Ёлка"}},
		{"ёлка", []string{"Ёлка"}},
		{"ALI", []string{"Alice", "alicia"}},
		{"%", []string{"100%"}},
		{"_", []string{"a_b"}},
		{"'", []string{"it's"}},
		{"' OR 1=1 --", []string{}},
		{`\`, []string{}},
		{"nobody", []string{}},
	} {
		got, total := logins(intercom.UserFilter{Search: tt.search}, all)
		if diff := cmp.Diff(tt.want, got); diff != "" || total != len(tt.want) {
			t.Errorf("Users(search %q): total %d, -want +got:\n%s", tt.search, total, diff)
		}
	}
	if got, total := logins(intercom.UserFilter{}, intercom.Page{Page: 2, PerPage: 4}); total != 7 || !cmp.Equal(got, []string{"a_b", "it's", "Ёлка"}) {
		t.Errorf("Users page 2 of 4 = %v (total %d)", got, total)
	}

	a := mustIntercom(t, s, 0, nil)
	b, err := s.CreateIntercom(ctx, intercom.Intercom{Address: "Lenina 5_7, Ленина", SecretHash: []byte("b"), DoorOpenSeconds: 7, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordHeartbeats(ctx, map[int64]time.Time{a.ID: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	ids := func(f intercom.IntercomFilter) []int64 {
		t.Helper()
		ics, total, err := s.AdminIntercoms(ctx, f, all)
		if err != nil || total != len(ics) {
			t.Fatalf("AdminIntercoms(%+v) = %d of %d, %v", f, len(ics), total, err)
		}
		out := []int64{}
		for _, ic := range ics {
			out = append(out, ic.ID)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		f    intercom.IntercomFilter
		want []int64
	}{
		{"all", intercom.IntercomFilter{}, []int64{a.ID, b.ID}},
		{"address", intercom.IntercomFilter{Search: "lenina"}, []int64{b.ID}},
		{"underscore literal", intercom.IntercomFilter{Search: "5_7"}, []int64{b.ID}},
		{"any case in any script", intercom.IntercomFilter{Search: "ЛЕНИНА"}, []int64{b.ID}},
		{"underscore not a wildcard", intercom.IntercomFilter{Search: "a_e"}, []int64{}},
		{"online", intercom.IntercomFilter{Online: ptr(true), AliveAfter: t0}, []int64{a.ID}},
		{"offline", intercom.IntercomFilter{Online: ptr(false), AliveAfter: t0}, []int64{b.ID}},
		{"all offline later", intercom.IntercomFilter{Online: ptr(false), AliveAfter: t0.Add(time.Minute)}, []int64{a.ID, b.ID}},
	} {
		if diff := cmp.Diff(tt.want, ids(tt.f)); diff != "" {
			t.Errorf("%s: -want +got:\n%s", tt.name, diff)
		}
	}
	if ics, _, _ := s.AdminIntercoms(ctx, intercom.IntercomFilter{Search: "cameras"}, all); len(ics) != 1 ||
		ics[0].LastHeartbeatAt == nil || !ics[0].LastHeartbeatAt.Equal(t0.Add(time.Minute)) || string(ics[0].SecretHash) != string(a.SecretHash) {
		t.Errorf("AdminIntercoms loads %+v", ics)
	}
}

// testAdminWrites: what the operator changes and removes, and what goes
// with it.
func testAdminWrites(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	cam, err := s.CreateCamera(ctx, intercom.Camera{Status: "active", Type: "t", CreatedAt: t0, PrettyName: "p", UserStatus: "active", Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	ic := mustIntercom(t, s, 0, &cam.ID)
	mustMember(t, s, alice.ID, ic.ID, "Home")
	phone := mustToken(t, s, alice.ID, "phone")
	viewer := intercom.Viewer{UserID: alice.ID, DeviceID: phone.DeviceID}
	if _, _, err := s.Intercoms(ctx, viewer, intercom.Page{Page: 1, PerPage: 10}); err != nil { // cached where an engine caches
		t.Fatal(err)
	}

	t.Run("UpdateUser", func(t *testing.T) {
		u, _, err := s.UpdateUser(ctx, alice.ID, intercom.UserUpdate{Login: ptr("alice2"), Name: ptr("Alice B")}, t0.Add(time.Second))
		if err != nil || u.Login != "alice2" || u.Name != "Alice B" || u.PasswordHash != "hash" {
			t.Fatalf("UpdateUser = %+v, %v", u, err)
		}
		_, _, err = s.UpdateUser(ctx, bob.ID, intercom.UserUpdate{Login: ptr("alice2")}, t0)
		wantCode(t, err, intercom.ECONFLICT)
	})

	t.Run("UpdateIntercom", func(t *testing.T) {
		got, err := s.UpdateIntercomSettings(ctx, ic.ID, func(ic *intercom.Intercom) error {
			ic.Address, ic.Department, ic.ControlURL, ic.DoorOpenSeconds = "New", 5, ptr("http://panel.example/"), 9
			ic.CameraID, ic.SecretHash = nil, []byte("rotated")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.IntercomByID(ctx, ic.ID)
		if err != nil || again.Address != "New" || again.Department != 5 || again.ControlURL == nil || *again.ControlURL != "http://panel.example/" ||
			again.DoorOpenSeconds != 9 || again.CameraID != nil || string(again.SecretHash) != "rotated" || got.Address != "New" {
			t.Fatalf("after the update: %+v, %v", again, err)
		}
		_, err = s.IntercomBySecretHash(ctx, ic.SecretHash)
		wantCode(t, err, intercom.ENOTFOUND)
		if byNew, err := s.IntercomBySecretHash(ctx, []byte("rotated")); err != nil || byNew.ID != ic.ID {
			t.Fatalf("IntercomBySecretHash(new) = %+v, %v", byNew, err)
		}
		if v, err := s.Intercom(ctx, viewer, ic.ID); err != nil || v.Intercom.Address != "New" || v.Camera != nil {
			t.Fatalf("the account's view after the update: %+v, %v", v, err)
		}
		_, err = s.UpdateIntercomSettings(ctx, ic.ID, func(ic *intercom.Intercom) error { ic.CameraID = ptr(int64(99999)); return nil })
		wantCode(t, err, intercom.EINVALID)
		if _, err := s.UpdateIntercomSettings(ctx, ic.ID, func(ic *intercom.Intercom) error { ic.CameraID = &cam.ID; return nil }); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Cameras", func(t *testing.T) {
		got, err := s.UpdateCamera(ctx, cam.ID, func(c *intercom.Camera) error {
			c.Name, c.Lat, c.StartAt, c.IsBridge = "renamed", ptr(55.5), ptr(t0), true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.CameraByID(ctx, cam.ID)
		if err != nil || again.Name != "renamed" || again.Lat == nil || *again.Lat != 55.5 || again.StartAt == nil ||
			!again.StartAt.Equal(t0) || !again.IsBridge || again.ID != cam.ID || !again.CreatedAt.Equal(t0) || got.Name != "renamed" {
			t.Fatalf("CameraByID after UpdateCamera = %+v, %v", again, err)
		}
		cams, total, err := s.Cameras(ctx, intercom.Page{Page: 1, PerPage: 10})
		if err != nil || total != 1 || len(cams) != 1 || cams[0].Name != "renamed" {
			t.Fatalf("Cameras = %+v, %d, %v", cams, total, err)
		}
		_, err = s.UpdateCamera(ctx, 99999, func(*intercom.Camera) error { return nil })
		wantCode(t, err, intercom.ENOTFOUND)
		// Read twice: an engine that caches views serves the second from its cache.
		for range 2 {
			if v, err := s.Intercom(ctx, viewer, ic.ID); err != nil || v.Camera == nil || v.Camera.Name != "renamed" {
				t.Fatalf("the account's view shows the camera %+v, %v", v.Camera, err)
			}
		}
		if err := s.DeleteCamera(ctx, cam.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteCamera(ctx, cam.ID), intercom.ENOTFOUND)
		_, err = s.CameraByID(ctx, cam.ID)
		wantCode(t, err, intercom.ENOTFOUND)
		if again, err := s.IntercomByID(ctx, ic.ID); err != nil || again.CameraID != nil {
			t.Fatalf("the intercom of a deleted camera: %+v, %v", again, err)
		}
		if v, err := s.Intercom(ctx, viewer, ic.ID); err != nil || v.Camera != nil {
			t.Fatalf("the account's view still shows a deleted camera: %+v, %v", v.Camera, err)
		}
	})

	t.Run("Memberships", func(t *testing.T) {
		page := intercom.Page{Page: 1, PerPage: 10}
		ms, total, err := s.Memberships(ctx, ic.ID, 0, page)
		if err != nil || total != 1 || len(ms) != 1 || ms[0].UserID != alice.ID || ms[0].Title != "Home" || ms[0].Status != intercom.StatusConfirmed {
			t.Fatalf("Memberships(intercom) = %+v, %d, %v", ms, total, err)
		}
		if ms, total, err := s.Memberships(ctx, 0, alice.ID, page); err != nil || total != 1 || ms[0].IntercomID != ic.ID {
			t.Fatalf("Memberships(user) = %+v, %d, %v", ms, total, err)
		}
		if ms, total, err := s.Memberships(ctx, 0, bob.ID, page); err != nil || total != 0 || len(ms) != 0 {
			t.Fatalf("Memberships(bob) = %+v, %d, %v", ms, total, err)
		}
		_, _, err = s.Memberships(ctx, 99999, 0, page)
		wantCode(t, err, intercom.ENOTFOUND)
		_, _, err = s.Memberships(ctx, 0, 99999, page)
		wantCode(t, err, intercom.ENOTFOUND)
		if m, err := s.Membership(ctx, ic.ID, alice.ID); err != nil || m.Title != "Home" || m.CreatedAt == nil || !m.CreatedAt.Equal(t0) {
			t.Fatalf("Membership = %+v, %v", m, err)
		}
		_, err = s.Membership(ctx, ic.ID, bob.ID)
		wantCode(t, err, intercom.ENOTFOUND)
	})

	t.Run("Devices", func(t *testing.T) {
		if err := s.UpdatePushTokens(ctx, phone.DeviceID, intercom.PushTokensUpdate{FCM: ptr(ptr("fcm-token"))}, t0); err != nil {
			t.Fatal(err)
		}
		mustToken(t, s, alice.ID, "tablet")
		if err := s.RecordTokenUses(ctx, []intercom.TokenUse{{TokenID: phone.ID, At: t0.Add(time.Minute), IP: "192.0.2.7"}}); err != nil {
			t.Fatal(err)
		}
		ds, err := s.Devices(ctx, alice.ID, t0)
		if err != nil || len(ds) != 2 {
			t.Fatalf("Devices = %+v, %v", ds, err)
		}
		p := ds[0]
		if p.Device.UUID != "phone" || p.LiveSessions != 1 || p.LastUsedAt == nil || !p.LastUsedAt.Equal(t0.Add(time.Minute)) ||
			p.LastIP != "192.0.2.7" || !cmp.Equal(p.Device.PushChannels(), []string{intercom.ChannelFCM}) {
			t.Errorf("the phone: %+v (channels %v)", p, p.Device.PushChannels())
		}
		if ds[1].Device.UUID != "tablet" || len(ds[1].Device.PushChannels()) != 0 {
			t.Errorf("the tablet: %+v", ds[1])
		}
		if ds, err := s.Devices(ctx, alice.ID, t0.Add(2*time.Hour)); err != nil || ds[0].LiveSessions != 0 {
			t.Errorf("Devices after the tokens expired = %+v, %v", ds, err)
		}
		_, err = s.Devices(ctx, 99999, t0)
		wantCode(t, err, intercom.ENOTFOUND)
	})

	t.Run("IntercomCalls", func(t *testing.T) {
		devices := []intercom.CallDevice{{DeviceID: phone.DeviceID, UserID: alice.ID, UUID: "phone", Client: "ios",
			Channels: []string{"ws"}, Tokens: []string{phone.PublicID}}}
		var made []int64
		for _, at := range []time.Time{t0.Add(-24 * time.Hour), t0, t0.Add(time.Hour)} {
			c, err := s.CreateCall(ctx, intercom.NewCall(ic.ID, ptr(int64(15)), devices, intercom.CallLines{}, at))
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, c.ID)
		}
		calls, total, err := s.IntercomCalls(ctx, ic.ID, t0, t0.Add(2*time.Hour), intercom.Page{Page: 1, PerPage: 10})
		if err != nil || total != 2 || len(calls) != 2 || calls[0].ID != made[2] || calls[1].ID != made[1] ||
			len(calls[0].Devices) != 1 || calls[0].Devices[0].UUID != "phone" {
			t.Fatalf("IntercomCalls = %+v, %d, %v; want the two of the window, newest first", calls, total, err)
		}
		if calls, total, _ := s.IntercomCalls(ctx, ic.ID, t0, t0.Add(2*time.Hour), intercom.Page{Page: 2, PerPage: 1}); total != 2 ||
			len(calls) != 1 || calls[0].ID != made[1] {
			t.Fatalf("IntercomCalls page 2 = %+v, %d", calls, total)
		}
		_, _, err = s.IntercomCalls(ctx, 99999, t0, t0, intercom.Page{Page: 1, PerPage: 1})
		wantCode(t, err, intercom.ENOTFOUND)
	})

	t.Run("DeleteIntercom", func(t *testing.T) {
		live, err := s.CreateCall(ctx, intercom.NewCall(ic.ID, nil, nil, intercom.CallLines{}, t0))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PutKey(ctx, intercom.Key{IntercomID: ic.ID, ID: "key-1"}, t0); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.Intercom(ctx, viewer, ic.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteIntercom(ctx, ic.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteIntercom(ctx, ic.ID), intercom.ENOTFOUND)
		_, err = s.IntercomByID(ctx, ic.ID)
		wantCode(t, err, intercom.ENOTFOUND)
		_, err = s.Call(ctx, live.ID)
		wantCode(t, err, intercom.ENOTFOUND)
		ringing, err := s.RingingCalls(ctx)
		if _, ok := ringing[live.ID]; ok || err != nil {
			t.Fatalf("RingingCalls after the intercom went = %v, %v", ringing, err)
		}
		_, err = s.Membership(ctx, ic.ID, alice.ID)
		wantCode(t, err, intercom.ENOTFOUND)
		if views, total, err := s.Intercoms(ctx, viewer, intercom.Page{Page: 1, PerPage: 10}); err != nil || total != 0 || len(views) != 0 {
			t.Fatalf("the account still sees the deleted intercom: %+v, %v", views, err)
		}
		_, err = s.Intercom(ctx, viewer, ic.ID)
		wantCode(t, err, intercom.ENOTFOUND)
		if cands, err := s.RingCandidates(ctx, ic.ID, nil, t0); err != nil || len(cands) != 0 {
			t.Fatalf("RingCandidates of a deleted intercom = %+v, %v", cands, err)
		}
		if ms, _, err := s.Memberships(ctx, 0, alice.ID, intercom.Page{Page: 1, PerPage: 10}); err != nil || len(ms) != 0 {
			t.Fatalf("alice's memberships = %+v, %v", ms, err)
		}
	})
}

// testIntercomsByControlKey: the intercoms whose stored control key begins
// with a prefix, by id, at most limit; none without a key.
func testIntercomsByControlKey(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	for i, key := range []string{"plain:k1", "aes256gcm:k2", "", "plain:k4", "plain:k5", "plainly"} {
		ic := intercom.Intercom{ID: int64(i + 1), Address: "a", SecretHash: []byte{byte(i)}, DoorOpenSeconds: 7, CreatedAt: t0}
		if key != "" {
			ic.ControlKey = []byte(key)
		}
		if _, err := s.CreateIntercom(ctx, ic); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(prefix string, limit int) []int64 {
		t.Helper()
		ics, err := s.IntercomsByControlKey(ctx, []byte(prefix), limit)
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, ic := range ics {
			if !strings.HasPrefix(string(ic.ControlKey), prefix) {
				t.Errorf("intercom %d's key %q does not begin with %q", ic.ID, ic.ControlKey, prefix)
			}
			out = append(out, ic.ID)
		}
		return out
	}
	for _, tt := range []struct {
		prefix string
		limit  int
		want   []int64
	}{
		{"plain:", 100, []int64{1, 4, 5}},
		{"plain:", 2, []int64{1, 4}},
		{"aes256gcm:", 1, []int64{2}},
		{"sealed:", 10, []int64{}},
	} {
		if got := ids(tt.prefix, tt.limit); !slices.Equal(got, tt.want) {
			t.Errorf("%q, at most %d: %v, want %v", tt.prefix, tt.limit, got, tt.want)
		}
	}
}
