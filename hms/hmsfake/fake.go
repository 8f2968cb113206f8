// Package hmsfake is a fake of Huawei's OAuth endpoint (client credentials)
// and of Push Kit's send endpoint for tests. It records each message
// (Received), refuses what Push Kit refuses (80100003 Illegal payload: a
// message over 4096 bytes without its tokens, a collapse_key that is not a
// number from -1 to 100, a malformed urgency or ttl) and answers by device
// token: "invalid" 80300007, "busy" 503 with Retry-After: 2 (Push Kit's
// flow control), "garbage" a non-JSON 502, "hang" never; anything else
// 80000000. Every JSON answer carries a requestId, "req-<n>" for the n-th
// message.
package hmsfake

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"intercom/hms"
)

// Message is what the fake received in one send.
type Message struct {
	Tokens      []string
	Data        map[string]any // message.data, a JSON object in a string, decoded
	Urgency     string         // android.urgency
	TTL         string         // android.ttl
	CollapseKey any            // android.collapse_key, nil when absent
	RequestID   string         // the requestId answered, "" for a hang
}

// Fake is both endpoints.
type Fake struct {
	t testing.TB
	// DenyToken makes the OAuth endpoint refuse the app's credentials.
	DenyToken bool
	mu        sync.Mutex
	messages  []map[string]any
	received  []Message
}

// Messages returns the messages received so far, as sent.
func (f *Fake) Messages() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.messages...)
}

// Received returns the messages received so far, in order.
func (f *Fake) Received() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.received...)
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/oauth2/v3/token":
		r.ParseForm()
		if f.DenyToken || r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_id") != "10001" ||
			r.PostForm.Get("client_secret") != "app-secret" {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":1101,"error_description":"invalid client"}`)
			return
		}
		io.WriteString(w, `{"access_token":"hms-access","expires_in":3600,"token_type":"Bearer"}`)
	case "/v1/10001/messages:send":
		if r.Header.Get("Authorization") != "Bearer hms-access" {
			w.WriteHeader(401)
			io.WriteString(w, `{"code":"80200001","msg":"Oauth authentication error"}`)
			return
		}
		var body struct {
			Message map[string]any `json:"message"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		m, illegal := f.parse(body.Message)
		f.mu.Lock()
		f.messages = append(f.messages, body.Message)
		m.RequestID = "req-" + strconv.Itoa(len(f.received)+1)
		token := ""
		if len(m.Tokens) == 1 {
			token = m.Tokens[0]
		}
		if token == "hang" {
			m.RequestID = ""
		}
		f.received = append(f.received, m)
		f.mu.Unlock()
		answer := func(status int, code, msg string) {
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"code": code, "msg": msg, "requestId": m.RequestID})
		}
		if illegal != "" {
			answer(400, "80100003", "Illegal payload, "+illegal)
			return
		}
		switch token {
		case "invalid":
			answer(200, "80300007", "All the tokens are invalid")
		case "busy":
			w.Header().Set("Retry-After", "2")
			answer(503, "81000001", "System inner error")
		case "garbage":
			w.WriteHeader(502)
			io.WriteString(w, "<html>")
		case "hang":
			<-r.Context().Done()
		default:
			answer(200, "80000000", "Success")
		}
	default:
		w.WriteHeader(404)
	}
}

var ttl = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,9})?s$`)

// parse reads a message, and says why Push Kit would refuse it ("" if it
// would not).
func (f *Fake) parse(msg map[string]any) (m Message, illegal string) {
	tokens, _ := msg["token"].([]any)
	for _, t := range tokens {
		s, _ := t.(string)
		m.Tokens = append(m.Tokens, s)
	}
	if data, ok := msg["data"].(string); ok {
		if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
			f.t.Errorf("data %q is not the JSON object the app reads: %v", data, err)
		}
	}
	android, _ := msg["android"].(map[string]any)
	m.Urgency, _ = android["urgency"].(string)
	m.TTL, _ = android["ttl"].(string)
	m.CollapseKey = android["collapse_key"]
	untokened := maps.Clone(msg)
	delete(untokened, "token")
	b, _ := json.Marshal(untokened)
	switch k, isNumber := m.CollapseKey.(float64); {
	case len(b) > hms.MaxMessage:
		illegal = "message body over 4096 bytes"
	case m.CollapseKey != nil && (!isNumber || k != float64(int(k)) || k < -1 || k > 100):
		illegal = "collapse_key must be an integer from -1 to 100"
	case m.Urgency != "" && m.Urgency != "HIGH" && m.Urgency != "NORMAL":
		illegal = "urgency " + m.Urgency
	case m.TTL != "" && !ttl.MatchString(m.TTL):
		illegal = "ttl " + m.TTL
	}
	return m, illegal
}

// Start runs the fake over TLS and returns it with a Config (app 10001,
// secret app-secret) that reaches it.
func Start(t testing.TB) (*Fake, hms.Config) {
	t.Helper()
	f := &Fake{t: t}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	return f, hms.Config{AppID: "10001", AppSecret: "app-secret", TokenURL: srv.URL + "/oauth2/v3/token", Endpoint: srv.URL, HTTP: srv.Client()}
}
