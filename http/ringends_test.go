package http_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"intercom"
	"intercom/apns"
	"intercom/apns/apnsfake"
	"intercom/clocktest"
	"intercom/fcm"
	"intercom/fcm/fcmfake"
	"intercom/hms"
	"intercom/hms/hmsfake"
	"intercom/node"
)

// The ends of a ring reaching the phones it rang (API.md §6): cancel
// pushes to Android, never a VoIP push to iOS, missed-call notifications,
// their faults, and the evidence of who saw a ring.

// endsFixture is a server whose push providers are the real APNs (VoIP and
// alert), FCM and Push Kit clients talking to fakes of the services, with a
// 30 s ring timeout. The waits between a send's attempts move the
// fixture's clock by what they wait, and are recorded.
type endsFixture struct {
	*fixture
	apns *apnsfake.Fake
	fcm  *fcmfake.Fake
	hms  *hmsfake.Fake

	mu    sync.Mutex
	waits []time.Duration
}

const endsRingTimeout = 30 * time.Second

func newEndsFixture(t *testing.T, configure func(*node.Config)) *endsFixture {
	t.Helper()
	e := &endsFixture{}
	var apnsCfg apns.Config
	e.apns, apnsCfg = apnsfake.Start(t)
	fcmFake, fcmCfg := fcmfake.Start(t)
	hmsFake, hmsCfg := hmsfake.Start(t)
	e.fcm, e.hms = fcmFake, hmsFake
	voip, err := apns.New(apnsCfg)
	if err != nil {
		t.Fatal(err)
	}
	alert, err := apns.NewAlert(apnsCfg)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := fcm.New(fcmCfg)
	if err != nil {
		t.Fatal(err)
	}
	hp, err := hms.New(hmsCfg)
	if err != nil {
		t.Fatal(err)
	}
	e.fixture = newFixtureWith(t, func(c *node.Config) {
		c.PushProviders = []intercom.PushProvider{voip, alert, fp, hp}
		c.RingTimeout = endsRingTimeout
		clock := c.Clock.(*clocktest.Clock)
		c.PushSleep = func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.waits = append(e.waits, d)
			e.mu.Unlock()
			clock.Advance(d)
			return ctx.Err()
		}
		if configure != nil {
			configure(c)
		}
	})
	return e
}

// longestWait is the longest wait between attempts so far.
func (e *endsFixture) longestWait() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var most time.Duration
	for _, d := range e.waits {
		most = max(most, d)
	}
	return most
}

// register sets device d's push tokens (a PUT /api/v1/devices body), with
// its language in the hl header when hl is not empty.
func (e *endsFixture) register(d device, tokens, hl string) {
	e.t.Helper()
	h := d.headers()
	if hl != "" {
		h["hl"] = hl
	}
	e.want(e.do(request{method: "PUT", path: "/api/v1/devices", body: tokens, headers: h}), 204)
}

// phone signs a device of login's account in and registers its tokens.
func (e *endsFixture) phone(login, uuid, client, tokens, hl string) device {
	e.t.Helper()
	d := e.loginAs(login, uuid, client)
	e.register(d, tokens, hl)
	return d
}

// ringOff switches the ringing of device d off for intercom id.
func (e *endsFixture) ringOff(d device, id int64) {
	e.t.Helper()
	e.want(e.as(d, "PATCH", "/api/v1/intercom/"+itoa(id), `{"is_enabled":false}`), 200)
}

// adminSend is a push as the admin view of a call shows it.
type adminSend struct {
	Channel    string `json:"channel"`
	Type       string `json:"type"`
	Attempts   int    `json:"attempts"`
	Outcome    string `json:"outcome"`
	Status     int    `json:"status"`
	Reason     string `json:"reason"`
	ProviderID string `json:"provider_id"`
	At         string `json:"at"`
}

// adminDevice is a recipient or a skipped device in the admin view.
type adminDevice struct {
	Device   string      `json:"device"`
	Client   string      `json:"client"`
	Channels []string    `json:"channels"`
	Reason   string      `json:"reason"` // skipped only
	SeenAt   *string     `json:"seen_at"`
	SeenBy   *string     `json:"seen_by"`
	Sends    []adminSend `json:"sends"`
}

type adminCallView struct {
	Status      string        `json:"status"`
	EndReason   *string       `json:"end_reason"`
	ConnectedAt *string       `json:"connected_at"`
	Recipients  []adminDevice `json:"recipients"`
	Skipped     []adminDevice `json:"skipped"`
}

func (e *endsFixture) adminCall(callID int64) adminCallView {
	e.t.Helper()
	res := e.want(e.admin("GET", "/api/admin/v1/calls/"+itoa(callID), ""), 200)
	var v adminCallView
	if err := json.Unmarshal(res.Body, &v); err != nil {
		e.t.Fatalf("admin call %s: %v", res.Body, err)
	}
	return v
}

// device is the recipient or skipped device uuid.
func (v adminCallView) device(t *testing.T, uuid string) adminDevice {
	t.Helper()
	for _, d := range append(append([]adminDevice(nil), v.Recipients...), v.Skipped...) {
		if d.Device == uuid {
			return d
		}
	}
	t.Fatalf("no device %s in the call: %+v", uuid, v)
	return adminDevice{}
}

// sends are device uuid's sends of type typ.
func (v adminCallView) sends(t *testing.T, uuid, typ string) []adminSend {
	t.Helper()
	var out []adminSend
	for _, s := range v.device(t, uuid).Sends {
		if s.Type == typ {
			out = append(out, s)
		}
	}
	return out
}

// send is device uuid's one send of type typ.
func (v adminCallView) send(t *testing.T, uuid, typ string) adminSend {
	t.Helper()
	s := v.sends(t, uuid, typ)
	if len(s) != 1 {
		t.Fatalf("%s: %d sends of %s, want 1: %+v", uuid, len(s), typ, v.device(t, uuid).Sends)
	}
	return s[0]
}

// fcmTo are the messages of type typ FCM received for token.
func (e *endsFixture) fcmTo(token, typ string) []fcmfake.Message {
	var out []fcmfake.Message
	for _, m := range e.fcm.Received() {
		if m.Token == token && m.Data["type"] == typ {
			out = append(out, m)
		}
	}
	return out
}

// hmsTo are the messages of type typ Push Kit received for token.
func (e *endsFixture) hmsTo(token, typ string) []hmsfake.Message {
	var out []hmsfake.Message
	for _, m := range e.hms.Received() {
		if len(m.Tokens) == 1 && m.Tokens[0] == token && m.Data["type"] == typ {
			out = append(out, m)
		}
	}
	return out
}

// apnsTo are the pushes APNs received for token.
func (e *endsFixture) apnsTo(token string) []apnsfake.Push {
	var out []apnsfake.Push
	for _, p := range e.apns.Received() {
		if p.Token == token {
			out = append(out, p)
		}
	}
	return out
}

// innerData decodes the "data" of an FCM message: the socket event's data.
func innerData(t *testing.T, m fcmfake.Message) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(m.Data["data"]), &d); err != nil {
		t.Fatalf("data %q: %v", m.Data["data"], err)
	}
	return d
}

func callID(v map[string]any) int64 { return int64(v["call_id"].(float64)) }

// sentAt reads a send's time.
func sentAt(t *testing.T, s adminSend) time.Time {
	t.Helper()
	at, err := time.Parse(time.DateTime, s.At)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestRingEndCancelsAndroidPushes: each end of a ring sends exactly one
// intercom_cancel, with the end's reason, to every Android device rung
// through FCM or Push Kit but the one that answered; its data is the socket
// event's, and on FCM it collapses with the ring. The iPhone rung by a
// VoIP push gets no VoIP push for the end: APNs receives its ring and, for
// a missed call, the alert push, nothing else.
func TestRingEndCancelsAndroidPushes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, reason, endReason string
		end                     func(e *endsFixture, w *world, v map[string]any, tablet device)
	}{
		{"answered elsewhere", "answered_elsewhere", "", func(e *endsFixture, w *world, v map[string]any, tablet device) {
			e.want(e.as(tablet, "POST", callPath(v, "start"), ""), 200)
		}},
		{"ring timeout", "timeout", "ring_timeout", func(e *endsFixture, w *world, v map[string]any, tablet device) {
			e.clock.Advance(endsRingTimeout)
		}},
		{"visitor left", "hangup", "visitor_left", func(e *endsFixture, w *world, v map[string]any, tablet device) {
			e.want(e.hw(w.secret, "POST", "/api/hw/v1/calls/"+itoa(callID(v))+"/end", ""), 204)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEndsFixture(t, nil)
			w := newWorldWith(t, e.fixture, "android")
			e.register(w.alice, `{"fcm_token":"fcm-alice"}`, "")
			e.phone("alice", "alice-huawei", "android", `{"huawei_token":"hms-alice"}`, "")
			e.phone("alice", "alice-iphone", "ios", `{"voip_token":"voip-alice","apn_token":"apn-alice"}`, "")
			tablet := e.phone("alice", "alice-tablet", "android", `{"fcm_token":"fcm-tablet"}`, "")
			phoneSock := e.socket(t, w.alice) // an Android socket gets the events, though it does not ring
			answered := tc.reason == "answered_elsewhere"

			v := w.ring(`{"flat":15}`)
			if v["status"] != "ring" || len(v["recipients"].([]any)) != 4 {
				t.Fatalf("ring %v", v)
			}
			e.srv.Wait()
			rings := e.fcmTo("fcm-alice", "intercom_ring")
			if len(rings) != 1 || rings[0].CollapseKey != "call-"+itoa(callID(v)) {
				t.Fatalf("FCM rings %+v", rings)
			}
			tc.end(e, w, v, tablet)
			ev := phoneSock.expect("intercom_cancel")
			e.srv.Wait()

			cancels := e.fcmTo("fcm-alice", "intercom_cancel")
			if len(cancels) != 1 {
				t.Fatalf("FCM intercom_cancel to alice's phone: %+v", cancels)
			}
			c := cancels[0]
			if c.Data["reason"] != tc.reason || c.Priority != "HIGH" || c.TTL != "30s" || c.Notification != nil {
				t.Errorf("intercom_cancel %+v, want reason %s, HIGH, ttl 30s", c, tc.reason)
			}
			if c.CollapseKey != rings[0].CollapseKey {
				t.Errorf("collapse key %q, the ring's %q", c.CollapseKey, rings[0].CollapseKey)
			}
			if ev["reason"] != tc.reason {
				t.Errorf("socket event %v", ev)
			}
			if diff := cmp.Diff(ev.data(), innerData(t, c)); diff != "" {
				t.Errorf("push data differs from the socket event's (-socket +push):\n%s", diff)
			}
			if ev.data()["reason"] != tc.reason {
				t.Errorf("socket data %v", ev.data())
			}

			wantTablet := 1
			if answered {
				wantTablet = 0 // it answered
			}
			if got := e.fcmTo("fcm-tablet", "intercom_cancel"); len(got) != wantTablet {
				t.Errorf("the tablet got %d cancels, want %d: %+v", len(got), wantTablet, got)
			}
			if hc := e.hmsTo("hms-alice", "intercom_cancel"); len(hc) != 1 || hc[0].Data["reason"] != tc.reason ||
				hc[0].Data["data"].(map[string]any)["reason"] != tc.reason || hc[0].Urgency != "HIGH" {
				t.Errorf("Push Kit intercom_cancel %+v", hc)
			}

			// APNs: the ring's VoIP push, and for a missed call the alert.
			var voip, alerts int
			for _, p := range e.apns.Received() {
				switch {
				case p.PushType == "voip" && p.Payload["type"] == "intercom_ring":
					voip++
				case p.PushType == "alert" && p.Payload["type"] == "call.missed" && p.Token == "apn-alice":
					alerts++
				default:
					t.Errorf("APNs received %+v", p)
				}
			}
			wantAlerts := 1
			if answered {
				wantAlerts = 0
			}
			if voip != 1 || alerts != wantAlerts {
				t.Errorf("APNs: %d VoIP pushes, %d alerts; want 1, %d", voip, alerts, wantAlerts)
			}

			a := e.adminCall(callID(v))
			if s := a.send(t, "alice-phone", "intercom_cancel"); s.Outcome != "sent" || s.Channel != "fcm" || s.Attempts != 1 ||
				!strings.HasPrefix(s.ProviderID, "projects/test-project/messages/") {
				t.Errorf("cancel record %+v", s)
			}
			if s := a.send(t, "alice-huawei", "intercom_cancel"); s.Outcome != "sent" || s.Channel != "hms" {
				t.Errorf("Push Kit cancel record %+v", s)
			}
			if s := a.sends(t, "alice-iphone", "intercom_cancel"); len(s) != 0 {
				t.Errorf("the iPhone has cancel sends %+v", s)
			}
			if tc.endReason != "" && (a.EndReason == nil || *a.EndReason != tc.endReason) {
				t.Errorf("end_reason %v, want %s", a.EndReason, tc.endReason)
			}
		})
	}
}

// TestLoggedOutDeviceGetsNoEndPushes: a device logged out between the ring
// and its end has no live token: no cancel and no missed-call notification
// reach it, while a device still signed in gets both.
func TestLoggedOutDeviceGetsNoEndPushes(t *testing.T) {
	t.Parallel()
	e := newEndsFixture(t, nil)
	w := newWorldWith(t, e.fixture, "android")
	e.register(w.alice, `{"fcm_token":"fcm-alice"}`, "")
	gone := e.phone("alice", "alice-gone", "android", `{"fcm_token":"fcm-gone"}`, "")
	goneIPhone := e.phone("alice", "alice-gone-iphone", "ios", `{"voip_token":"voip-gone","apn_token":"apn-gone"}`, "")

	v := w.ring(`{"flat":15}`)
	e.srv.Wait()
	e.want(e.as(gone, "POST", "/api/v1/logout", ""), 204)
	e.want(e.as(goneIPhone, "POST", "/api/v1/logout", ""), 204)
	e.clock.Advance(endsRingTimeout)
	e.srv.Wait()

	for _, typ := range []string{"intercom_cancel", "call.missed"} {
		if got := e.fcmTo("fcm-alice", typ); len(got) != 1 {
			t.Errorf("alice's phone got %d %s, want 1", len(got), typ)
		}
		if got := e.fcmTo("fcm-gone", typ); len(got) != 0 {
			t.Errorf("the logged-out phone got %s: %+v", typ, got)
		}
	}
	if p := e.apnsTo("apn-gone"); len(p) != 0 {
		t.Errorf("the logged-out iPhone got alerts: %+v", p)
	}
	if p := e.apnsTo("voip-gone"); len(p) != 1 {
		t.Errorf("the logged-out iPhone's VoIP pushes: %+v, want its ring only", p)
	}
	a := e.adminCall(callID(v))
	for _, d := range []string{"alice-gone", "alice-gone-iphone"} {
		for _, s := range a.device(t, d).Sends {
			if s.Type != "intercom_ring" {
				t.Errorf("%s: send %+v after its logout", d, s)
			}
		}
	}
}

// TestMissedCallNotifications: a missed call notifies every device of the
// accounts it was for, rung or not (ringing off, outside its timetable):
// iPhones by an APNs alert push to the bundle and apn_token, Android by an
// FCM data message call.missed with the notification to show, each in the
// device's language and with its account's title for the intercom; an
// account one of whose devices declined gets none.
func TestMissedCallNotifications(t *testing.T) {
	t.Parallel()
	e := newEndsFixture(t, nil)
	w := newWorldWith(t, e.fixture, "android")
	e.register(w.alice, `{"fcm_token":"fcm-alice"}`, "ru-RU")
	e.phone("alice", "alice-iphone-ru", "ios", `{"voip_token":"voip-ru","apn_token":"apn-ru"}`, "ru")
	e.phone("alice", "alice-iphone-en", "ios", `{"voip_token":"voip-en","apn_token":"apn-en"}`, "en-US")
	off := e.phone("alice", "alice-off", "android", `{"fcm_token":"fcm-off"}`, "")
	e.ringOff(off, w.intercomID)
	late := e.phone("alice", "alice-late", "ios", `{"voip_token":"voip-late","apn_token":"apn-late"}`, "")
	e.want(e.as(late, "PATCH", "/api/v1/intercom/"+itoa(w.intercomID),
		`{"timetable":{"days":[{"type":"wednesday","from":"13:00Z","to":"14:00Z"}]}}`), 200) // now is 12:34
	bobID := e.user("bob")
	e.memberOf(w.intercomID, bobID, "15", "confirmed")
	bob := e.phone("bob", "bob-phone", "android", `{"fcm_token":"fcm-bob"}`, "")
	e.phone("bob", "bob-iphone", "ios", `{"apn_token":"apn-bob"}`, "") // no VoIP: not rung, still bob's
	carolID := e.user("carol")
	e.memberOf(w.intercomID, carolID, "15", "confirmed")
	e.phone("carol", "carol-phone", "android", `{"fcm_token":"fcm-carol"}`, "")

	v := w.ring(`{"flat":15}`)
	skipped := map[string]string{}
	for _, s := range v["skipped"].([]any) {
		m := s.(map[string]any)
		skipped[m["device"].(string)] = m["reason"].(string)
	}
	if diff := cmp.Diff(map[string]string{"alice-off": "disabled", "alice-late": "outside_timetable", "bob-iphone": "no_channel"}, skipped); diff != "" {
		t.Fatalf("skipped (-want +got):\n%s", diff)
	}
	e.want(e.as(bob, "POST", callPath(v, "cancel"), ""), 204) // bob's account declines; the others ring on
	e.srv.Wait()
	if got := len(e.fcm.Received()) + len(e.apns.Received()); got != 5 { // the rings
		t.Fatalf("%d pushes before the end, want the 5 rings", got)
	}
	e.clock.Advance(endsRingTimeout)
	e.srv.Wait()

	id := callID(v)
	aliceTitle, carolTitle := "Door of "+itoa(w.aliceID), "Door of "+itoa(carolID)
	ru := map[string]any{"title": "Пропущенный вызов", "body": "Домофон «" + aliceTitle + "»"}
	en := map[string]any{"title": "Missed call", "body": "Intercom “" + aliceTitle + "”"}
	for _, tc := range []struct {
		token string
		alert map[string]any
	}{{"apn-ru", ru}, {"apn-en", en}, {"apn-late", en}} {
		alerts := e.apnsTo(tc.token)
		if len(alerts) != 1 {
			t.Errorf("%s: %d APNs pushes, want one alert: %+v", tc.token, len(alerts), alerts)
			continue
		}
		p := alerts[0]
		if p.PushType != "alert" || p.Topic != apnsfake.Bundle || p.Payload["type"] != "call.missed" {
			t.Errorf("%s: push %+v", tc.token, p)
		}
		aps := p.Payload["aps"].(map[string]any)
		if diff := cmp.Diff(tc.alert, aps["alert"]); diff != "" {
			t.Errorf("%s: alert (-want +got):\n%s", tc.token, diff)
		}
		data := p.Payload["data"].(map[string]any)
		if data["call_id"] != float64(id) || data["title"] != aliceTitle {
			t.Errorf("%s: data %v", tc.token, data)
		}
	}
	for _, tc := range []struct {
		token, title string
		alert        map[string]any
	}{{"fcm-alice", aliceTitle, ru}, {"fcm-off", aliceTitle, en},
		{"fcm-carol", carolTitle, map[string]any{"title": "Missed call", "body": "Intercom “" + carolTitle + "”"}}} {
		ms := e.fcmTo(tc.token, "call.missed")
		if len(ms) != 1 {
			t.Errorf("%s: %d call.missed, want 1", tc.token, len(ms))
			continue
		}
		var n map[string]any
		if err := json.Unmarshal([]byte(ms[0].Data["notification"]), &n); err != nil {
			t.Fatalf("%s: notification %q: %v", tc.token, ms[0].Data["notification"], err)
		}
		if diff := cmp.Diff(tc.alert, n); diff != "" {
			t.Errorf("%s: notification (-want +got):\n%s", tc.token, diff)
		}
		if d := innerData(t, ms[0]); d["call_id"] != float64(id) || d["title"] != tc.title {
			t.Errorf("%s: data %v", tc.token, d)
		}
	}
	// The voip tokens rang and nothing more; bob's account declined.
	for _, tok := range []string{"voip-ru", "voip-en"} {
		if p := e.apnsTo(tok); len(p) != 1 || p[0].PushType != "voip" {
			t.Errorf("%s: %+v, want the ring only", tok, p)
		}
	}
	if p := e.apnsTo("voip-late"); len(p) != 0 {
		t.Errorf("voip-late was pushed though outside its timetable: %+v", p)
	}
	if p := e.apnsTo("apn-bob"); len(p) != 0 {
		t.Errorf("bob's account declined, but its iPhone was notified: %+v", p)
	}
	if m := e.fcmTo("fcm-bob", "call.missed"); len(m) != 0 {
		t.Errorf("bob's account declined, but its phone was notified: %+v", m)
	}

	a := e.adminCall(id)
	for _, tc := range []struct{ device, channel string }{{"alice-off", "fcm"}, {"alice-late", "apns"},
		{"alice-iphone-ru", "apns"}, {"alice-phone", "fcm"}, {"carol-phone", "fcm"}} {
		if s := a.send(t, tc.device, "call.missed"); s.Outcome != "sent" || s.Channel != tc.channel {
			t.Errorf("%s: missed record %+v", tc.device, s)
		}
	}
	for _, d := range []string{"bob-phone", "bob-iphone"} {
		if s := a.sends(t, d, "call.missed"); len(s) != 0 {
			t.Errorf("%s: %+v", d, s)
		}
	}
}

// TestMissedCallThatRangNobody: a call none of whose devices could ring
// (all switched off) is missed at once, and still notifies them.
func TestMissedCallThatRangNobody(t *testing.T) {
	t.Parallel()
	e := newEndsFixture(t, nil)
	w := newWorldWith(t, e.fixture, "android")
	e.register(w.alice, `{"fcm_token":"fcm-alice"}`, "")
	e.ringOff(w.alice, w.intercomID)
	iphone := e.phone("alice", "alice-iphone", "ios", `{"voip_token":"voip-alice","apn_token":"apn-alice"}`, "ru")
	e.ringOff(iphone, w.intercomID)

	v := w.ring(`{"flat":15}`)
	if v["status"] != "missed" || len(v["recipients"].([]any)) != 0 {
		t.Fatalf("ring %v", v)
	}
	e.srv.Wait()
	if m := e.fcmTo("fcm-alice", "call.missed"); len(m) != 1 {
		t.Errorf("FCM call.missed %+v", m)
	}
	if len(e.fcm.Received()) != 1 {
		t.Errorf("FCM received %+v, want the missed call only", e.fcm.Received())
	}
	if p := e.apns.Received(); len(p) != 1 || p[0].Token != "apn-alice" || p[0].PushType != "alert" ||
		p[0].Payload["aps"].(map[string]any)["alert"].(map[string]any)["title"] != "Пропущенный вызов" {
		t.Errorf("APNs received %+v, want the missed call's alert only", p)
	}
	a := e.adminCall(callID(v))
	if a.EndReason == nil || *a.EndReason != "nobody_rung" {
		t.Errorf("end_reason %v", a.EndReason)
	}
	for _, d := range []string{"alice-phone", "alice-iphone"} {
		if s := a.send(t, d, "call.missed"); s.Outcome != "sent" {
			t.Errorf("%s: %+v", d, s)
		}
	}
}

// TestEndPushFaults: the cancel and the missed-call notification retried
// through a provider's 5xx and 429 (honouring Retry-After), given up on a
// provider that hangs within the message's life without slowing the
// requests that ended the ring, and a dead token recorded and cleared.
func TestEndPushFaults(t *testing.T) {
	type fault struct {
		name   string
		script func(e *endsFixture, d device) // before the end, on the device's next send
		check  func(t *testing.T, e *endsFixture, s adminSend, ended time.Time, life time.Duration)
	}
	faults := []fault{
		{"5xx then sent", func(e *endsFixture, d device) { e.fcm.FailNext("busy", 1) },
			func(t *testing.T, e *endsFixture, s adminSend, ended time.Time, life time.Duration) {
				if s.Outcome != "sent" || s.Attempts != 2 || s.Status != 200 || !strings.HasPrefix(s.ProviderID, "projects/") {
					t.Errorf("record %+v, want sent in 2 attempts", s)
				}
				if w := e.longestWait(); w < 2*time.Second {
					t.Errorf("waited %v between attempts, not the 2 s of Retry-After", w)
				}
			}},
		{"429 with Retry-After then sent", func(e *endsFixture, d device) { e.fcm.FailNext("quota", 1) },
			func(t *testing.T, e *endsFixture, s adminSend, ended time.Time, life time.Duration) {
				if s.Outcome != "sent" || s.Attempts != 2 {
					t.Errorf("record %+v, want sent in 2 attempts", s)
				}
				if w := e.longestWait(); w < 10*time.Second {
					t.Errorf("waited %v between attempts, not the 10 s of Retry-After", w)
				}
				if at := sentAt(t, s); at.Before(ended.Add(10 * time.Second)) {
					t.Errorf("sent at %v, before Retry-After passed (ended %v)", at, ended)
				}
			}},
		{"hanging", func(e *endsFixture, d device) { e.register(d, `{"fcm_token":"hang"}`, "") },
			func(t *testing.T, e *endsFixture, s adminSend, ended time.Time, life time.Duration) {
				if s.Outcome != "timed_out" && s.Outcome != "failed" || s.Attempts < 1 {
					t.Errorf("record %+v, want timed_out or failed", s)
				}
				if at := sentAt(t, s); at.After(ended.Add(life)) {
					t.Errorf("given up at %v, after the message's life (ended %v, life %v)", at, ended, life)
				}
			}},
		{"dead token", func(e *endsFixture, d device) { e.register(d, `{"fcm_token":"unregistered"}`, "") },
			func(t *testing.T, e *endsFixture, s adminSend, ended time.Time, life time.Duration) {
				if s.Outcome != "dead_token" || s.Attempts != 1 || s.Status != 404 {
					t.Errorf("record %+v, want dead_token", s)
				}
			}},
	}
	// A hanging attempt is cut after this much real time; the other faults
	// keep the default, so that an attempt slowed by a busy machine is not
	// cut and counted twice.
	attempt := func(fc fault) func(*node.Config) {
		return func(c *node.Config) {
			if fc.name == "hanging" {
				c.PushAttemptTimeout = 300 * time.Millisecond
			}
		}
	}
	// The subtests of a hang run alone: that a request returned before its
	// send gave up must not depend on a busy machine.
	parallel := func(t *testing.T, fc fault) {
		if fc.name != "hanging" {
			t.Parallel()
		}
	}

	for _, fc := range faults {
		// The cancel: alice's phone rung through FCM, her tablet answers.
		t.Run("cancel/"+fc.name, func(t *testing.T) {
			parallel(t, fc)
			e := newEndsFixture(t, attempt(fc))
			w := newWorldWith(t, e.fixture, "android")
			e.register(w.alice, `{"fcm_token":"fcm-alice"}`, "")
			tablet := e.phone("alice", "alice-tablet", "android", `{"fcm_token":"fcm-tablet"}`, "")
			v := w.ring(`{"flat":15}`)
			e.srv.Wait()
			fc.script(e, w.alice)
			ended := e.clock.Now()
			e.want(e.as(tablet, "POST", callPath(v, "start"), ""), 200)
			// A provider that hangs did not hold the answer: its send is
			// still under way.
			if s := e.adminCall(callID(v)).sends(t, "alice-phone", "intercom_cancel"); fc.name == "hanging" && len(s) != 0 {
				t.Fatalf("the answer waited for the cancel's send: %+v", s)
			}
			e.srv.Wait()
			a := e.adminCall(callID(v))
			fc.check(t, e, a.send(t, "alice-phone", "intercom_cancel"), ended, endsRingTimeout)
			if fc.name == "dead token" { // the token is gone: the next ring cannot push alice's phone
				next := w.ring(`{"flat":15}`)
				e.srv.Wait()
				if d := e.adminCall(callID(next)).device(t, "alice-phone"); d.Reason != "no_channel" {
					t.Errorf("after a dead token alice's phone is %+v, want skipped no_channel", d)
				}
			}
		})
		// The missed-call notification: alice's phone does not ring, the
		// call rings nobody and is missed at once.
		t.Run("missed/"+fc.name, func(t *testing.T) {
			parallel(t, fc)
			e := newEndsFixture(t, attempt(fc))
			w := newWorldWith(t, e.fixture, "android")
			e.register(w.alice, `{"fcm_token":"fcm-alice"}`, "")
			e.ringOff(w.alice, w.intercomID)
			fc.script(e, w.alice)
			ended := e.clock.Now()
			v := w.ring(`{"flat":15}`)
			if v["status"] != "missed" {
				t.Fatalf("ring %v", v)
			}
			if s := e.adminCall(callID(v)).sends(t, "alice-phone", "call.missed"); fc.name == "hanging" && len(s) != 0 {
				t.Fatalf("the ring waited for the notification's send: %+v", s)
			}
			e.srv.Wait()
			a := e.adminCall(callID(v))
			fc.check(t, e, a.send(t, "alice-phone", "call.missed"), ended, 24*time.Hour)
			if fc.name == "dead token" {
				e.want(e.as(w.alice, "PATCH", "/api/v1/intercom/"+itoa(w.intercomID), `{"is_enabled":true}`), 200)
				next := w.ring(`{"flat":15}`)
				if d := e.adminCall(callID(next)).device(t, "alice-phone"); d.Reason != "no_channel" {
					t.Errorf("after a dead token alice's phone is %+v, want skipped no_channel", d)
				}
				e.srv.Wait()
			}
		})
	}
}

// TestEndPushHangDoesNotSlowTheVisitor: the visitor leaving a ring whose
// cancel goes to a provider that hangs is answered at once.
func TestEndPushHangDoesNotSlowTheVisitor(t *testing.T) {
	e := newEndsFixture(t, func(c *node.Config) { c.PushAttemptTimeout = 300 * time.Millisecond })
	w := newWorldWith(t, e.fixture, "android")
	e.register(w.alice, `{"fcm_token":"fcm-alice"}`, "")
	v := w.ring(`{"flat":15}`)
	e.srv.Wait()
	e.register(w.alice, `{"fcm_token":"hang"}`, "")
	e.want(e.hw(w.secret, "POST", "/api/hw/v1/calls/"+itoa(callID(v))+"/end", ""), 204)
	a := e.adminCall(callID(v))
	if s := a.sends(t, "alice-phone", "intercom_cancel"); len(s) != 0 {
		t.Fatalf("the end waited for the cancel's send: %+v", s)
	}
	if s := a.sends(t, "alice-phone", "call.missed"); len(s) != 0 {
		t.Fatalf("the end waited for the notification's send: %+v", s)
	}
	e.srv.Wait()
	a = e.adminCall(callID(v))
	for _, typ := range []string{"intercom_cancel", "call.missed"} {
		if s := a.send(t, "alice-phone", typ); s.Outcome != "timed_out" && s.Outcome != "failed" {
			t.Errorf("%s: %+v", typ, s)
		}
	}
}

// TestRingEvidence: the admin view says how each rung device was seen —
// socket (a web socket subscribed at the ring), fetch (it read the call
// while ringing), start, cancel — and a pushed phone that never looked is
// unseen; when the ring ends the metric counts the accepted ring pushes,
// seen and not.
func TestRingEvidence(t *testing.T) {
	t.Parallel()
	e := newEndsFixture(t, nil)
	w := newWorldWith(t, e.fixture, "web")
	e.socket(t, w.alice).drain()
	fetcher := e.phone("alice", "alice-fetcher", "android", `{"fcm_token":"fcm-fetcher"}`, "")
	decliner := e.phone("alice", "alice-decliner", "android", `{"fcm_token":"fcm-decliner"}`, "")
	answerer := e.phone("alice", "alice-answerer", "android", `{"fcm_token":"fcm-answerer"}`, "")
	e.phone("alice", "alice-sleeper", "android", `{"fcm_token":"fcm-sleeper"}`, "")

	v := w.ring(`{"flat":15}`)
	e.srv.Wait()
	e.want(e.as(fetcher, "GET", callPath(v, ""), ""), 200)
	e.want(e.as(decliner, "POST", callPath(v, "cancel"), ""), 204)
	metric := func() string { return string(e.want(e.do(request{method: "GET", path: "/metrics"}), 200).Body) }
	if m := metric(); strings.Contains(m, "intercomd_ring_pushes_total{") {
		t.Errorf("ring pushes counted while the ring goes on")
	}
	e.clock.Advance(time.Second)
	e.want(e.as(answerer, "POST", callPath(v, "start"), ""), 200)
	e.want(e.as(fetcher, "GET", callPath(v, ""), ""), 200) // after the ring: not evidence of anything
	e.srv.Wait()

	a := e.adminCall(callID(v))
	ringAt := start.Format(time.DateTime)
	for _, tc := range []struct {
		device, by string
		at         string
	}{{"alice-phone", "socket", ringAt}, {"alice-fetcher", "fetch", ringAt}, {"alice-decliner", "cancel", ringAt},
		{"alice-answerer", "start", start.Add(time.Second).Format(time.DateTime)}} {
		d := a.device(t, tc.device)
		if d.SeenBy == nil || *d.SeenBy != tc.by || d.SeenAt == nil || *d.SeenAt != tc.at {
			t.Errorf("%s: seen_by %v at %v, want %s at %s", tc.device, strOf(d.SeenBy), strOf(d.SeenAt), tc.by, tc.at)
		}
	}
	if d := a.device(t, "alice-sleeper"); d.SeenAt != nil || d.SeenBy != nil {
		t.Errorf("the sleeper was seen: %v by %v", strOf(d.SeenAt), strOf(d.SeenBy))
	}
	if a.Status != "answered" || a.EndReason != nil || a.ConnectedAt != nil {
		t.Errorf("call %+v", a)
	}
	m := metric()
	for _, line := range []string{`intercomd_ring_pushes_total{channel="fcm",client="android",seen="false"} 1`,
		`intercomd_ring_pushes_total{channel="fcm",client="android",seen="true"} 3`} {
		if !strings.Contains(m, line+"\n") {
			t.Errorf("metrics lack %s", line)
		}
	}
	if strings.Contains(m, `intercomd_ring_pushes_total{channel="ws"`) {
		t.Errorf("the web device, rung over its socket, counted as pushed")
	}
}

func strOf(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// TestPushIDsInTheRecord: a VoIP ring push carries apns-collapse-id
// "call-<id>" and an apns-id (a UUID) that the send record shows as its
// provider_id; an FCM send records the message's name.
func TestPushIDsInTheRecord(t *testing.T) {
	t.Parallel()
	e := newEndsFixture(t, nil)
	w := newWorldWith(t, e.fixture, "ios")
	e.register(w.alice, `{"voip_token":"voip-alice"}`, "")
	e.phone("alice", "alice-android", "android", `{"fcm_token":"fcm-alice"}`, "")
	v := w.ring(`{"flat":15}`)
	e.srv.Wait()

	p := e.apns.Received()
	if len(p) != 1 {
		t.Fatalf("APNs received %+v", p)
	}
	if p[0].CollapseID != "call-"+itoa(callID(v)) {
		t.Errorf("apns-collapse-id %q", p[0].CollapseID)
	}
	if err := uuid.Validate(p[0].ID); err != nil || len(p[0].ID) != 36 {
		t.Errorf("apns-id %q: %v", p[0].ID, err)
	}
	a := e.adminCall(callID(v))
	if s := a.send(t, "alice-phone", "intercom_ring"); s.ProviderID != p[0].ID || s.ProviderID != p[0].AnsweredID || s.Channel != "apns-voip" {
		t.Errorf("record %+v, apns-id sent %q, answered %q", s, p[0].ID, p[0].AnsweredID)
	}
	m := e.fcm.Received()
	if len(m) != 1 || m[0].Name == "" {
		t.Fatalf("FCM received %+v", m)
	}
	if s := a.send(t, "alice-android", "intercom_ring"); s.ProviderID != m[0].Name {
		t.Errorf("record %+v, FCM's name %q", s, m[0].Name)
	}
}

// TestEndPushFaultsOnAPNsAndPushKit: the missed-call alert to an iPhone and
// the cancel to a Huawei phone through providers that refuse: 503 and 429
// are retried until the attempts run out and recorded failed with the
// provider's status; a dead APNs token is recorded and cleared. The ring
// itself is never held.
func TestEndPushFaultsOnAPNsAndPushKit(t *testing.T) {
	t.Parallel()
	e := newEndsFixture(t, nil)
	w := newWorldWith(t, e.fixture, "android")
	e.register(w.alice, `{"fcm_token":"fcm-alice"}`, "")
	e.phone("alice", "alice-busy", "ios", `{"voip_token":"voip-busy","apn_token":"busy"}`, "")
	e.phone("alice", "alice-toomany", "ios", `{"voip_token":"voip-toomany","apn_token":"toomany"}`, "")
	e.phone("alice", "alice-gone", "ios", `{"voip_token":"voip-gone","apn_token":"unregistered"}`, "")
	e.phone("alice", "alice-huawei", "android", `{"huawei_token":"busy"}`, "")

	v := w.ring(`{"flat":15}`)
	e.srv.Wait()
	e.clock.Advance(endsRingTimeout) // nobody answers: missed, cancels and alerts
	e.srv.Wait()
	a := e.adminCall(callID(v))
	for _, tt := range []struct {
		device, typ string
		outcomes    []string
		status      int
	}{
		{"alice-busy", "call.missed", []string{"failed"}, 503},
		{"alice-toomany", "call.missed", []string{"failed"}, 429},
		{"alice-gone", "call.missed", []string{"dead_token"}, 410},
		// Push Kit asks 2 s between attempts: the attempts run out, or the
		// cancel's life (the ring timeout) does, whichever comes first.
		{"alice-huawei", "intercom_cancel", []string{"failed", "timed_out"}, 503},
	} {
		s := a.send(t, tt.device, tt.typ)
		if !slices.Contains(tt.outcomes, s.Outcome) || s.Status != tt.status || (s.Outcome != "dead_token" && s.Attempts < 2) {
			t.Errorf("%s %s: %+v, want %v with %d", tt.device, tt.typ, s, tt.outcomes, tt.status)
		}
	}
	// The dead apn_token is cleared: the next missed call sends it no alert.
	next := w.ring(`{"flat":15}`)
	e.srv.Wait()
	e.clock.Advance(endsRingTimeout)
	e.srv.Wait()
	if s := e.adminCall(callID(next)).sends(t, "alice-gone", "call.missed"); len(s) != 0 {
		t.Errorf("a cleared apn_token was pushed: %+v", s)
	}
}
