// Package hmsfake is a fake of Huawei's OAuth endpoint (client credentials)
// and of Push Kit's send endpoint for tests. It answers by device token:
// "invalid" 80300007, "busy" 503 with Retry-After: 2, "garbage" a non-JSON
// 502, "hang" never; anything else 80000000.
package hmsfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"intercom/hms"
)

// Fake is both endpoints.
type Fake struct {
	// DenyToken makes the OAuth endpoint refuse the app's credentials.
	DenyToken bool
	mu        sync.Mutex
	messages  []map[string]any
}

// Messages returns the messages received so far.
func (f *Fake) Messages() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.messages...)
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
		f.mu.Lock()
		f.messages = append(f.messages, body.Message)
		f.mu.Unlock()
		tokens, _ := body.Message["token"].([]any)
		token := ""
		if len(tokens) == 1 {
			token, _ = tokens[0].(string)
		}
		switch token {
		case "invalid":
			io.WriteString(w, `{"code":"80300007","msg":"All the tokens are invalid"}`)
		case "busy":
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(503)
			io.WriteString(w, `{"code":"81000001","msg":"System inner error"}`)
		case "garbage":
			w.WriteHeader(502)
			io.WriteString(w, "<html>")
		case "hang":
			io.ReadAll(r.Body)
			<-r.Context().Done()
		default:
			io.WriteString(w, `{"code":"80000000","msg":"Success","requestId":"1"}`)
		}
	default:
		w.WriteHeader(404)
	}
}

// Start runs the fake over TLS and returns it with a Config (app 10001,
// secret app-secret) that reaches it.
func Start(t testing.TB) (*Fake, hms.Config) {
	t.Helper()
	f := &Fake{}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	return f, hms.Config{AppID: "10001", AppSecret: "app-secret", TokenURL: srv.URL + "/oauth2/v3/token", Endpoint: srv.URL, HTTP: srv.Client()}
}
