package http_test

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"intercom"
)

func hashOf(token string) []byte { s := sha256.Sum256([]byte(token)); return s[:] }

func TestBodyErrors(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	big := `{"title":"` + strings.Repeat("a", 70<<10) + `"}`
	for _, tt := range []struct {
		name, body, contentType string
		code                    int
	}{
		{"oversized", big, "application/json", 413},
		{"not JSON", `{"title": "x"`, "application/json", 400},
		{"trailing garbage", `{"title":"x"} {}`, "application/json", 400},
		{"top-level array", `[{"title":"x"}]`, "application/json", 400},
		{"form content type", `title=x`, "application/x-www-form-urlencoded", 415},
		{"no content type", `{"title":"x"}`, "-", 415},
		{"garbage content type", `{"title":"x"}`, ";;;", 415},
		{"charset is fine", `{"title":"x"}`, "application/json; charset=utf-8", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hdr := alice.headers()
			hdr["Content-Type"] = tt.contentType
			if tt.contentType == "-" {
				hdr["Content-Type"] = ""
			}
			req := httptest.NewRequest("PATCH", "http://intercomd.test/api/v1/intercom/180", strings.NewReader(tt.body))
			for k, v := range hdr {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			rec := httptest.NewRecorder()
			f.srv.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if tt.code != 200 && !strings.Contains(rec.Body.String(), `"message":`) {
				t.Errorf("body %s has no message", rec.Body)
			}
		})
	}
	v := f.want(f.as(alice, "GET", "/api/v1/intercom/180", ""), 200).JSON(t)
	if v["title"] != "x" {
		t.Errorf("title %v: only the charset case should have changed it", v["title"])
	}
}

func TestUnmatchedRoutes(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	res := f.want(f.as(alice, "DELETE", "/api/v1/intercom/180", ""), 405)
	if allow := res.Header.Get("Allow"); !strings.Contains(allow, "PATCH") || !strings.Contains(allow, "GET") {
		t.Errorf("Allow %q", allow)
	}
	f.want(f.as(alice, "POST", "/api/v1/intercom/180", `{}`), 405)
	f.want(f.as(alice, "GET", "/api/v1/token", ""), 405)
	res = f.want(f.as(alice, "GET", "/api/v1/nothing-here", ""), 404)
	if string(res.Body) != "{\"message\":\"Not found.\"}\n" {
		t.Errorf("404 body %s", res.Body)
	}
	f.want(f.as(alice, "BREW", "/api/v1/intercom/180", ""), 405)
	// Made-up methods do not become metric labels.
	body := string(f.do(request{method: "GET", path: "/metrics"}).Body)
	if strings.Contains(body, "BREW") || !strings.Contains(body, `method="OTHER"`) {
		t.Error("method label not bounded")
	}
}

func TestOperations(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	f.want(f.do(request{method: "GET", path: "/healthz"}), 200)
	f.want(f.do(request{method: "GET", path: "/readyz"}), 200)
	f.as(alice, "GET", "/api/v1/intercom/180", "")
	m := f.want(f.do(request{method: "GET", path: "/metrics"}), 200)
	for _, want := range []string{
		`intercomd_http_requests_total{method="GET",route="GET /api/v1/intercom/{intercom}",status="200"} 1`,
		`intercomd_http_request_duration_seconds_bucket{route="GET /api/v1/intercom/{intercom}"`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	doc := f.want(f.do(request{method: "GET", path: "/api/openapi.yaml"}), 200)
	if !strings.HasPrefix(string(doc.Body), "openapi: 3.1") {
		t.Errorf("openapi.yaml starts %.40q", doc.Body)
	}
	if id := m.Header.Get("X-Request-ID"); id == "" {
		t.Error("no X-Request-ID")
	}
	res := f.do(request{method: "GET", path: "/healthz", headers: map[string]string{"X-Request-ID": "trace-123"}})
	if res.Header.Get("X-Request-ID") != "trace-123" {
		t.Errorf("request id not echoed: %q", res.Header.Get("X-Request-ID"))
	}
}

func TestReadyzFailsWithoutDatabase(t *testing.T) {
	f := newFixture(t)
	f.store.Close()
	res := f.want(f.do(request{method: "GET", path: "/readyz"}), http.StatusServiceUnavailable)
	if strings.Contains(string(res.Body), "sql") {
		t.Errorf("readyz leaks internals: %s", res.Body)
	}
}

// A store failure is a bare 500 that names nothing internal.
func TestInternalErrorsLeakNothing(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	f.store.Close()
	res := f.want(f.as(alice, "GET", "/api/v1/intercom/180", ""), 500)
	if string(res.Body) != "{\"message\":\"Server Error.\"}\n" {
		t.Errorf("500 body %s", res.Body)
	}
}

// /metrics says which build runs: intercomd_build_info{version,revision,goversion} 1.
func TestBuildInfoMetric(t *testing.T) {
	f := newFixture(t)
	m := f.want(f.do(request{method: "GET", path: "/metrics"}), 200)
	b := intercom.ReadBuild()
	want := `intercomd_build_info{goversion="` + b.GoVersion + `",revision="` + b.Revision + `",version="` + b.Version + `"} 1`
	if !strings.Contains(string(m.Body), want) {
		t.Errorf("metrics lack %s", want)
	}
}
