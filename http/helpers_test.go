package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"intercom"
	"intercom/clocktest"
	"intercom/control"
	intercomhttp "intercom/http"
	"intercom/node"
	"intercom/pusher"
)

const adminToken = "test-admin-token"

// fixture is a real Server on a real store (SQLite, or PostgreSQL with
// INTERCOMD_TEST_DB=postgres), with every response it gives checked against
// the OpenAPI document.
type fixture struct {
	t      testing.TB
	srv    *node.Node
	store  testStore
	clock  *clocktest.Clock
	router routers.Router
	http   *httptest.Server // started by listen, for WebSockets
}

var start = time.Date(2022, 4, 20, 12, 34, 32, 0, time.UTC) // a Wednesday

func newFixture(t testing.TB) *fixture {
	return newFixtureWith(t, func(*node.Config) {})
}

func newFixtureWith(t testing.TB, configure func(*node.Config)) *fixture {
	t.Helper()
	db := newTestStore(t)
	c := clocktest.New(start)
	cfg := node.Config{Store: db, Clock: c, PublicURL: "http://intercomd.test", AdminToken: adminToken,
		Hub: pusher.New("test-key", "test-secret", nil), SIPSecret: []byte("sip-secret"), SIPHost: "sip.intercomd.test",
		Controller: control.New(2*time.Second, c.Now, control.AllowLoopback())}
	configure(&cfg)
	srv := node.New(cfg)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, store: db, clock: c, router: openAPIRouter(t)}
}

// newFixtureOn is a new server on the store of f: a restart.
func newFixtureOn(t testing.TB, f *fixture) *fixture {
	t.Helper()
	c := clocktest.New(f.clock.Now())
	srv := node.New(node.Config{Store: f.store, Clock: c, PublicURL: "http://intercomd.test",
		AdminToken: adminToken, Hub: pusher.New("test-key", "test-secret", nil), SIPSecret: []byte("sip-secret")})
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, store: f.store, clock: c, router: f.router}
}

var (
	routerOnce sync.Once
	router     routers.Router
	routerErr  error
)

func openAPIRouter(t testing.TB) routers.Router {
	t.Helper()
	routerOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(intercomhttp.OpenAPI())
		if err != nil {
			routerErr = err
			return
		}
		if routerErr = doc.Validate(context.Background()); routerErr != nil {
			return
		}
		doc.Servers = nil
		router, routerErr = legacy.NewRouter(doc)
	})
	if routerErr != nil {
		t.Fatalf("OpenAPI document: %v", routerErr)
	}
	return router
}

type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r *response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return v
}

// request is one request the fixture sends.
type request struct {
	method, path string
	body         string
	headers      map[string]string
}

// do sends a request and checks the response against the OpenAPI document
// when the route is in it.
func (f *fixture) do(rq request) *response {
	f.t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	req := httptest.NewRequest(rq.method, "http://intercomd.test"+rq.path, body)
	if rq.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	res := &response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && res.Code != http.StatusNoContent &&
		!strings.HasPrefix(rq.path, "/metrics") && !strings.HasPrefix(rq.path, "/api/openapi") {
		f.t.Errorf("%s %s: Content-Type %q", rq.method, rq.path, rec.Header().Get("Content-Type"))
	}
	f.checkOpenAPI(req, res)
	return res
}

func (f *fixture) checkOpenAPI(req *http.Request, res *response) {
	f.t.Helper()
	route, params, err := f.router.FindRoute(req)
	if err != nil {
		return // not a documented route: 404 or 405 for an unknown method
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.Code,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(res.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		f.t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL.Path, res.Code, err, res.Body)
	}
}

// device is a signed-in app installation.
type device struct {
	token, uuid, client string
	userID              int64
	tokenID             string // access_token_id: its private-token channel
}

func (d device) headers() map[string]string {
	return map[string]string{"Authorization": "Bearer " + d.token, "X-Client": d.client, "X-UUID": d.uuid, "Accept": "application/json"}
}

// as sends a request as device d.
func (f *fixture) as(d device, method, path, body string) *response {
	f.t.Helper()
	return f.do(request{method: method, path: path, body: body, headers: d.headers()})
}

func (f *fixture) admin(method, path, body string) *response {
	f.t.Helper()
	return f.do(request{method: method, path: path, body: body, headers: map[string]string{"Authorization": "Bearer " + adminToken}})
}

func (f *fixture) want(res *response, code int) *response {
	f.t.Helper()
	if res.Code != code {
		f.t.Fatalf("status %d, want %d; body %s", res.Code, code, res.Body)
	}
	return res
}

// user creates an account through the admin API.
func (f *fixture) user(login string) int64 {
	f.t.Helper()
	res := f.want(f.admin("POST", "/api/admin/v1/users", `{"login":"`+login+`","password":"password-of-`+login+`"}`), 201)
	return int64(res.JSON(f.t)["id"].(float64))
}

// login signs device uuid in to login's account, as an iOS app.
func (f *fixture) login(login, uuid string) device {
	f.t.Helper()
	return f.loginAs(login, uuid, "ios")
}

// loginAs signs device uuid in to login's account with the given X-Client.
func (f *fixture) loginAs(login, uuid, client string) device {
	f.t.Helper()
	res := f.want(f.do(request{method: "POST", path: "/api/v1/token",
		body:    `{"login":"` + login + `","password":"password-of-` + login + `"}`,
		headers: map[string]string{"X-Client": client, "X-UUID": uuid}}), 200)
	v := res.JSON(f.t)
	user := v["user"].(map[string]any)
	return device{token: v["access_token"].(string), uuid: uuid, client: client, userID: int64(user["id"].(float64)),
		tokenID: user["access_token_id"].(string)}
}

// intercom provisions an intercom (with camera 833 when withCamera) and
// returns its id.
func (f *fixture) intercom(body string) int64 {
	f.t.Helper()
	res := f.want(f.admin("POST", "/api/admin/v1/intercoms", body), 201)
	return int64(res.JSON(f.t)["id"].(float64))
}

func (f *fixture) member(intercomID, userID int64, title string) {
	f.t.Helper()
	f.want(f.admin("PUT", "/api/admin/v1/intercoms/"+itoa(intercomID)+"/members/"+itoa(userID),
		`{"title":"`+title+`","status":"confirmed"}`), 200)
}

// seedWorld provisions the seed's world: camera 833, intercom 180 "House"
// (department 100, address "Cameras") online, and alice's phone.
func (f *fixture) seedWorld() (alice device, aliceID int64) {
	f.t.Helper()
	ctx := f.t.Context()
	group, startAt := int64(124), time.Date(2022, 4, 19, 16, 43, 15, 0, time.UTC)
	if _, err := f.store.CreateCamera(ctx, intercom.Camera{ID: 833, GroupID: &group, Status: "active", Type: "media_server_v2",
		StartAt: &startAt, CreatedAt: time.Date(2022, 2, 18, 15, 5, 53, 0, time.UTC), PrettyName: "Intercom",
		IsArchiveRecording: true, UserStatus: "active", Name: "Intercom"}); err != nil {
		f.t.Fatal(err)
	}
	cam := int64(833)
	if _, err := f.store.CreateIntercom(ctx, intercom.Intercom{ID: 180, Address: "Cameras", Department: 100, CameraID: &cam,
		SecretHash: []byte("x"), DoorOpenSeconds: 7, CreatedAt: start}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.store.RecordHeartbeats(ctx, map[int64]time.Time{180: start}); err != nil {
		f.t.Fatal(err)
	}
	aliceID = f.user("alice")
	f.member(180, aliceID, "House")
	return f.login("alice", "alice-phone"), aliceID
}

func itoa(n int64) string { return jsonNumber(n) }

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

// errorsOf returns the "errors" object of a 422 body.
func errorsOf(t testing.TB, res *response) map[string][]string {
	t.Helper()
	var v struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors"`
	}
	if err := json.Unmarshal(res.Body, &v); err != nil {
		t.Fatalf("422 body %s: %v", res.Body, err)
	}
	return v.Errors
}

func compactJSON(t testing.TB, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return buf.String()
}
