// Package apnsfake is a fake of Apple's push service for tests: HTTP/2 over
// TLS, checking the provider token and what a VoIP or an alert push must
// carry, recording each push (Received) and answering by device token:
// "unregistered" 410 Unregistered, "bad" 400 BadDeviceToken, "toomany" 429
// TooManyRequests, "busy" 503 ServiceUnavailable, "garbage" a non-JSON 500,
// "hang" never; anything else 200. Like APNs it answers with an apns-id
// header: the request's, or a new UUID when it had none.
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
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"intercom/apns"
)

// The fake's app: alert pushes go to Bundle, VoIP pushes to Bundle+".voip".
const Bundle = "com.example.intercom"

// Push is what the fake received in one push.
type Push struct {
	Token      string    // the device token of the path
	PushType   string    // apns-push-type
	Topic      string    // apns-topic
	Priority   string    // apns-priority
	CollapseID string    // apns-collapse-id, "" when absent
	ID         string    // apns-id as sent, "" when absent
	AnsweredID string    // the apns-id answered ("" for a hang)
	Expiration time.Time // apns-expiration, zero when absent
	Payload    map[string]any
}

// Fake speaks APNs' provider API over HTTP/2 and TLS, checks what a push
// must carry and answers by device token.
type Fake struct {
	t      testing.TB
	key    *ecdsa.PublicKey
	mu     sync.Mutex
	pushes []Push
	// verified holds provider tokens already verified: a provider reuses
	// one for many pushes, and verifying ES256 per push would take the CPU
	// of the server under test in benchmarks. The same token string always
	// verifies the same way (the fake checks no time claims).
	verified sync.Map
	// Busy makes it answer 503 this many times first.
	Busy int
}

// Received returns the pushes received so far (those whose provider token
// was accepted), in order.
func (f *Fake) Received() []Push {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Push(nil), f.pushes...)
}

// Pushes returns the payloads received so far.
func (f *Fake) Pushes() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	payloads := make([]map[string]any, len(f.pushes))
	for i, p := range f.pushes {
		payloads[i] = p.Payload
	}
	return payloads
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
	b, _ := io.ReadAll(r.Body)
	p := Push{
		Token:      strings.TrimPrefix(r.URL.Path, "/3/device/"),
		PushType:   r.Header.Get("apns-push-type"),
		Topic:      r.Header.Get("apns-topic"),
		Priority:   r.Header.Get("apns-priority"),
		CollapseID: r.Header.Get("apns-collapse-id"),
		ID:         r.Header.Get("apns-id"),
	}
	var expErr error
	if h := r.Header.Get("apns-expiration"); h != "" {
		var exp int64
		exp, expErr = strconv.ParseInt(h, 10, 64)
		p.Expiration = time.Unix(exp, 0)
	}
	if err := json.Unmarshal(b, &p.Payload); err != nil {
		f.t.Errorf("payload %s: %v", b, err)
	}
	p.AnsweredID = p.ID
	if p.AnsweredID == "" {
		p.AnsweredID = uuid.NewString()
	}
	if p.Token != "hang" {
		w.Header().Set("apns-id", p.AnsweredID)
	} else {
		p.AnsweredID = ""
	}
	f.mu.Lock()
	f.pushes = append(f.pushes, p)
	busy := f.Busy
	if busy > 0 {
		f.Busy--
	}
	f.mu.Unlock()
	if reason := f.check(p, expErr, len(b)); reason != "" {
		status := 400
		if reason == "PayloadTooLarge" {
			status = 413
		}
		fail(status, reason)
		return
	}
	switch p.Token {
	case "unregistered":
		w.WriteHeader(410)
		json.NewEncoder(w).Encode(map[string]any{"reason": "Unregistered", "timestamp": time.Now().UnixMilli()})
	case "bad":
		fail(400, "BadDeviceToken")
	case "toomany":
		fail(429, "TooManyRequests")
	case "busy":
		fail(503, "ServiceUnavailable")
	case "garbage":
		w.WriteHeader(500)
		io.WriteString(w, "<html>oops")
	case "hang":
		<-r.Context().Done()
	default:
		if busy > 0 {
			fail(503, "ServiceUnavailable")
		}
	}
}

// check returns the reason APNs would refuse p for, "" when none. What
// only a bug of ours would send (a VoIP push that is not a ring, which iOS
// kills the app for; a push to the other kind's topic) also fails the test.
func (f *Fake) check(p Push, expErr error, size int) string {
	if p.Topic == "" {
		return "MissingTopic"
	}
	limit := apns.MaxAlertPayload
	switch p.PushType {
	case "voip":
		limit = apns.MaxVoIPPayload
		if p.Topic != Bundle+".voip" {
			f.t.Errorf("a VoIP push to topic %q, want %q", p.Topic, Bundle+".voip")
			return "DeviceTokenNotForTopic"
		}
		if p.Payload["type"] != "intercom_ring" {
			f.t.Errorf("a VoIP push of type %v: iOS kills an app for a VoIP push that is not a call", p.Payload["type"])
		}
		if p.Expiration.IsZero() || expErr != nil {
			f.t.Errorf("a VoIP push without apns-expiration: it must expire with its ring")
		}
	case "alert":
		if p.Topic != Bundle {
			f.t.Errorf("an alert push to topic %q, want %q", p.Topic, Bundle)
			return "DeviceTokenNotForTopic"
		}
	default:
		return "InvalidPushType"
	}
	switch {
	case p.Priority != "" && p.Priority != "5" && p.Priority != "10":
		return "BadPriority"
	case p.ID != "" && (len(p.ID) != 36 || uuid.Validate(p.ID) != nil):
		return "BadMessageId"
	case len(p.CollapseID) > 64:
		return "BadCollapseId"
	case expErr != nil:
		return "BadExpirationDate"
	case size == 0:
		return "PayloadEmpty"
	case size > limit:
		return "PayloadTooLarge"
	}
	if p.Payload["aps"] == nil {
		f.t.Errorf("payload without aps: %v", p.Payload)
	}
	return ""
}

// Start runs a fake APNs over HTTP/2 and TLS and returns it with a Config
// that reaches it (key id KEY123, team TEAM456, topic Bundle).
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
	return fake, apns.Config{KeyFile: keyFile, KeyID: "KEY123", TeamID: "TEAM456", Topic: Bundle,
		Endpoint: srv.URL, TLS: &tls.Config{RootCAs: roots}}
}
