package http_test

import (
	"testing"
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
