package apns_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"intercom"
	"intercom/apns"
)

// fakeAPNs speaks APNs' provider API over HTTP/2 and TLS, checks what a VoIP
// push must carry and answers by device token.
type fakeAPNs struct {
	t      *testing.T
	key    *ecdsa.PublicKey
	mu     sync.Mutex
	pushes []map[string]any
	busy   int // answers 503 this many times first
}

func (f *fakeAPNs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, reason string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"reason": reason})
	}
	if r.ProtoMajor != 2 || r.Method != "POST" || !strings.HasPrefix(r.URL.Path, "/3/device/") {
		f.t.Errorf("request %s %s %s", r.Proto, r.Method, r.URL.Path)
		fail(404, "BadPath")
		return
	}
	// The provider token: ES256, signed by the .p8 key, naming the key and team.
	tok, err := jwt.Parse(strings.TrimPrefix(r.Header.Get("Authorization"), "bearer "), func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != "KEY123" {
			return nil, jwt.ErrTokenUnverifiable
		}
		return f.key, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer("TEAM456"))
	if err != nil || !tok.Valid {
		fail(403, "InvalidProviderToken")
		return
	}
	for h, want := range map[string]string{"apns-push-type": "voip", "apns-topic": "com.example.intercom.voip", "apns-priority": "10"} {
		if got := r.Header.Get(h); got != want {
			f.t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if exp, err := strconv.ParseInt(r.Header.Get("apns-expiration"), 10, 64); err != nil || exp <= time.Now().Unix() || exp > time.Now().Add(time.Minute).Unix() {
		f.t.Errorf("apns-expiration %q: not the ring's", r.Header.Get("apns-expiration"))
	}
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil || body["aps"] == nil || body["type"] != "intercom_ring" {
		f.t.Errorf("payload %s", b)
	}
	f.mu.Lock()
	f.pushes = append(f.pushes, body)
	busy := f.busy
	if busy > 0 {
		f.busy--
	}
	f.mu.Unlock()
	switch device := strings.TrimPrefix(r.URL.Path, "/3/device/"); device {
	case "unregistered":
		fail(410, "Unregistered")
	case "bad":
		fail(400, "BadDeviceToken")
	case "garbage":
		w.WriteHeader(500)
		io.WriteString(w, "<html>oops")
	case "hang":
		<-r.Context().Done()
	default:
		if busy > 0 {
			fail(503, "ServiceUnavailable")
			return
		}
		w.Header().Set("apns-id", "00000000-0000-0000-0000-000000000001")
	}
}

func start(t *testing.T) (*fakeAPNs, apns.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "AuthKey.p8")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	fake := &fakeAPNs{t: t, key: &key.PublicKey}
	srv := httptest.NewUnstartedServer(fake)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return fake, apns.Config{KeyFile: keyFile, KeyID: "KEY123", TeamID: "TEAM456", Topic: "com.example.intercom",
		Endpoint: srv.URL, TLS: &tls.Config{RootCAs: roots}}
}

func message(token string) intercom.PushMessage {
	return intercom.PushMessage{CallID: 7, DeviceID: 3, Token: token, Type: "intercom_ring",
		Data: map[string]any{"call_id": 7, "id": 180}, Expires: time.Now().Add(30 * time.Second)}
}

func TestSend(t *testing.T) {
	fake, cfg := start(t)
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
	if len(fake.pushes) != 3 || fake.pushes[0]["data"].(map[string]any)["call_id"] != float64(7) {
		t.Errorf("pushes %v", fake.pushes)
	}
}

func TestBusyAndGarbageAreRetried(t *testing.T) {
	fake, cfg := start(t)
	fake.busy = 1
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
	_, cfg := start(t)
	cfg.KeyID = "OTHER"
	p, _ := apns.New(cfg)
	if r := p.Send(t.Context(), message("a1")); r.Outcome != intercom.SendCredentials || r.Status != 403 || r.Retry {
		t.Errorf("%+v", r)
	}
}

func TestHangingAPNsGivesUpWithTheContext(t *testing.T) {
	_, cfg := start(t)
	p, _ := apns.New(cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if r := p.Send(ctx, message("hang")); r.Outcome != intercom.SendFailed || !r.Retry {
		t.Errorf("%+v", r)
	}
}

func TestBadConfig(t *testing.T) {
	_, cfg := start(t)
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
