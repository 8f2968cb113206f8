package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// testRingEnds holds what the ends of a ring need of a store: the connect,
// the end reason and who was seen are saved with a transition; SeeCall marks
// a rung device once; AnsweredCalls lists the conversations; PushTargets
// gives the devices a push may still reach, with their language.
func testRingEnds(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	ann, bob := mustUser(t, s, "ann"), mustUser(t, s, "bob")
	mustIntercom(t, s, 1, nil)
	mustMember(t, s, ann.ID, 1, "Home")
	mustMember(t, s, bob.ID, 1, "Gate")
	phone, tablet, bobs := mustToken(t, s, ann.ID, "phone"), mustToken(t, s, ann.ID, "tablet"), mustToken(t, s, bob.ID, "bob")
	set := func(v string) **string { p := &v; return &p }
	ru := "ru"
	if err := s.UpdatePushTokens(ctx, phone.DeviceID, intercom.PushTokensUpdate{APN: set("apn-1"), VoIP: set("voip-1"), Lang: &ru}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdatePushTokens(ctx, bobs.DeviceID, intercom.PushTokensUpdate{FCM: set("fcm-1")}, t0); err != nil {
		t.Fatal(err)
	}
	socketAt := t0.Add(time.Millisecond)
	c, err := s.CreateCall(ctx, intercom.NewCall(1, nil, []intercom.CallDevice{
		{DeviceID: phone.DeviceID, UserID: ann.ID, UUID: "phone", Client: "ios", Channels: []string{intercom.ChannelAPNsVoIP}},
		{DeviceID: tablet.DeviceID, UserID: ann.ID, UUID: "tablet", Client: "ios", Reason: intercom.SkipDisabled},
		{DeviceID: bobs.DeviceID, UserID: bob.ID, UUID: "bob", Client: "web", Channels: []string{intercom.ChannelWS},
			SeenAt: &socketAt, SeenBy: intercom.SeenSocket},
	}, intercom.CallLines{}, t0))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("SeenAtCreation", func(t *testing.T) {
		got, err := s.Call(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		d := got.Devices[2]
		if d.SeenAt == nil || !d.SeenAt.Equal(socketAt) || d.SeenBy != intercom.SeenSocket {
			t.Errorf("bob's device: seen %v by %q", d.SeenAt, d.SeenBy)
		}
	})
	t.Run("SeeCall", func(t *testing.T) {
		at := t0.Add(2 * time.Second)
		for _, tt := range []struct {
			name   string
			device int64
			want   bool
		}{
			{"first sight", phone.DeviceID, true},
			{"seen before", phone.DeviceID, false},
			{"skipped device", tablet.DeviceID, false},
			{"seen at the ring", bobs.DeviceID, false},
			{"not the call's", 999999, false},
		} {
			if got, err := s.SeeCall(ctx, c.ID, tt.device, intercom.SeenFetch, at); err != nil || got != tt.want {
				t.Errorf("%s: SeeCall = %v, %v; want %v", tt.name, got, err, tt.want)
			}
			at = at.Add(time.Second)
		}
		got, _ := s.Call(ctx, c.ID)
		if d := got.Devices[0]; d.SeenAt == nil || !d.SeenAt.Equal(t0.Add(2*time.Second)) || d.SeenBy != intercom.SeenFetch {
			t.Errorf("phone: seen %v by %q", d.SeenAt, d.SeenBy)
		}
		if d := got.Devices[1]; d.SeenAt != nil {
			t.Errorf("a skipped device was marked seen: %v", d.SeenAt)
		}
	})
	t.Run("ConnectAndEnd", func(t *testing.T) {
		answered := t0.Add(5 * time.Second)
		if _, err := s.UpdateCall(ctx, c.ID, func(c *intercom.Call) error { return c.Answer(bobs.DeviceID, answered) }); err != nil {
			t.Fatal(err)
		}
		got, err := s.AnsweredCalls(ctx)
		if diff := cmp.Diff([]intercom.AnsweredCall{{ID: c.ID, StartedAt: answered}}, got); err != nil || diff != "" {
			t.Fatalf("AnsweredCalls (-want +got): %s %v", diff, err)
		}
		connected := answered.Add(time.Second)
		if _, err := s.UpdateCall(ctx, c.ID, func(c *intercom.Call) error { _, err := c.Connect(connected); return err }); err != nil {
			t.Fatal(err)
		}
		got, err = s.AnsweredCalls(ctx)
		if diff := cmp.Diff([]intercom.AnsweredCall{{ID: c.ID, StartedAt: answered, ConnectedAt: &connected}}, got); err != nil || diff != "" {
			t.Fatalf("AnsweredCalls after the connect (-want +got): %s %v", diff, err)
		}
		ended := connected.Add(time.Minute)
		if _, err := s.UpdateCall(ctx, c.ID, func(c *intercom.Call) error { return c.End(intercom.EndMaxDuration, ended) }); err != nil {
			t.Fatal(err)
		}
		call, err := s.Call(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if call.Status != intercom.CallEnded || call.EndReason != intercom.EndMaxDuration || call.ConnectedAt == nil ||
			!call.ConnectedAt.Equal(connected) {
			t.Errorf("call after the end: %s, %q, connected %v", call.Status, call.EndReason, call.ConnectedAt)
		}
		if d := call.Devices[2]; d.SeenBy != intercom.SeenSocket {
			t.Errorf("the answer replaced the first sight: %q", d.SeenBy)
		}
		if got, err := s.AnsweredCalls(ctx); err != nil || len(got) != 0 {
			t.Errorf("AnsweredCalls after the end = %v, %v", got, err)
		}
	})
	t.Run("PushTargets", func(t *testing.T) {
		got, err := s.PushTargets(ctx, []int64{phone.DeviceID, tablet.DeviceID, bobs.DeviceID, 999999}, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := []intercom.PushTarget{
			{DeviceID: phone.DeviceID, UserID: ann.ID, Client: "ios", APNToken: "apn-1", VoIPToken: "voip-1", Lang: "ru"},
			{DeviceID: tablet.DeviceID, UserID: ann.ID, Client: "ios"},
			{DeviceID: bobs.DeviceID, UserID: bob.ID, Client: "ios", FCMToken: "fcm-1"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PushTargets (-want +got):\n%s", diff)
		}
		// A device whose tokens are revoked or expired is no target.
		if err := s.RevokeAccessToken(ctx, tablet.ID, t0); err != nil {
			t.Fatal(err)
		}
		got, err = s.PushTargets(ctx, []int64{phone.DeviceID, tablet.DeviceID}, t0)
		if err != nil || len(got) != 1 || got[0].DeviceID != phone.DeviceID {
			t.Errorf("after the tablet's logout: %+v, %v", got, err)
		}
		if got, err := s.PushTargets(ctx, []int64{phone.DeviceID}, t0.Add(2*time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("after the tokens expired: %+v, %v", got, err)
		}
		if got, err := s.PushTargets(ctx, nil, t0); err != nil || len(got) != 0 {
			t.Errorf("PushTargets(nil) = %+v, %v", got, err)
		}
	})
	t.Run("LangKeptAcrossLogins", func(t *testing.T) {
		// A login without hl keeps the language; one with it changes it.
		if _, err := s.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pub-phone-2", Hash: []byte("hash-phone-2"),
			UserID: ann.ID, DeviceUUID: "phone", Client: "ios", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.PushTargets(ctx, []int64{phone.DeviceID}, t0); len(got) != 1 || got[0].Lang != "ru" {
			t.Errorf("after a login without hl: %+v", got)
		}
		if _, err := s.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pub-phone-3", Hash: []byte("hash-phone-3"),
			UserID: ann.ID, DeviceUUID: "phone", Client: "ios", Lang: "en", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.PushTargets(ctx, []int64{phone.DeviceID}, t0); len(got) != 1 || got[0].Lang != "en" {
			t.Errorf("after a login with hl en: %+v", got)
		}
	})
}

// testCallStatus: the cheap look at a call's status follows its transitions.
func testCallStatus(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "ann")
	mustIntercom(t, s, 1, nil)
	mustMember(t, s, u.ID, 1, "Home")
	tok := mustToken(t, s, u.ID, "phone")
	c, err := s.CreateCall(ctx, intercom.NewCall(1, nil, []intercom.CallDevice{{DeviceID: tok.DeviceID, UserID: u.ID, UUID: "phone",
		Client: "web", Channels: []string{intercom.ChannelWS}}}, intercom.CallLines{}, t0))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.CallStatus(ctx, c.ID); err != nil || got != intercom.CallRing {
		t.Errorf("a new call: %q, %v", got, err)
	}
	if _, err := s.UpdateCall(ctx, c.ID, func(c *intercom.Call) error { return c.TimeOut(t0.Add(time.Minute)) }); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CallStatus(ctx, c.ID); err != nil || got != intercom.CallMissed {
		t.Errorf("after the timeout: %q, %v", got, err)
	}
	_, err = s.CallStatus(ctx, c.ID+1000)
	wantCode(t, err, intercom.ENOTFOUND)
}
