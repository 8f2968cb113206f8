package http_test

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"intercom"
	"intercom/apns"
	"intercom/apns/apnsfake"
	"intercom/fcm"
	"intercom/fcm/fcmfake"
	"intercom/hms"
	"intercom/hms/hmsfake"
	"intercom/node"
)

// pushFixture is a server whose push providers are the real APNs and FCM
// clients, talking to fakes of the real services.
func pushFixture(t *testing.T, ringTimeout time.Duration, clock intercom.Clock) (*fixture, *apnsfake.Fake, *fcmfake.Fake) {
	t.Helper()
	apnsFake, apnsCfg := apnsfake.Start(t)
	fcmFake, fcmCfg := fcmfake.Start(t)
	_, hmsCfg := hmsfake.Start(t)
	hp, err := hms.New(hmsCfg)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := apns.New(apnsCfg)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := fcm.New(fcmCfg)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, func(c *node.Config) {
		c.PushProviders = []intercom.PushProvider{ap, fp, hp}
		c.RingTimeout = ringTimeout
		if clock != nil {
			c.Clock = clock
		}
	})
	return f, apnsFake, fcmFake
}

func TestRingThroughPush(t *testing.T) {
	f, apnsFake, fcmFake := pushFixture(t, 30*time.Second, nil)
	w := newWorldWith(t, f, "ios")
	f.want(f.as(w.alice, "PUT", "/api/v1/devices", `{"voip_token":"a1b2c3d4"}`), 204) // the iPhone
	android := f.loginAs("alice", "alice-android", "android")
	f.want(f.as(android, "PUT", "/api/v1/devices", `{"fcm_token":"fcm-alice"}`), 204)
	huawei := f.loginAs("alice", "alice-huawei", "android") // no Google services: Push Kit only
	f.want(f.as(huawei, "PUT", "/api/v1/devices", `{"huawei_token":"hms-alice"}`), 204)
	bobID := f.user("bob")
	f.memberOf(w.intercomID, bobID, "15", "confirmed")
	bob := f.loginAs("bob", "bob-android", "android-cctv")
	f.want(f.as(bob, "PUT", "/api/v1/devices", `{"fcm_token":"unregistered"}`), 204)
	f.loginAs("bob", "bob-tablet", "web") // no socket, no push: no channel

	v := w.ring(`{"flat":15}`)
	channels := map[string]string{}
	for _, r := range v["recipients"].([]any) {
		m := r.(map[string]any)
		var chs []string
		for _, c := range m["channels"].([]any) {
			chs = append(chs, c.(string))
		}
		channels[m["device"].(string)] = strings.Join(chs, ",")
	}
	want := map[string]string{"alice-phone": "apns-voip", "alice-android": "fcm", "alice-huawei": "hms", "bob-android": "fcm"}
	for d, ch := range want {
		if channels[d] != ch {
			t.Errorf("%s rung on %q, want %q (recipients %v)", d, channels[d], ch, v["recipients"])
		}
	}
	if s := v["skipped"].([]any); len(s) != 1 || s[0].(map[string]any)["reason"] != "no_channel" {
		t.Errorf("skipped %v", s)
	}
	f.srv.Wait()

	outcomes := map[string]string{}
	a := f.want(f.admin("GET", "/api/admin/v1/calls/"+itoa(int64(v["call_id"].(float64))), ""), 200).JSON(t)
	for _, r := range a["recipients"].([]any) {
		m := r.(map[string]any)
		for _, s := range m["sends"].([]any) {
			outcomes[m["device"].(string)] = s.(map[string]any)["outcome"].(string)
		}
	}
	if outcomes["alice-phone"] != "sent" || outcomes["alice-android"] != "sent" || outcomes["alice-huawei"] != "sent" || outcomes["bob-android"] != "dead_token" {
		t.Errorf("outcomes %v", outcomes)
	}
	// APNs got the VoIP push with the call; FCM the data message.
	if p := apnsFake.Pushes(); len(p) != 1 || p[0]["data"].(map[string]any)["call_id"] != v["call_id"] {
		t.Errorf("APNs pushes %v", p)
	}
	if m := fcmFake.Messages(); len(m) != 2 {
		t.Errorf("FCM messages %v", m)
	}
	// The dead token is gone: the next ring does not push it.
	v = w.ring(`{"flat":15}`)
	for _, r := range v["recipients"].([]any) {
		if r.(map[string]any)["device"] == "bob-android" {
			t.Errorf("bob's dead token still rung: %v", r)
		}
	}
	f.srv.Wait()
	metrics := string(f.want(f.do(request{method: "GET", path: "/metrics"}), 200).Body)
	for _, line := range []string{`intercomd_push_sends_total{channel="fcm",outcome="dead_token",type="intercom_ring"} 1`,
		`intercomd_push_sends_total{channel="apns-voip",outcome="sent",type="intercom_ring"} 2`} {
		if !strings.Contains(metrics, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

// A provider that hangs: the ring still answers at once, and the send gives
// up by the ring timeout. The hang is a real network peer's, so this one
// runs on the real clock, with a 1 s ring timeout.
func TestPushProviderHangs(t *testing.T) {
	f, _, _ := pushFixture(t, time.Second, intercom.SystemClock{})
	w := newWorldWith(t, f, "ios")
	f.want(f.as(w.alice, "PUT", "/api/v1/devices", `{"voip_token":"hang"}`), 204)
	start := time.Now()
	v := w.ring(`{"flat":15}`)
	if v["status"] != "ring" {
		t.Fatalf("ring %v", v)
	}
	// The ring answered before the send ended: nothing is recorded yet.
	a := f.want(f.admin("GET", "/api/admin/v1/calls/"+itoa(int64(v["call_id"].(float64))), ""), 200).JSON(t)
	if s := a["recipients"].([]any)[0].(map[string]any)["sends"].([]any); len(s) != 0 {
		t.Fatalf("the ring waited for the provider: %v", s)
	}
	f.srv.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the send gave up after %v, not by the 1 s ring timeout", took)
	}
	a = f.want(f.admin("GET", "/api/admin/v1/calls/"+itoa(int64(v["call_id"].(float64))), ""), 200).JSON(t)
	s := a["recipients"].([]any)[0].(map[string]any)["sends"].([]any)[0].(map[string]any)
	if s["outcome"] != "timed_out" {
		t.Errorf("send %v", s)
	}
}

// BenchmarkRingToPush rings an intercom whose 1,000 member devices are all
// reached by push (500 iOS on APNs, 500 Android on FCM, fakes of both
// services over TLS) and reports the p99 of the ring's answer and the
// slowest time until every send was answered by its provider and recorded.
func BenchmarkRingToPush(b *testing.B) {
	apnsFake, apnsCfg := apnsfake.Start(b)
	fcmFake, fcmCfg := fcmfake.Start(b)
	ap, _ := apns.New(apnsCfg)
	fp, _ := fcm.New(fcmCfg)
	f := newFixtureWith(b, func(c *node.Config) {
		c.PushProviders = []intercom.PushProvider{ap, fp}
		c.Clock = intercom.SystemClock{}
		c.RingTimeout = time.Minute
	})
	ctx := b.Context()
	id, secret := f.provision(`{"address":"Tower"}`)
	now := time.Now()
	for u := 0; u < 250; u++ {
		user, err := f.store.CreateUser(ctx, intercom.User{Login: "u" + itoa(int64(u)), PasswordHash: "-", CreatedAt: now, UpdatedAt: now})
		if err != nil {
			b.Fatal(err)
		}
		f.memberOf(id, user.ID, "1", "confirmed")
		for d, client := range []string{"ios", "ios", "android", "android"} {
			_, tok := intercom.NewAccessToken(user.ID, "d"+itoa(int64(u))+"-"+itoa(int64(d)), client, now, time.Hour)
			if tok, err = f.store.CreateAccessToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
			token := "push-" + tok.PublicID
			pt := &token
			upd := intercom.PushTokensUpdate{VoIP: &pt}
			if client == "android" {
				upd = intercom.PushTokensUpdate{FCM: &pt}
			}
			if err := f.store.UpdatePushTokens(ctx, tok.DeviceID, upd, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	var rings, handoffs []time.Duration
	for b.Loop() {
		start := time.Now()
		res := f.hw(secret, "POST", "/api/hw/v1/ring", `{"flat":1}`)
		rings = append(rings, time.Since(start))
		if res.Code != 201 || len(res.JSON(b)["recipients"].([]any)) != 1000 {
			b.Fatalf("ring: %d", res.Code)
		}
		f.srv.Wait()
		handoffs = append(handoffs, time.Since(start))
	}
	if got := len(apnsFake.Pushes()) + len(fcmFake.Messages()); got != 1000*len(rings) {
		b.Fatalf("%d pushes reached the fakes, want %d", got, 1000*len(rings))
	}
	slices.Sort(rings)
	slices.Sort(handoffs)
	b.ReportMetric(float64(rings[len(rings)/2].Microseconds())/1000, "ring-p50-ms")
	b.ReportMetric(float64(rings[len(rings)*99/100].Microseconds())/1000, "ring-p99-ms")
	b.ReportMetric(float64(handoffs[len(handoffs)-1].Microseconds())/1000, "all-sent-max-ms")
}

// TestMobileSocketIsNotARingChannel: the SDKs ignore intercom_ring on the
// socket, so for ios/android clients an open socket is not a ring channel:
// without push they are skipped no_channel, and recipients never claim a
// device was rung when it was not. web and thick-legal ring over the socket;
// every rung device's socket still gets the call's events.
func TestMobileSocketIsNotARingChannel(t *testing.T) {
	f, apnsFake, _ := pushFixture(t, 30*time.Second, nil)
	w := newWorld(t, f) // alice-phone: web
	webSock := f.socket(t, w.alice)
	legal := f.loginAs("alice", "alice-desktop", "thick-legal")
	legalSock := f.socket(t, legal)
	var mobileSocks []*sock
	for _, client := range []string{"ios", "ios-cctv", "android", "android-cctv"} {
		mobileSocks = append(mobileSocks, f.socket(t, f.loginAs("alice", "alice-"+client, client)))
	}
	iphone := f.loginAs("alice", "alice-iphone", "ios") // socket open and a VoIP token
	f.want(f.as(iphone, "PUT", "/api/v1/devices", `{"voip_token":"a1b2c3d4"}`), 204)
	iphoneSock := f.socket(t, iphone)

	v := w.ring(`{"flat":15}`)
	rung := map[string]string{}
	for _, r := range v["recipients"].([]any) {
		m := r.(map[string]any)
		var chs []string
		for _, c := range m["channels"].([]any) {
			chs = append(chs, c.(string))
		}
		rung[m["device"].(string)] = strings.Join(chs, ",")
	}
	skipped := map[string]string{}
	for _, s := range v["skipped"].([]any) {
		m := s.(map[string]any)
		skipped[m["device"].(string)] = m["reason"].(string)
	}
	wantRung := map[string]string{"alice-phone": "ws", "alice-desktop": "ws", "alice-iphone": "apns-voip"}
	wantSkipped := map[string]string{"alice-ios": "no_channel", "alice-ios-cctv": "no_channel",
		"alice-android": "no_channel", "alice-android-cctv": "no_channel"}
	if !reflect.DeepEqual(rung, wantRung) {
		t.Errorf("recipients %v, want %v", rung, wantRung)
	}
	if !reflect.DeepEqual(skipped, wantSkipped) {
		t.Errorf("skipped %v, want %v", skipped, wantSkipped)
	}
	webSock.expect("intercom_ring")
	legalSock.expect("intercom_ring")
	iphoneSock.expect("intercom_ring") // rung by push; its socket gets the event too
	for _, s := range mobileSocks {
		s.none("intercom_ring")
	}
	f.srv.Wait()
	if p := apnsFake.Pushes(); len(p) != 1 {
		t.Errorf("APNs pushes %v, want the iPhone's one", p)
	}

	// Answered on the web: the devices rung by push hear of it on their socket.
	f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 200)
	for _, s := range []*sock{legalSock, iphoneSock} {
		if e := s.expect("intercom_cancel"); e.data()["reason"] != "answered_elsewhere" {
			t.Errorf("intercom_cancel %v", e)
		}
	}
	for _, s := range mobileSocks {
		s.none("intercom_cancel")
	}
}

// BenchmarkRingEndToCancelPush rings 1,000 Android devices by FCM (the fake
// over TLS), lets every ring push go out, then ends the ring (the visitor
// leaves) and reports how long from the end's request until the last of
// the 1,000 intercom_cancel pushes reached FCM: each device gets exactly one.
func BenchmarkRingEndToCancelPush(b *testing.B) {
	fcmFake, fcmCfg := fcmfake.Start(b)
	fp, _ := fcm.New(fcmCfg)
	var (
		cancels atomic.Int64
		mu      sync.Mutex
		told    = map[string]int{} // cancels per device token, this round
	)
	last := make(chan time.Time, 1)
	const devices = 1000
	fcmFake.OnReceive = func(m fcmfake.Message) {
		if m.Data["type"] != intercom.PushCancel {
			return
		}
		mu.Lock()
		told[m.Token]++
		mu.Unlock()
		if cancels.Add(1) == devices {
			last <- time.Now()
		}
	}
	f := newFixtureWith(b, func(c *node.Config) {
		c.PushProviders = []intercom.PushProvider{fp}
		c.Clock = intercom.SystemClock{}
		c.RingTimeout = time.Minute
	})
	ctx := b.Context()
	id, secret := f.provision(`{"address":"Tower"}`)
	now := time.Now()
	for u := range devices / 4 {
		user, err := f.store.CreateUser(ctx, intercom.User{Login: "u" + itoa(int64(u)), PasswordHash: "-", CreatedAt: now, UpdatedAt: now})
		if err != nil {
			b.Fatal(err)
		}
		f.memberOf(id, user.ID, "1", "confirmed")
		for d := range 4 {
			_, tok := intercom.NewAccessToken(user.ID, "d"+itoa(int64(u))+"-"+itoa(int64(d)), "android", now, time.Hour)
			if tok, err = f.store.CreateAccessToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
			token := "push-" + tok.PublicID
			pt := &token
			if err := f.store.UpdatePushTokens(ctx, tok.DeviceID, intercom.PushTokensUpdate{FCM: &pt}, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	var ends []time.Duration
	for b.Loop() {
		res := f.hw(secret, "POST", "/api/hw/v1/ring", `{"flat":1}`)
		if res.Code != 201 || len(res.JSON(b)["recipients"].([]any)) != devices {
			b.Fatalf("ring: %d", res.Code)
		}
		f.srv.Wait() // every ring push out
		cancels.Store(0)
		mu.Lock()
		clear(told)
		mu.Unlock()
		start := time.Now()
		f.want(f.hw(secret, "POST", "/api/hw/v1/calls/"+itoa(int64(res.JSON(b)["call_id"].(float64)))+"/end", ""), 204)
		select {
		case at := <-last:
			ends = append(ends, at.Sub(start))
		case <-time.After(time.Minute):
			b.Fatalf("%d of %d cancels in a minute", cancels.Load(), devices)
		}
		f.srv.Wait() // the missed-call notifications too, before the next ring
		mu.Lock()
		for token, n := range told {
			if n != 1 {
				b.Fatalf("%s got %d cancels", token, n)
			}
		}
		if len(told) != devices {
			b.Fatalf("%d devices got a cancel, want %d", len(told), devices)
		}
		mu.Unlock()
	}
	slices.Sort(ends)
	b.ReportMetric(float64(ends[len(ends)/2].Microseconds())/1000, "end-to-last-cancel-p50-ms")
	b.ReportMetric(float64(ends[(len(ends)*99+99)/100-1].Microseconds())/1000, "end-to-last-cancel-p99-ms")
}
