package fcm_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"intercom"
	"intercom/fcm"
)

// fakeFCM is Google's OAuth token endpoint (the JWT-bearer grant a service
// account uses) and FCM's HTTP v1 send endpoint.
type fakeFCM struct {
	t         *testing.T
	key       *rsa.PublicKey
	url       string
	denyToken bool
	mu        sync.Mutex
	exchanges int
	messages  []map[string]any
}

func (f *fakeFCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/token":
		r.ParseForm()
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(*jwt.Token) (any, error) { return f.key, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(f.url+"/token"), jwt.WithIssuer("pusher@test-project.iam.gserviceaccount.com"))
		if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || err != nil ||
			!strings.Contains(claims["scope"].(string), "firebase.messaging") || f.denyToken {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
			return
		}
		f.mu.Lock()
		f.exchanges++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"fake-access","token_type":"Bearer","expires_in":3600}`)
	case r.URL.Path == "/v1/projects/test-project/messages:send":
		if r.Header.Get("Authorization") != "Bearer fake-access" {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"code":401,"status":"UNAUTHENTICATED","message":"Request had invalid authentication credentials."}}`)
			return
		}
		var body struct {
			Message map[string]any `json:"message"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(400)
			return
		}
		f.mu.Lock()
		f.messages = append(f.messages, body.Message)
		f.mu.Unlock()
		fail := func(status int, code, errorCode string) {
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "status": code, "message": "no",
				"details": []map[string]any{{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode}}}})
		}
		switch body.Message["token"] {
		case "unregistered":
			fail(404, "NOT_FOUND", "UNREGISTERED")
		case "busy":
			w.Header().Set("Retry-After", "2")
			fail(503, "UNAVAILABLE", "UNAVAILABLE")
		case "quota":
			fail(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")
		case "garbage":
			w.WriteHeader(502)
			io.WriteString(w, "<html>bad gateway")
		case "hang":
			<-r.Context().Done()
		default:
			io.WriteString(w, `{"name":"projects/test-project/messages/0:1"}`)
		}
	default:
		w.WriteHeader(404)
	}
}

func start(t *testing.T) (*fakeFCM, fcm.Config) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeFCM{t: t, key: &key.PublicKey}
	srv := httptest.NewTLSServer(fake)
	t.Cleanup(srv.Close)
	fake.url = srv.URL
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "test-project", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "pusher@test-project.iam.gserviceaccount.com", "client_id": "1", "token_uri": srv.URL + "/token",
	})
	file := filepath.Join(t.TempDir(), "service-account.json")
	os.WriteFile(file, sa, 0o600)
	return fake, fcm.Config{CredentialsFile: file, Endpoint: srv.URL, HTTPClient: srv.Client()}
}

func message(token string) intercom.PushMessage {
	return intercom.PushMessage{CallID: 7, DeviceID: 3, Token: token, Type: "intercom_ring",
		Data: map[string]any{"call_id": 7, "id": 180, "title": "House"}, Expires: time.Now().Add(30 * time.Second)}
}

func TestSend(t *testing.T) {
	fake, cfg := start(t)
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
	if fake.exchanges != 1 {
		t.Errorf("%d token exchanges for two sends, want 1", fake.exchanges)
	}
	m := fake.messages[0]
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
	_, cfg := start(t)
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
	fake, cfg := start(t)
	fake.denyToken = true
	p, _ := fcm.New(cfg)
	if r := p.Send(t.Context(), message("device-1")); r.Outcome != intercom.SendCredentials || r.Retry {
		t.Errorf("%+v", r)
	}
	if len(fake.messages) != 0 {
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
