package fcm_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"intercom"
	"intercom/fcm"
	"intercom/fcm/fcmfake"
)

func message(token string) intercom.PushMessage {
	return intercom.PushMessage{CallID: 7, DeviceID: 3, Token: token, Type: "intercom_ring",
		Data: map[string]any{"call_id": 7, "id": 180, "title": "House"}, Expires: time.Now().Add(30 * time.Second), TTL: 30 * time.Second}
}

func TestSend(t *testing.T) {
	fake, cfg := fcmfake.Start(t)
	p, err := fcm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Send(t.Context(), message("device-1")); r.Outcome != intercom.SendSent || r.Status != 200 {
		t.Fatalf("%+v", r)
	}
	if r := p.Send(t.Context(), message("device-2")); r.Outcome != intercom.SendSent {
		t.Fatalf("%+v", r)
	}
	if fake.Exchanges() != 1 {
		t.Errorf("%d token exchanges for two sends, want 1", fake.Exchanges())
	}
	m := fake.Messages()[0]
	data := m["data"].(map[string]any)
	android := m["android"].(map[string]any)
	var inner map[string]any
	if err := json.Unmarshal([]byte(data["data"].(string)), &inner); err != nil || data["type"] != "intercom_ring" || inner["call_id"] != float64(7) {
		t.Errorf("data %v", data)
	}
	if android["priority"] != "HIGH" || android["ttl"] != "30s" || m["token"] != "device-1" {
		t.Errorf("message %v", m)
	}
}

func TestErrors(t *testing.T) {
	_, cfg := fcmfake.Start(t)
	p, _ := fcm.New(cfg)
	for token, want := range map[string]intercom.PushResult{
		"unregistered": {Outcome: intercom.SendDeadToken, Status: 404, Reason: "UNREGISTERED no"},
		"busy":         {Outcome: intercom.SendFailed, Status: 503, Reason: "UNAVAILABLE no", Retry: true, RetryAfter: 2 * time.Second},
		"quota":        {Outcome: intercom.SendFailed, Status: 429, Reason: "QUOTA_EXCEEDED no", Retry: true},
		"garbage":      {Outcome: intercom.SendFailed, Status: 502, Reason: "Bad Gateway", Retry: true},
	} {
		if got := p.Send(t.Context(), message(token)); got != want {
			t.Errorf("%s: %+v, want %+v", token, got, want)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if r := p.Send(ctx, message("hang")); r.Outcome != intercom.SendFailed || !r.Retry {
		t.Errorf("hang: %+v", r)
	}
	big := message("device")
	big.Data["pad"] = strings.Repeat("x", 5000)
	if r := p.Send(t.Context(), big); r.Outcome != intercom.SendFailed || r.Retry {
		t.Errorf("oversized: %+v", r)
	}
}

func TestCredentialFailure(t *testing.T) {
	fake, cfg := fcmfake.Start(t)
	fake.DenyToken = true
	p, _ := fcm.New(cfg)
	if r := p.Send(t.Context(), message("device-1")); r.Outcome != intercom.SendCredentials || r.Retry {
		t.Errorf("%+v", r)
	}
	if len(fake.Messages()) != 0 {
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
		if _, err := fcm.New(fcm.Config{CredentialsFile: f}); err == nil {
			t.Errorf("%s accepted", filepath.Base(f))
		}
	}
}
