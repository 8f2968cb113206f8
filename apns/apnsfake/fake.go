// Package apnsfake is a fake of Apple's push service for tests: HTTP/2 over
// TLS, checking the provider token and the headers a VoIP push must carry,
// answering by device token ("unregistered" 410, "bad" 400 BadDeviceToken,
// "garbage" a non-JSON 500, "hang" never; anything else 200).
package apnsfake

import (
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

	"github.com/golang-jwt/jwt/v5"

	"intercom/apns"
)

// Fake speaks APNs' provider API over HTTP/2 and TLS, checks what a VoIP
// push must carry and answers by device token.
type Fake struct {
	t      testing.TB
	key    *ecdsa.PublicKey
	mu     sync.Mutex
	pushes []map[string]any
	// verified holds provider tokens already verified: a provider reuses
	// one for many pushes, and verifying ES256 per push would take the CPU
	// of the server under test in benchmarks. The same token string always
	// verifies the same way (the fake checks no time claims).
	verified sync.Map
	// Busy makes it answer 503 this many times first.
	Busy int
}

// Pushes returns the payloads received so far.
func (f *Fake) Pushes() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.pushes...)
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	provider := strings.TrimPrefix(r.Header.Get("Authorization"), "bearer ")
	if _, ok := f.verified.Load(provider); !ok {
		tok, err := jwt.Parse(provider, func(tok *jwt.Token) (any, error) {
			if tok.Header["kid"] != "KEY123" {
				return nil, jwt.ErrTokenUnverifiable
			}
			return f.key, nil
		}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer("TEAM456"))
		if err != nil || !tok.Valid {
			fail(403, "InvalidProviderToken")
			return
		}
		f.verified.Store(provider, true)
	}
	for h, want := range map[string]string{"apns-push-type": "voip", "apns-topic": "com.example.intercom.voip", "apns-priority": "10"} {
		if got := r.Header.Get(h); got != want {
			f.t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if exp, err := strconv.ParseInt(r.Header.Get("apns-expiration"), 10, 64); err != nil || exp <= 0 {
		f.t.Errorf("apns-expiration %q: a VoIP push must expire with its ring", r.Header.Get("apns-expiration"))
	}
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil || body["aps"] == nil || body["type"] != "intercom_ring" {
		f.t.Errorf("payload %s", b)
	}
	f.mu.Lock()
	f.pushes = append(f.pushes, body)
	busy := f.Busy
	if busy > 0 {
		f.Busy--
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

// Start runs a fake APNs over HTTP/2 and TLS and returns it with a Config
// that reaches it (key id KEY123, team TEAM456, topic com.example.intercom).
func Start(t testing.TB) (*Fake, apns.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "AuthKey.p8")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	fake := &Fake{t: t, key: &key.PublicKey}
	srv := httptest.NewUnstartedServer(fake)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return fake, apns.Config{KeyFile: keyFile, KeyID: "KEY123", TeamID: "TEAM456", Topic: "com.example.intercom",
		Endpoint: srv.URL, TLS: &tls.Config{RootCAs: roots}}
}
