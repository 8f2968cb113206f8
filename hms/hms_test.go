package hms_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"intercom"
	"intercom/hms"
	"intercom/hms/hmsfake"
)

func message(token string) intercom.PushMessage {
	return intercom.PushMessage{CallID: 7, DeviceID: 3, Token: token, Type: "intercom_ring",
		Data: map[string]any{"call_id": 7, "id": 180}, TTL: 30 * time.Second}
}

func TestSend(t *testing.T) {
	fake, cfg := hmsfake.Start(t)
	p, err := hms.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]intercom.PushResult{
		"device-1": {Outcome: intercom.SendSent, Status: 200},
		"invalid":  {Outcome: intercom.SendDeadToken, Status: 200, Reason: "80300007 All the tokens are invalid"},
		"busy":     {Outcome: intercom.SendFailed, Status: 503, Reason: "81000001 System inner error", Retry: true, RetryAfter: 2 * time.Second},
		"garbage":  {Outcome: intercom.SendFailed, Status: 502, Reason: "Bad Gateway", Retry: true},
	} {
		if got := p.Send(t.Context(), message(token)); got != want {
			t.Errorf("%s: %+v, want %+v", token, got, want)
		}
	}
	m := fake.Messages()[0]
	var data map[string]any
	json.Unmarshal([]byte(m["data"].(string)), &data)
	android := m["android"].(map[string]any)
	if data["type"] != "intercom_ring" || data["data"].(map[string]any)["call_id"] != float64(7) || android["urgency"] != "HIGH" || android["ttl"] != "30s" {
		t.Errorf("message %v", m)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if r := p.Send(ctx, message("hang")); r.Outcome != intercom.SendFailed || !r.Retry {
		t.Errorf("hang: %+v", r)
	}
}

func TestCredentials(t *testing.T) {
	fake, cfg := hmsfake.Start(t)
	fake.DenyToken = true
	p, _ := hms.New(cfg)
	if r := p.Send(t.Context(), message("device-1")); r.Outcome != intercom.SendCredentials || r.Retry {
		t.Errorf("%+v", r)
	}
	if _, err := hms.New(hms.Config{AppID: "1"}); err == nil {
		t.Error("no secret accepted")
	}
}
