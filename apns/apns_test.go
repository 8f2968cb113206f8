package apns_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"intercom"
	"intercom/apns"
	"intercom/apns/apnsfake"
)

const pushID = "6e3c1a52-9f0b-4c8e-8a57-2f0d6b1c9e41"

var expires = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func message(token, typ string) intercom.PushMessage {
	return intercom.PushMessage{CallID: 7, DeviceID: 3, Token: token, Type: typ,
		Data: map[string]any{"call_id": 7, "id": 180}, Expires: expires, TTL: 30 * time.Second}
}

func missed(token string) intercom.PushMessage {
	m := message(token, intercom.PushMissed)
	m.Alert = &intercom.PushAlert{Title: "Домофон", Body: "Пропущенный вызов: подъезд 1"}
	m.CollapseID = "call-7"
	return m
}

// providers starts a fake and returns the VoIP and the alert provider
// configured for it, as cmd/intercomd configures them: from one Config.
func providers(t *testing.T) (*apnsfake.Fake, *apns.Provider, *apns.Provider) {
	t.Helper()
	fake, cfg := apnsfake.Start(t)
	v, err := apns.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := apns.NewAlert(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fake, v, a
}

func TestChannels(t *testing.T) {
	_, v, a := providers(t)
	if v.Channel() != intercom.ChannelAPNsVoIP || a.Channel() != intercom.ChannelAPNsAlert {
		t.Errorf("channels %q and %q", v.Channel(), a.Channel())
	}
}

// TestHeadersAndPayloads: what each provider puts on the wire for each
// kind of message, and the apns-id it returns.
func TestHeadersAndPayloads(t *testing.T) {
	data := map[string]any{"call_id": float64(7), "id": float64(180)}
	for _, tc := range []struct {
		name  string
		alert bool // the alert provider, else the VoIP one
		m     func() intercom.PushMessage
		want  apnsfake.Push // AnsweredID "" means a UUID of APNs' own
	}{{
		name: "ring over VoIP with collapse and apns-id",
		m: func() intercom.PushMessage {
			m := message("a1b2", intercom.PushRing)
			m.CollapseID, m.ID = "call-7", pushID
			return m
		},
		want: apnsfake.Push{Token: "a1b2", PushType: "voip", Topic: apnsfake.Bundle + ".voip", Priority: "10",
			CollapseID: "call-7", ID: pushID, AnsweredID: pushID, Expiration: expires,
			Payload: map[string]any{"aps": map[string]any{}, "type": "intercom_ring", "data": data}},
	}, {
		name: "ring over VoIP, APNs chooses the id",
		m:    func() intercom.PushMessage { return message("a1b2", intercom.PushRing) },
		want: apnsfake.Push{Token: "a1b2", PushType: "voip", Topic: apnsfake.Bundle + ".voip", Priority: "10", Expiration: expires,
			Payload: map[string]any{"aps": map[string]any{}, "type": "intercom_ring", "data": data}},
	}, {
		name:  "missed call as an alert",
		alert: true,
		m: func() intercom.PushMessage {
			m := missed("c0ffee")
			m.ID = pushID
			return m
		},
		want: apnsfake.Push{Token: "c0ffee", PushType: "alert", Topic: apnsfake.Bundle, Priority: "10",
			CollapseID: "call-7", ID: pushID, AnsweredID: pushID, Expiration: expires,
			Payload: map[string]any{
				"aps": map[string]any{
					"alert":     map[string]any{"title": "Домофон", "body": "Пропущенный вызов: подъезд 1"},
					"sound":     "default",
					"thread-id": "intercom-calls",
				},
				"type": "call.missed", "data": data}},
	}, {
		name:  "alert without collapse, id or expiry",
		alert: true,
		m: func() intercom.PushMessage {
			m := missed("c0ffee")
			m.CollapseID, m.Expires = "", time.Time{}
			return m
		},
		want: apnsfake.Push{Token: "c0ffee", PushType: "alert", Topic: apnsfake.Bundle, Priority: "10",
			Payload: map[string]any{
				"aps": map[string]any{
					"alert":     map[string]any{"title": "Домофон", "body": "Пропущенный вызов: подъезд 1"},
					"sound":     "default",
					"thread-id": "intercom-calls",
				},
				"type": "call.missed", "data": data}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			fake, v, a := providers(t)
			p := v
			if tc.alert {
				p = a
			}
			r := p.Send(t.Context(), tc.m())
			got := fake.Received()
			if len(got) != 1 {
				t.Fatalf("%d pushes, want 1", len(got))
			}
			want := tc.want
			if want.AnsweredID == "" {
				if err := uuid.Validate(got[0].AnsweredID); err != nil {
					t.Errorf("APNs's own apns-id %q: %v", got[0].AnsweredID, err)
				}
				want.AnsweredID = got[0].AnsweredID
			}
			if diff := cmp.Diff(want, got[0]); diff != "" {
				t.Errorf("push (-want +got):\n%s", diff)
			}
			wantResult := intercom.PushResult{Outcome: intercom.SendSent, Status: 200, ID: want.AnsweredID}
			if diff := cmp.Diff(wantResult, r); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRefusedWithoutARequest: what a provider may not carry fails at once,
// is not retried, and sends nothing. Above all no VoIP push that is not a
// ring: iOS kills an app that gets one and reports no call.
func TestRefusedWithoutARequest(t *testing.T) {
	noAlert := func(typ string) func() intercom.PushMessage {
		return func() intercom.PushMessage { return message("c0ffee", typ) }
	}
	for _, tc := range []struct {
		name   string
		alert  bool
		m      func() intercom.PushMessage
		reason string
	}{
		{"cancel over VoIP", false, func() intercom.PushMessage { return message("a1b2", intercom.PushCancel) }, "must be a ring"},
		{"missed call over VoIP", false, func() intercom.PushMessage { return missed("a1b2") }, "must be a ring"},
		{"no type over VoIP", false, func() intercom.PushMessage { return message("a1b2", "") }, "must be a ring"},
		{"alert push without alert", true, noAlert(intercom.PushMissed), "needs the alert"},
		{"ring as an alert push without alert", true, noAlert(intercom.PushRing), "needs the alert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, v, a := providers(t)
			p := v
			if tc.alert {
				p = a
			}
			r := p.Send(t.Context(), tc.m())
			if !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("reason %q, want it to say %q", r.Reason, tc.reason)
			}
			r.Reason = ""
			if diff := cmp.Diff(intercom.PushResult{Outcome: intercom.SendFailed}, r); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if got := fake.Received(); len(got) != 0 {
				t.Errorf("sent %+v", got)
			}
		})
	}
}

// TestPayloadLimits: a payload at APNs' limit goes, one byte more does not.
func TestPayloadLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alert bool
		limit int
	}{
		{"VoIP", false, apns.MaxVoIPPayload},
		{"alert", true, apns.MaxAlertPayload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, v, a := providers(t)
			p, m := v, message("a1b2", intercom.PushRing)
			if tc.alert {
				p, m = a, missed("c0ffee")
			}
			m.Data = map[string]any{"pad": ""}
			base := len(pushJSON(t, tc.alert, m))
			m.Data = map[string]any{"pad": strings.Repeat("x", tc.limit-base)}
			if r := p.Send(t.Context(), m); r.Outcome != intercom.SendSent {
				t.Errorf("at the limit: %+v", r)
			}
			m.Data = map[string]any{"pad": strings.Repeat("x", tc.limit-base+1)}
			if r := p.Send(t.Context(), m); r.Outcome != intercom.SendFailed || r.Retry || r.Status != 0 {
				t.Errorf("over the limit: %+v", r)
			}
			if n := len(fake.Received()); n != 1 {
				t.Errorf("%d pushes, want the one at the limit", n)
			}
		})
	}
}

// pushJSON is the payload a provider sends for m, as the fake received it.
func pushJSON(t *testing.T, alert bool, m intercom.PushMessage) []byte {
	t.Helper()
	fake, v, a := providers(t)
	p := v
	if alert {
		p = a
	}
	if r := p.Send(t.Context(), m); r.Outcome != intercom.SendSent {
		t.Fatalf("%+v", r)
	}
	b, err := json.Marshal(fake.Received()[0].Payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResults: APNs' answers as outcomes, the same for both providers.
func TestResults(t *testing.T) {
	for _, alert := range []bool{false, true} {
		for _, tc := range []struct {
			token string
			want  intercom.PushResult
		}{
			{"a1b2", intercom.PushResult{Outcome: intercom.SendSent, Status: 200}},
			{"unregistered", intercom.PushResult{Outcome: intercom.SendDeadToken, Status: 410, Reason: "Unregistered"}},
			{"bad", intercom.PushResult{Outcome: intercom.SendDeadToken, Status: 400, Reason: "BadDeviceToken"}},
			{"toomany", intercom.PushResult{Outcome: intercom.SendFailed, Status: 429, Reason: "TooManyRequests", Retry: true}},
			{"busy", intercom.PushResult{Outcome: intercom.SendFailed, Status: 503, Reason: "ServiceUnavailable", Retry: true}},
		} {
			name := "voip/" + tc.token
			if alert {
				name = "alert/" + tc.token
			}
			t.Run(name, func(t *testing.T) {
				_, v, a := providers(t)
				p, m := v, message(tc.token, intercom.PushRing)
				if alert {
					p, m = a, missed(tc.token)
				}
				m.ID = pushID
				want := tc.want
				want.ID = pushID // APNs names the push it refuses too
				if diff := cmp.Diff(want, p.Send(t.Context(), m)); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestBusyThenSent(t *testing.T) {
	fake, v, _ := providers(t)
	fake.Busy = 1
	if r := v.Send(t.Context(), message("a1", intercom.PushRing)); r.Outcome != intercom.SendFailed || !r.Retry || r.Status != 503 {
		t.Errorf("busy: %+v", r)
	}
	if r := v.Send(t.Context(), message("a1", intercom.PushRing)); r.Outcome != intercom.SendSent {
		t.Errorf("after busy: %+v", r)
	}
}

func TestGarbageIsRetried(t *testing.T) {
	_, v, a := providers(t)
	for _, r := range []intercom.PushResult{v.Send(t.Context(), message("garbage", intercom.PushRing)), a.Send(t.Context(), missed("garbage"))} {
		if r.Outcome != intercom.SendFailed || !r.Retry || r.Reason == "" {
			t.Errorf("garbage: %+v", r)
		}
	}
}

func TestWrongCredentials(t *testing.T) {
	_, cfg := apnsfake.Start(t)
	cfg.KeyID = "OTHER"
	v, _ := apns.New(cfg)
	a, _ := apns.NewAlert(cfg)
	for _, r := range []intercom.PushResult{v.Send(t.Context(), message("a1", intercom.PushRing)), a.Send(t.Context(), missed("a1"))} {
		if diff := cmp.Diff(intercom.PushResult{Outcome: intercom.SendCredentials, Status: 403, Reason: "InvalidProviderToken"}, r); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	}
}

func TestHangingAPNsGivesUpWithTheContext(t *testing.T) {
	_, v, a := providers(t)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	for _, r := range []intercom.PushResult{v.Send(ctx, message("hang", intercom.PushRing)), a.Send(ctx, missed("hang"))} {
		if r.Outcome != intercom.SendFailed || !r.Retry {
			t.Errorf("%+v", r)
		}
	}
}

// TestTopics: the bundle id may be configured with or without ".voip";
// VoIP pushes go to "<bundle>.voip", alert pushes to the bundle (the fake
// fails the test on any other topic).
func TestTopics(t *testing.T) {
	for _, topic := range []string{apnsfake.Bundle, apnsfake.Bundle + ".voip"} {
		t.Run(topic, func(t *testing.T) {
			fake, cfg := apnsfake.Start(t)
			cfg.Topic = topic
			v, _ := apns.New(cfg)
			a, _ := apns.NewAlert(cfg)
			v.Send(t.Context(), message("a1", intercom.PushRing))
			a.Send(t.Context(), missed("a1"))
			var got []string
			for _, p := range fake.Received() {
				got = append(got, p.PushType+" "+p.Topic)
			}
			want := []string{"voip " + apnsfake.Bundle + ".voip", "alert " + apnsfake.Bundle}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("topics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadConfig(t *testing.T) {
	_, cfg := apnsfake.Start(t)
	for _, tc := range []struct {
		name string
		c    apns.Config
	}{
		{"no team", apns.Config{KeyFile: cfg.KeyFile, KeyID: "K", Topic: "t"}},
		{"no topic", apns.Config{KeyFile: cfg.KeyFile, KeyID: "K", TeamID: "T"}},
		{"no file", apns.Config{KeyFile: filepath.Join(t.TempDir(), "none.p8"), KeyID: "K", TeamID: "T", Topic: "t"}},
		{"not a p8", apns.Config{KeyFile: writeFile(t, "not a key"), KeyID: "K", TeamID: "T", Topic: "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := apns.New(tc.c); err == nil {
				t.Error("New accepted it")
			}
			if _, err := apns.NewAlert(tc.c); err == nil {
				t.Error("NewAlert accepted it")
			}
		})
	}
}

func writeFile(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
