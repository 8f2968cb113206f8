package fcm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
	"intercom/fcm"
	"intercom/fcm/fcmfake"
)

func message(token, typ string) intercom.PushMessage {
	return intercom.PushMessage{CallID: 7, DeviceID: 3, Token: token, Type: typ,
		Data: map[string]any{"call_id": 7, "id": 180, "title": "House"}, Expires: time.Now().Add(30 * time.Second), TTL: 30 * time.Second}
}

func start(t *testing.T) (*fcmfake.Fake, *fcm.Provider) {
	t.Helper()
	fake, cfg := fcmfake.Start(t)
	p, err := fcm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

// TestMessages: what goes on the wire for a ring, a cancel and a missed
// call, and the message name FCM answers.
func TestMessages(t *testing.T) {
	const data = `{"call_id":7,"id":180,"title":"House"}`
	for _, tc := range []struct {
		name string
		m    func() intercom.PushMessage
		want fcmfake.Message
	}{{
		name: "ring",
		m: func() intercom.PushMessage {
			m := message("device-1", intercom.PushRing)
			m.CollapseID = "call-7"
			return m
		},
		want: fcmfake.Message{Token: "device-1", Priority: "HIGH", TTL: "30s", CollapseKey: "call-7",
			Data: map[string]string{"type": "intercom_ring", "data": data}},
	}, {
		name: "cancel without collapse",
		m: func() intercom.PushMessage {
			m := message("device-1", intercom.PushCancel)
			m.TTL = 12400 * time.Millisecond
			return m
		},
		want: fcmfake.Message{Token: "device-1", Priority: "HIGH", TTL: "12s",
			Data: map[string]string{"type": "intercom_cancel", "data": data}},
	}, {
		name: "missed call with its notification",
		m: func() intercom.PushMessage {
			m := message("device-1", intercom.PushMissed)
			m.CollapseID = "call-7"
			m.Alert = &intercom.PushAlert{Title: "Домофон", Body: `Пропущенный вызов: "подъезд 1"`}
			return m
		},
		want: fcmfake.Message{Token: "device-1", Priority: "HIGH", TTL: "30s", CollapseKey: "call-7",
			Data: map[string]string{"type": "call.missed", "data": data,
				"notification": `{"body":"Пропущенный вызов: \"подъезд 1\"","title":"Домофон"}`}},
	}, {
		name: "spent ttl is one second",
		m: func() intercom.PushMessage {
			m := message("device-1", intercom.PushCancel)
			m.TTL = 0
			return m
		},
		want: fcmfake.Message{Token: "device-1", Priority: "HIGH", TTL: "1s",
			Data: map[string]string{"type": "intercom_cancel", "data": data}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			fake, p := start(t)
			r := p.Send(t.Context(), tc.m())
			got := fake.Received()
			if len(got) != 1 {
				t.Fatalf("%d messages, want 1", len(got))
			}
			want := tc.want
			want.Name = "projects/test-project/messages/0:1"
			if diff := cmp.Diff(want, got[0]); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(intercom.PushResult{Outcome: intercom.SendSent, Status: 200, ID: want.Name}, r); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOneTokenExchangeForManySends(t *testing.T) {
	fake, p := start(t)
	var ids []string
	for _, token := range []string{"device-1", "device-2"} {
		ids = append(ids, p.Send(t.Context(), message(token, intercom.PushRing)).ID)
	}
	if fake.Exchanges() != 1 {
		t.Errorf("%d token exchanges for two sends, want 1", fake.Exchanges())
	}
	want := []string{"projects/test-project/messages/0:1", "projects/test-project/messages/0:2"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		token string
		want  intercom.PushResult
	}{
		{"unregistered", intercom.PushResult{Outcome: intercom.SendDeadToken, Status: 404, Reason: "UNREGISTERED no"}},
		{"busy", intercom.PushResult{Outcome: intercom.SendFailed, Status: 503, Reason: "UNAVAILABLE no", Retry: true, RetryAfter: 2 * time.Second}},
		{"quota", intercom.PushResult{Outcome: intercom.SendFailed, Status: 429, Reason: "QUOTA_EXCEEDED no", Retry: true, RetryAfter: 10 * time.Second}},
		{"garbage", intercom.PushResult{Outcome: intercom.SendFailed, Status: 502, Reason: "Bad Gateway", Retry: true}},
	} {
		for _, typ := range []string{intercom.PushRing, intercom.PushCancel, intercom.PushMissed} {
			t.Run(tc.token+"/"+typ, func(t *testing.T) {
				_, p := start(t)
				if diff := cmp.Diff(tc.want, p.Send(t.Context(), message(tc.token, typ))); diff != "" {
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

// TestDataLimit: FCM's 4096 bytes count every key and value of the data,
// the notification too: at the limit it goes, one byte over it does not.
func TestDataLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alert *intercom.PushAlert
	}{
		{"ring", nil},
		{"missed call", &intercom.PushAlert{Title: "Домофон", Body: strings.Repeat("пропущен ", 100)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, p := start(t)
			m := message("device-1", intercom.PushRing)
			m.Alert = tc.alert
			m.Data = map[string]any{"pad": ""}
			if r := p.Send(t.Context(), m); r.Outcome != intercom.SendSent {
				t.Fatalf("%+v", r)
			}
			base := 0
			for k, v := range fake.Received()[0].Data {
				base += len(k) + len(v)
			}
			m.Data = map[string]any{"pad": strings.Repeat("x", fcm.MaxData-base)}
			if r := p.Send(t.Context(), m); r.Outcome != intercom.SendSent {
				t.Errorf("at the limit: %+v", r)
			}
			m.Data = map[string]any{"pad": strings.Repeat("x", fcm.MaxData-base+1)}
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
		})
	}
}

func TestCredentialFailure(t *testing.T) {
	fake, cfg := fcmfake.Start(t)
	fake.DenyToken = true
	p, _ := fcm.New(cfg)
	if r := p.Send(t.Context(), message("device-1", intercom.PushRing)); r.Outcome != intercom.SendCredentials || r.Retry {
		t.Errorf("%+v", r)
	}
	if len(fake.Received()) != 0 {
		t.Error("sent without a token")
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	notSA := filepath.Join(dir, "user.json")
	os.WriteFile(notSA, []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`), 0o600)
	noProject := filepath.Join(dir, "np.json")
	os.WriteFile(noProject, []byte(`{"type":"service_account","private_key":"x","client_email":"a@b"}`), 0o600)
	for _, f := range []string{filepath.Join(dir, "missing.json"), notSA, noProject} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := fcm.New(fcm.Config{CredentialsFile: f}); err == nil {
				t.Error("accepted")
			}
		})
	}
}
