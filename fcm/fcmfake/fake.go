// Package fcmfake is a fake of Google's OAuth token endpoint and of FCM's
// HTTP v1 send endpoint for tests. It records each message (Received),
// refuses what FCM refuses (400 INVALID_ARGUMENT: data values that are not
// strings, reserved data keys, data over 4096 bytes, a malformed ttl or
// priority) and answers sends by registration token: "unregistered" 404
// UNREGISTERED, "busy" 503 with Retry-After: 2, "quota" 429 with
// Retry-After: 10, "garbage" a non-JSON 502, "hang" never; anything else
// 200 with the message's name, "projects/test-project/messages/0:<n>".
// FailNext scripts the answers to the next sends whatever their tokens.
package fcmfake

import (
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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"intercom/fcm"
)

// Message is what the fake received in one send.
type Message struct {
	Token        string
	Data         map[string]string // message.data
	Priority     string            // android.priority
	TTL          string            // android.ttl
	CollapseKey  string            // android.collapse_key, "" when absent
	Notification map[string]any    // message.notification: nil for a data message
	Name         string            // the name answered, "" when it failed
}

// Fake is Google's OAuth token endpoint (the JWT-bearer grant a service
// account uses) and FCM's HTTP v1 send endpoint.
type Fake struct {
	t   testing.TB
	key *rsa.PublicKey
	url string
	// DenyToken makes the token endpoint refuse the service account.
	DenyToken bool
	// OnReceive, when set before the first send, is called with each
	// message as it is recorded (a benchmark's clock).
	OnReceive func(Message)
	mu        sync.Mutex
	exchanges int
	messages  []map[string]any
	received  []Message
	failAs    string // the scripted token the next failN sends are answered as
	failN     int
}

// FailNext makes the next n sends be answered as a send to the scripted
// token as would be ("busy", "quota", "unregistered", "garbage", "hang"),
// whatever their token; the sends after them are answered by their tokens.
func (f *Fake) FailNext(as string, n int) {
	if _, ok := failures[as]; !ok {
		f.t.Fatalf("fcmfake: %q is not a scripted token", as)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAs, f.failN = as, n
}

// Received returns the messages received so far, in order.
func (f *Fake) Received() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.received...)
}

// Exchanges is how many access tokens were handed out.
func (f *Fake) Exchanges() int { f.mu.Lock(); defer f.mu.Unlock(); return f.exchanges }

// Messages returns the messages received so far.
func (f *Fake) Messages() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.messages...)
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/token":
		r.ParseForm()
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(*jwt.Token) (any, error) { return f.key, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(f.url+"/token"), jwt.WithIssuer("pusher@test-project.iam.gserviceaccount.com"))
		if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || err != nil ||
			!strings.Contains(claims["scope"].(string), "firebase.messaging") || f.DenyToken {
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
		m, invalid := parse(body.Message)
		fail := func(status int, code, errorCode, message string) {
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "status": code, "message": message,
				"details": []map[string]any{{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode}}}})
		}
		f.mu.Lock()
		f.messages = append(f.messages, body.Message)
		answerAs := m.Token
		if f.failN > 0 && invalid == "" {
			answerAs = f.failAs
			f.failN--
		}
		if _, scripted := failures[answerAs]; invalid == "" && !scripted {
			m.Name = "projects/test-project/messages/0:" + strconv.Itoa(len(f.received)+1)
		}
		f.received = append(f.received, m)
		f.mu.Unlock()
		if f.OnReceive != nil {
			f.OnReceive(m)
		}
		if invalid != "" {
			fail(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", invalid)
			return
		}
		switch answerAs {
		case "unregistered":
			fail(404, "NOT_FOUND", "UNREGISTERED", "no")
		case "busy":
			w.Header().Set("Retry-After", "2")
			fail(503, "UNAVAILABLE", "UNAVAILABLE", "no")
		case "quota":
			w.Header().Set("Retry-After", "10")
			fail(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "no")
		case "garbage":
			w.WriteHeader(502)
			io.WriteString(w, "<html>bad gateway")
		case "hang":
			<-r.Context().Done()
		default:
			json.NewEncoder(w).Encode(map[string]string{"name": m.Name})
		}
	default:
		w.WriteHeader(404)
	}
}

// failures are the tokens answered with a failure, or never.
var failures = map[string]struct{}{"unregistered": {}, "busy": {}, "quota": {}, "garbage": {}, "hang": {}}

var ttl = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,9})?s$`)

// parse reads a v1 message, and says why FCM would refuse it ("" if it
// would not).
func parse(msg map[string]any) (m Message, invalid string) {
	m.Token, _ = msg["token"].(string)
	m.Notification, _ = msg["notification"].(map[string]any)
	android, _ := msg["android"].(map[string]any)
	m.Priority, _ = android["priority"].(string)
	m.TTL, _ = android["ttl"].(string)
	m.CollapseKey, _ = android["collapse_key"].(string)
	if data, ok := msg["data"].(map[string]any); ok {
		m.Data = map[string]string{}
		size := 0
		for k, v := range data {
			s, ok := v.(string)
			if !ok {
				invalid = "data." + k + ": a data value must be a string"
			}
			if k == "from" || k == "message_type" || strings.HasPrefix(k, "google.") || strings.HasPrefix(k, "gcm.") {
				invalid = "data." + k + ": a reserved key"
			}
			m.Data[k] = s
			size += len(k) + len(s)
		}
		if size > fcm.MaxData {
			invalid = "data over 4096 bytes"
		}
	}
	switch {
	case m.Token == "":
		invalid = "no token"
	case m.Priority != "" && m.Priority != "NORMAL" && m.Priority != "HIGH":
		invalid = "android.priority " + m.Priority
	case m.TTL != "" && !ttl.MatchString(m.TTL):
		invalid = "android.ttl " + m.TTL
	}
	return m, invalid
}

// Start runs the fake over TLS and returns it with a Config whose service
// account (project test-project) exchanges its tokens with it.
func Start(t testing.TB) (*Fake, fcm.Config) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fake := &Fake{t: t, key: &key.PublicKey}
	srv := httptest.NewUnstartedServer(fake)
	srv.EnableHTTP2 = true // as Google's front ends do
	srv.StartTLS()
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
