package apns_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"intercom"
	"intercom/apns"
	"intercom/apns/apnsfake"
)

func message(token string) intercom.PushMessage {
	return intercom.PushMessage{CallID: 7, DeviceID: 3, Token: token, Type: "intercom_ring",
		Data: map[string]any{"call_id": 7, "id": 180}, Expires: time.Now().Add(30 * time.Second)}
}

func TestSend(t *testing.T) {
	fake, cfg := apnsfake.Start(t)
	p, err := apns.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]intercom.PushResult{
		"a1b2c3":       {Outcome: intercom.SendSent, Status: 200},
		"unregistered": {Outcome: intercom.SendDeadToken, Status: 410, Reason: "Unregistered"},
		"bad":          {Outcome: intercom.SendDeadToken, Status: 400, Reason: "BadDeviceToken"},
	} {
		if got := p.Send(t.Context(), message(token)); got != want {
			t.Errorf("%s: %+v, want %+v", token, got, want)
		}
	}
	if len(fake.Pushes()) != 3 || fake.Pushes()[0]["data"].(map[string]any)["call_id"] != float64(7) {
		t.Errorf("pushes %v", fake.Pushes())
	}
}

func TestBusyAndGarbageAreRetried(t *testing.T) {
	fake, cfg := apnsfake.Start(t)
	fake.Busy = 1
	p, _ := apns.New(cfg)
	if r := p.Send(t.Context(), message("a1")); r.Outcome != intercom.SendFailed || !r.Retry || r.Status != 503 {
		t.Errorf("busy: %+v", r)
	}
	if r := p.Send(t.Context(), message("a1")); r.Outcome != intercom.SendSent {
		t.Errorf("after busy: %+v", r)
	}
	if r := p.Send(t.Context(), message("garbage")); r.Outcome != intercom.SendFailed || !r.Retry {
		t.Errorf("garbage: %+v", r)
	}
}

func TestWrongCredentials(t *testing.T) {
	_, cfg := apnsfake.Start(t)
	cfg.KeyID = "OTHER"
	p, _ := apns.New(cfg)
	if r := p.Send(t.Context(), message("a1")); r.Outcome != intercom.SendCredentials || r.Status != 403 || r.Retry {
		t.Errorf("%+v", r)
	}
}

func TestHangingAPNsGivesUpWithTheContext(t *testing.T) {
	_, cfg := apnsfake.Start(t)
	p, _ := apns.New(cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if r := p.Send(ctx, message("hang")); r.Outcome != intercom.SendFailed || !r.Retry {
		t.Errorf("%+v", r)
	}
}

func TestBadConfig(t *testing.T) {
	_, cfg := apnsfake.Start(t)
	for name, c := range map[string]apns.Config{
		"no team":  {KeyFile: cfg.KeyFile, KeyID: "K", Topic: "t"},
		"no file":  {KeyFile: filepath.Join(t.TempDir(), "none.p8"), KeyID: "K", TeamID: "T", Topic: "t"},
		"not a p8": {KeyFile: writeFile(t, "not a key"), KeyID: "K", TeamID: "T", Topic: "t"},
	} {
		if _, err := apns.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func writeFile(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte(s), 0o600)
	return p
}
