package http_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"intercom/node"
	"intercom/web"
)

// TestWebApp: the app is served at / and /web/ beside the API, and the
// API's own answers stay JSON; without it, / is a JSON 404.
func TestWebApp(t *testing.T) {
	app, err := web.New(web.Config{SIPWSURL: "wss://sip.example.com/sip"})
	if err != nil {
		t.Fatal(err)
	}
	with := newFixtureWith(t, func(c *node.Config) { c.Web = app })
	without := newFixture(t)
	serve := func(f *fixture, method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, httptest.NewRequest(method, "http://intercomd.test"+path, nil))
		return w
	}
	for _, tc := range []struct {
		f            *fixture
		method, path string
		code         int
		ctype        string
	}{
		{with, "GET", "/", 200, "text/html"},
		{with, "HEAD", "/", 200, "text/html"},
		{with, "GET", "/web/main.js", 200, "text/javascript"},
		{with, "GET", "/web/app.css", 200, "text/css"},
		{with, "POST", "/", 405, "application/json"},
		{with, "GET", "/index.html", 404, "application/json"},
		{with, "GET", "/api/v1/nope", 404, "application/json"},
		{with, "GET", "/api/v1/intercom", 401, "application/json"},
		{without, "GET", "/", 404, "application/json"},
		{without, "GET", "/web/main.js", 404, "application/json"},
	} {
		w := serve(tc.f, tc.method, tc.path)
		if w.Code != tc.code || !strings.HasPrefix(w.Header().Get("Content-Type"), tc.ctype) {
			t.Errorf("%s %s (web %v): %d %q, want %d %s", tc.method, tc.path, tc.f == with, w.Code,
				w.Header().Get("Content-Type"), tc.code, tc.ctype)
		}
		if tc.f == with && tc.code == 200 && !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s %s: no Content-Security-Policy", tc.method, tc.path)
		}
	}
	if w := serve(with, "GET", "/"); !strings.Contains(w.Body.String(), `src="/web/main.js"`) {
		t.Errorf("GET / is not the app's page: %.200s", w.Body)
	}
	if got := serve(with, "GET", "/metrics").Body.String(); !strings.Contains(got, `route="GET /{$}"`) {
		t.Error("the app's requests are not counted under their route")
	}
}
