package hms_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
	"intercom/hms"
	"intercom/hms/hmsfake"
)

func message(token, typ string) intercom.PushMessage {
	return intercom.PushMessage{CallID: 7, DeviceID: 3, Token: token, Type: typ,
		Data: map[string]any{"call_id": 7, "id": 180}, TTL: 30 * time.Second}
}

func start(t *testing.T) (*hmsfake.Fake, *hms.Provider) {
	t.Helper()
	fake, cfg := hmsfake.Start(t)
	p, err := hms.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

// TestMessages: what goes on the wire for a ring, a cancel and a missed
// call, and the requestId Push Kit answers. No collapse_key: Push Kit's is
// a number from -1 to 100, not the call's id.
func TestMessages(t *testing.T) {
	data := map[string]any{"call_id": float64(7), "id": float64(180)}
	for _, tc := range []struct {
		name string
		m    func() intercom.PushMessage
		want hmsfake.Message
	}{{
		name: "ring",
		m: func() intercom.PushMessage {
			m := message("device-1", intercom.PushRing)
			m.CollapseID = "call-7"
			return m
		},
		want: hmsfake.Message{Tokens: []string{"device-1"}, Urgency: "HIGH", TTL: "30s",
			Data: map[string]any{"type": "intercom_ring", "data": data}},
	}, {
		name: "cancel",
		m: func() intercom.PushMessage {
			m := message("device-1", intercom.PushCancel)
			m.TTL = 12400 * time.Millisecond
			return m
		},
		want: hmsfake.Message{Tokens: []string{"device-1"}, Urgency: "HIGH", TTL: "12s",
			Data: map[string]any{"type": "intercom_cancel", "data": data}},
	}, {
		name: "missed call with its notification",
		m: func() intercom.PushMessage {
			m := message("device-1", intercom.PushMissed)
			m.CollapseID = "call-7"
			m.Alert = &intercom.PushAlert{Title: "Домофон", Body: `Пропущенный вызов: "подъезд 1"`}
			return m
		},
		want: hmsfake.Message{Tokens: []string{"device-1"}, Urgency: "HIGH", TTL: "30s",
			Data: map[string]any{"type": "call.missed", "data": data,
				"notification": `{"body":"Пропущенный вызов: \"подъезд 1\"","title":"Домофон"}`}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			fake, p := start(t)
			r := p.Send(t.Context(), tc.m())
			got := fake.Received()
			if len(got) != 1 {
				t.Fatalf("%d messages, want 1", len(got))
			}
			want := tc.want
			want.RequestID = "req-1"
			if diff := cmp.Diff(want, got[0]); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(intercom.PushResult{Outcome: intercom.SendSent, Status: 200, ID: "req-1"}, r); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResults(t *testing.T) {
	for _, tc := range []struct {
		token string
		want  intercom.PushResult
	}{
		{"invalid", intercom.PushResult{Outcome: intercom.SendDeadToken, Status: 200, Reason: "80300007 All the tokens are invalid"}},
		{"busy", intercom.PushResult{Outcome: intercom.SendFailed, Status: 503, Reason: "81000001 System inner error", Retry: true, RetryAfter: 2 * time.Second}},
		{"garbage", intercom.PushResult{Outcome: intercom.SendFailed, Status: 502, Reason: "Bad Gateway", Retry: true}},
	} {
		for _, typ := range []string{intercom.PushRing, intercom.PushCancel, intercom.PushMissed} {
			t.Run(tc.token+"/"+typ, func(t *testing.T) {
				_, p := start(t)
				want := tc.want
				if tc.token != "garbage" {
					want.ID = "req-1" // Push Kit names refused requests too
				}
				if diff := cmp.Diff(want, p.Send(t.Context(), message(tc.token, typ))); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestHangGivesUpWithTheContext(t *testing.T) {
	_, p := start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if r := p.Send(ctx, message("hang", intercom.PushRing)); r.Outcome != intercom.SendFailed || !r.Retry {
		t.Errorf("hang: %+v", r)
	}
}

// TestMessageLimit: Push Kit's 4096 bytes, tokens left out: at the limit a
// message goes, one byte over it does not.
func TestMessageLimit(t *testing.T) {
	fake, p := start(t)
	m := message("device-1", intercom.PushMissed)
	m.Alert = &intercom.PushAlert{Title: "Домофон", Body: "Пропущенный вызов"}
	m.Data = map[string]any{"pad": ""}
	if r := p.Send(t.Context(), m); r.Outcome != intercom.SendSent {
		t.Fatalf("%+v", r)
	}
	sent := fake.Messages()[0]
	delete(sent, "token")
	b, err := json.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	m.Data = map[string]any{"pad": strings.Repeat("x", hms.MaxMessage-len(b))}
	if r := p.Send(t.Context(), m); r.Outcome != intercom.SendSent {
		t.Errorf("at the limit: %+v", r)
	}
	m.Data = map[string]any{"pad": strings.Repeat("x", hms.MaxMessage-len(b)+1)}
	r := p.Send(t.Context(), m)
	if !strings.Contains(r.Reason, "over 4096") {
		t.Errorf("reason %q", r.Reason)
	}
	r.Reason = ""
	if diff := cmp.Diff(intercom.PushResult{Outcome: intercom.SendFailed}, r); diff != "" {
		t.Errorf("over the limit (-want +got):\n%s", diff)
	}
	if n := len(fake.Received()); n != 2 {
		t.Errorf("%d messages, want 2: the one over the limit is not sent", n)
	}
}

func TestCredentials(t *testing.T) {
	fake, cfg := hmsfake.Start(t)
	fake.DenyToken = true
	p, _ := hms.New(cfg)
	if r := p.Send(t.Context(), message("device-1", intercom.PushRing)); r.Outcome != intercom.SendCredentials || r.Retry {
		t.Errorf("%+v", r)
	}
	if len(fake.Received()) != 0 {
		t.Error("sent without a token")
	}
	if _, err := hms.New(hms.Config{AppID: "1"}); err == nil {
		t.Error("no secret accepted")
	}
}
