package postgres_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"intercom"
	"intercom/clocktest"
	intercomhttp "intercom/http"
	"intercom/node"
	"intercom/postgres/pgtest"
	"intercom/pusher"
)

// /readyz follows writes on PostgreSQL, over HTTP: a write the server
// refuses (the database made read-only by ALTER DATABASE … SET
// default_transaction_read_only, the pool's sessions started anew) answers
// 503 with a message that says so, /readyz is 503 from that moment, stays
// 503 while its probes are refused, and is 200 again once a probe commits:
// no sooner than ReadyProbeEvery after the last probe, by the server's clock.
// http.TestReadyFollowsWrites is SQLite's twin.
func TestReadyFollowsWritesOverHTTP(t *testing.T) {
	url, setReadOnly := pgtest.NewReadOnlyDatabase(t)
	db := open(t, url)
	clock := clocktest.New(time.Date(2022, 4, 20, 12, 34, 32, 0, time.UTC))
	srv := node.New(node.Config{Store: db, Clock: clock, PublicURL: "http://intercomd.test", AdminToken: "test-admin-token",
		Hub: pusher.New("test-key", "test-secret", nil), SIPSecret: []byte("sip-secret")})
	t.Cleanup(srv.Close)
	do := func(method, path, body string) (int, http.Header, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, "http://intercomd.test"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer test-admin-token")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, rec.Body, err)
		}
		return rec.Code, rec.Header(), v
	}
	want := func(what string, code int, method, path, body string) {
		t.Helper()
		got, h, v := do(method, path, body)
		if got != code {
			t.Fatalf("%s: %s %s → %d %v, want %d", what, method, path, got, v, code)
		}
		if code != http.StatusServiceUnavailable {
			return
		}
		if v["message"] != intercom.ErrUnwritable.Message {
			t.Errorf("%s: message %q, want %q", what, v["message"], intercom.ErrUnwritable.Message)
		}
		if h.Get("Retry-After") != "5" {
			t.Errorf("%s: Retry-After %q, want 5", what, h.Get("Retry-After"))
		}
	}
	const createUser = `{"login":"someone","password":"password-of-someone"}`

	want("a writable database", 200, "GET", "/readyz", "")
	setReadOnly(true)
	db.Reconnect()
	want("a write the server refused", 503, "POST", "/api/admin/v1/users", createUser)
	want("/readyz after a refused write", 503, "GET", "/readyz", "")
	clock.Advance(intercomhttp.ReadyProbeEvery)
	want("/readyz whose probe the server refused", 503, "GET", "/readyz", "")

	setReadOnly(false)
	db.Reconnect()
	want("/readyz before the next probe is due", 503, "GET", "/readyz", "")
	clock.Advance(intercomhttp.ReadyProbeEvery)
	want("/readyz once a probe committed", 200, "GET", "/readyz", "")
	want("the write again", 201, "POST", "/api/admin/v1/users", createUser)
}
