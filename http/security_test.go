package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"intercom"
	"intercom/control"
	"intercom/node"
)

// Every response tells browsers not to sniff its type: JSON answers,
// errors of the mux (404, 405), metrics and the OpenAPI document.
func TestNosniffOnEveryResponse(t *testing.T) {
	f := newFixture(t)
	for _, rq := range []request{
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/metrics"},
		{method: "GET", path: "/api/openapi.yaml"},
		{method: "GET", path: "/no/such/route"},
		{method: "DELETE", path: "/healthz"},
		{method: "GET", path: "/api/v1/intercom"},
		{method: "GET", path: "/api/admin/v1/calls/1", headers: map[string]string{"Authorization": "Bearer wrong"}},
	} {
		t.Run(rq.method+" "+rq.path, func(t *testing.T) {
			res := f.do(rq)
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s %s → %d: X-Content-Type-Options %q, want nosniff", rq.method, rq.path, res.Code, got)
			}
		})
	}
}

// closed checks that the socket gets pusher:error 4009 and is then closed
// with that code: nothing more reaches it.
func (s *sock) closed() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), 5*time.Second)
	defer cancel()
	for {
		m, err := s.c.Next(ctx)
		if err != nil {
			s.t.Fatalf("the socket ended without pusher:error 4009: %v", err)
		}
		if m.Event == "pusher:error" {
			var d struct {
				Code int `json:"code"`
			}
			if json.Unmarshal([]byte(m.Data), &d) != nil || d.Code != 4009 {
				s.t.Fatalf("pusher:error %s, want code 4009", m.Data)
			}
			break
		}
	}
	m, err := s.c.Next(ctx)
	if websocket.CloseStatus(err) != 4009 {
		s.t.Fatalf("after pusher:error: %+v, %v; want the socket closed with 4009", m, err)
	}
}

// A logout ends the subscriptions its token signed; the account's other
// devices keep theirs.
func TestLogoutClosesTheTokensSockets(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	tablet := f.login("alice", "alice-tablet")
	phoneSock, tabletSock := f.socket(t, alice), f.socket(t, tablet)
	f.want(f.as(alice, "POST", "/api/v1/logout", ""), 204)
	phoneSock.closed()
	f.want(f.as(tablet, "PATCH", "/api/v1/intercom/180", `{"title":"Home"}`), 200)
	tabletSock.expect("intercom.rename") // still open
}

// A token's subscriptions end when it expires, on the server's clock.
func TestTokenExpiryClosesItsSockets(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) { c.TokenTTL = time.Hour })
	alice, _ := f.seedWorld()
	f.clock.Advance(30 * time.Minute)
	late := f.login("alice", "alice-tablet") // expires half an hour after alice's phone
	phoneSock, lateSock := f.socket(t, alice), f.socket(t, late)
	f.clock.Advance(30 * time.Minute)
	phoneSock.closed()
	lateSock.none("intercom.rename")
	f.clock.Advance(30 * time.Minute)
	lateSock.closed()
}

// Deleting an account closes its sockets, and an account created next
// inherits nothing: not its ids, not its place in a ringing call.
func TestDeletedAccountLeavesSocketsAndCalls(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	web := f.loginAs("alice", "alice-web", "web") // rung over its socket
	webSock := f.socket(t, web)
	v := w.ring(`{"flat":15}`)
	if v["status"] != "ring" {
		t.Fatalf("ring: %v", v)
	}
	webSock.expect("intercom_ring")
	f.want(f.admin("DELETE", "/api/admin/v1/users/"+itoa(w.aliceID), ""), 204)
	webSock.closed()

	malloryID := f.user("mallory")
	if malloryID == w.aliceID {
		t.Errorf("the new account got the deleted one's id %d", malloryID)
	}
	f.memberOf(w.intercomID, malloryID, "16", "confirmed")
	mallory := f.loginAs("mallory", "alice-web", "web") // the same installation, another account
	if mallory.userID == w.aliceID {
		t.Errorf("mallory signed in as user %d, the deleted account", mallory.userID)
	}
	f.want(f.as(mallory, "POST", callPath(v, "start"), ""), 404)
	f.want(f.as(mallory, "GET", callPath(v, ""), ""), 404)
}

// Parallel wrong passwords are counted before any is checked: of 30 at once,
// at most 10 (LoginMax) are answered 422, the rest 429 with Retry-After.
func TestLoginThrottleCountsParallelGuesses(t *testing.T) {
	f := newFixture(t)
	f.user("erin")
	const n = 30
	codes := make(chan *response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes <- f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"erin","password":"guess-` + strconv.Itoa(i) + `"}`,
				headers: map[string]string{"X-Client": "ios", "X-UUID": "e-" + strconv.Itoa(i)}})
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for res := range codes {
		count[res.Code]++
		if res.Code == 429 && res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if count[422] > 10 || count[422]+count[429] != n {
		t.Fatalf("answers %v, want at most 10 × 422 and the rest 429", count)
	}
	// The right password is refused too while the login is blocked.
	f.want(f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"erin","password":"password-of-erin"}`,
		headers: map[string]string{"X-Client": "ios", "X-UUID": "e-1"}}), 429)
}

// Counting first does not change what a success does: it is not a failure
// of its address, and it clears its login's failures.
func TestLoginSuccessIsNotCounted(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) { c.LoginMax = 2 })
	f.user("gus")
	try := func(pw string) *response {
		return f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"gus","password":"` + pw + `"}`,
			headers: map[string]string{"X-Client": "ios", "X-UUID": "g-1"}})
	}
	f.want(try("wrong"), 422)
	for range 3 {
		f.want(try("password-of-gus"), 200)
	}
	f.want(try("wrong"), 422) // one failure of the address before, none of the login: not blocked yet
	f.want(try("wrong"), 429)
}

// bodyFailure is a request body that fails mid-read: first some bytes, then
// err, after calling before (e.g. the server cancelling the request).
type bodyFailure struct {
	sent   bool
	before func()
	err    error
}

func (b *bodyFailure) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, `{"title":`), nil
	}
	if b.before != nil {
		b.before()
	}
	return 0, b.err
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// A body that times out, is cut off, or whose request is cancelled while it
// is read gets a 4xx — never a 500, never an ERROR log line — and the
// error path asks nothing of the store with the ended request's context.
func TestBrokenBodyIsAClientError(t *testing.T) {
	var logs bytes.Buffer
	f := newFixtureWith(t, func(c *node.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	alice, _ := f.seedWorld()
	for _, tc := range []struct {
		name   string
		method string
		path   string
		cancel bool
		err    error
		want   []int
	}{
		{"PATCH cancelled mid-body", "PATCH", "/api/v1/intercom/180", true, io.ErrUnexpectedEOF, []int{400, 408}},
		{"PATCH timed out", "PATCH", "/api/v1/intercom/180", false, timeoutError{}, []int{408}},
		{"PATCH cut off", "PATCH", "/api/v1/intercom/180", false, io.ErrUnexpectedEOF, []int{400}},
		{"PATCH of another's intercom, timed out", "PATCH", "/api/v1/intercom/999", true, timeoutError{}, []int{408}},
		{"PUT devices cancelled", "PUT", "/api/v1/devices", true, io.ErrUnexpectedEOF, []int{400, 408}},
		{"broadcasting/auth timed out", "POST", "/api/v1/broadcasting/auth", false, timeoutError{}, []int{408}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			body := &bodyFailure{err: tc.err}
			if tc.cancel {
				body.before = cancel
			}
			req := httptest.NewRequestWithContext(ctx, tc.method, "http://intercomd.test"+tc.path, body)
			for k, v := range alice.headers() {
				req.Header.Set(k, v)
			}
			req.Header.Set("Content-Type", "application/json")
			if tc.path == "/api/v1/broadcasting/auth" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := httptest.NewRecorder()
			f.srv.ServeHTTP(rec, req)
			if !slices.Contains(tc.want, rec.Code) {
				t.Errorf("status %d, want one of %v; body %s", rec.Code, tc.want, rec.Body)
			}
			if strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("logged an error: %s", logs.String())
			}
		})
	}
}

// Control URLs on intercomd's own host, link-local or metadata addresses are
// refused at provisioning: 422 on control_url. Loopback alone can be allowed
// (--control-allow-loopback, which the other tests use).
func TestControlURLPolicyAtProvisioning(t *testing.T) {
	strict := newFixtureWith(t, func(c *node.Config) { c.Controller = control.New(time.Second, c.Clock.Now) })
	loose := newFixture(t) // loopback allowed
	for _, tc := range []struct {
		url                   string
		strictCode, looseCode int
	}{
		{"http://127.0.0.1:9/control", 422, 201},
		{"http://localhost:9/control", 422, 201},
		{"http://[::1]:9/control", 422, 201},
		{"http://169.254.169.254/latest/meta-data/", 422, 422},
		{"http://[fd00:ec2::254]/latest/meta-data/", 422, 422},
		{"http://metadata.google.internal/computeMetadata/v1/", 422, 422},
		{"http://0.0.0.0:9/control", 422, 422},
		{"http://[fe80::1]/control", 422, 422},
		{"http://169.254.10.10/control", 422, 422},
	} {
		t.Run(tc.url, func(t *testing.T) {
			for _, fc := range []struct {
				f    *fixture
				want int
			}{{strict, tc.strictCode}, {loose, tc.looseCode}} {
				res := fc.f.want(fc.f.admin("POST", "/api/admin/v1/intercoms", `{"address":"a","control_url":"`+tc.url+`"}`), fc.want)
				if fc.want == 422 {
					if _, ok := errorsOf(t, res)["control_url"]; !ok {
						t.Errorf("422 not on control_url: %s", res.Body)
					}
				}
			}
		})
	}
}

// The policy holds on the address each send dials, whatever the stored URL
// (a name may resolve elsewhere by then): an intercom whose control URL
// leads to loopback gets nothing, and the app's open-door fails.
func TestControlSendRefusesLoopbackDial(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) { c.Controller = control.New(time.Second, c.Clock.Now) })
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	u := "http://localhost:" + port + "/control" // as if it had resolved elsewhere at provisioning
	ic, err := f.store.CreateIntercom(t.Context(), intercom.Intercom{Address: "a", SecretHash: []byte("rebound"), ControlURL: &u,
		DoorOpenSeconds: 5, CreatedAt: start})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.RecordHeartbeats(t.Context(), map[int64]time.Time{ic.ID: start}); err != nil {
		t.Fatal(err)
	}
	aliceID := f.user("alice")
	f.member(ic.ID, aliceID, "Door")
	alice := f.login("alice", "alice-phone")
	res := f.as(alice, "POST", "/api/v1/intercom/"+itoa(ic.ID)+"/open-door", "")
	if res.Code != 502 {
		t.Errorf("open-door to a loopback control URL: %d %s, want 502", res.Code, res.Body)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback server got %d requests", n)
	}
}
