package main

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

const listenerAdminToken = "listener-test-admin-token-0123456789"

// TestPrivateListeners: --admin-addr and --metrics-addr serve the admin API
// and /metrics on listeners of their own, which serve nothing else, and
// the public listener then answers 404 there; the start-up block says
// where each is. Without them, both stay on the public listener.
func TestPrivateListeners(t *testing.T) {
	admin := map[string]string{"Authorization": "Bearer " + listenerAdminToken}
	createUser := func(n *node, login string) int {
		t.Helper()
		code, _ := n.do(t, "POST", "/api/admin/v1/users", admin, `{"login":"`+login+`","password":"password-`+login+`"}`)
		return code
	}
	// at is n's client aimed at another of its listeners.
	at := func(n *node, addr string) *node {
		return &node{name: n.name + " at " + addr, url: "http://" + addr, client: n.client}
	}

	t.Run("separate", func(t *testing.T) {
		// 127.0.0.2 is loopback too: two listeners, not one.
		n := runNode(t, t, "private", map[string]string{"INTERCOMD_ADMIN_TOKEN": listenerAdminToken},
			"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "private.db"),
			"--admin-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.2:0")
		logs := n.logs.String()
		adminLine, metricsLine := startupLine(t, logs, "admin API on"), startupLine(t, logs, "metrics on")
		adminAddr, _ := adminLine["addr"].(string)
		metricsAddr, _ := metricsLine["addr"].(string)
		public := strings.TrimPrefix(n.url, "http://")
		if adminAddr == "" || metricsAddr == "" || adminAddr == public || metricsAddr == public || adminAddr == metricsAddr ||
			adminLine["private"] != true || metricsLine["private"] != true {
			t.Fatalf("start-up lines %v and %v: want two private listeners apart from the public %s", adminLine, metricsLine, public)
		}
		adminLn, metricsLn := at(n, adminAddr), at(n, metricsAddr)

		// The public listener: 404 on both, everything else as before.
		if code := createUser(n, "public"); code != 404 {
			t.Errorf("admin API on the public listener: %d, want 404", code)
		}
		if code, _ := n.do(t, "GET", "/metrics", nil, ""); code != 404 {
			t.Errorf("/metrics on the public listener: %d, want 404", code)
		}
		if code, v := n.do(t, "GET", "/metrics/", nil, ""); code != 404 {
			t.Errorf("/metrics/ on the public listener: %d %v, want 404", code, v)
		}
		n.want(t, "GET", "/healthz", nil, "", 200)

		// The admin listener: the admin API, and nothing else.
		if code := createUser(adminLn, "private"); code != 201 {
			t.Errorf("admin API on its listener: %d, want 201", code)
		}
		n.want(t, "POST", "/api/v1/token", map[string]string{"X-Client": "web", "X-UUID": "listener-web"},
			`{"login":"private","password":"password-private"}`, 200)
		for _, path := range []string{"/metrics", "/healthz", "/api/v1/users/self", "/api/openapi.yaml"} {
			if code, _ := adminLn.do(t, "GET", path, nil, ""); code != 404 {
				t.Errorf("GET %s on the admin listener: %d, want 404", path, code)
			}
		}

		// The metrics listener: /metrics, counting the admin listener's
		// requests too, and nothing else.
		if body := scrape(t, metricsLn.url); !strings.Contains(body, `intercomd_http_requests_total{method="POST",route="POST /api/admin/v1/users",status="201"} 1`) {
			t.Errorf("the metrics listener's /metrics lacks the admin request:\n%s", body)
		}
		if code := createUser(metricsLn, "metrics"); code != 404 {
			t.Errorf("admin API on the metrics listener: %d, want 404", code)
		}
		if code, _ := metricsLn.do(t, "GET", "/healthz", nil, ""); code != 404 {
			t.Errorf("/healthz on the metrics listener: %d, want 404", code)
		}
	})

	t.Run("one address for both", func(t *testing.T) {
		n := runNode(t, t, "shared", map[string]string{"INTERCOMD_ADMIN_TOKEN": listenerAdminToken,
			"INTERCOMD_ADMIN_ADDR": "127.0.0.1:0", "INTERCOMD_METRICS_ADDR": "127.0.0.1:0"},
			"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "shared.db"))
		logs := n.logs.String()
		adminAddr, _ := startupLine(t, logs, "admin API on")["addr"].(string)
		metricsAddr, _ := startupLine(t, logs, "metrics on")["addr"].(string)
		if adminAddr == "" || adminAddr != metricsAddr || "http://"+adminAddr == n.url {
			t.Fatalf("admin API at %q, metrics at %q, public %s: want one private listener for both", adminAddr, metricsAddr, n.url)
		}
		private := at(n, adminAddr)
		if code := createUser(private, "shared"); code != 201 {
			t.Errorf("admin API on the private listener: %d, want 201", code)
		}
		scrape(t, private.url)
		if code := createUser(n, "public"); code != 404 {
			t.Errorf("admin API on the public listener: %d, want 404", code)
		}
		if code, _ := n.do(t, "GET", "/metrics", nil, ""); code != 404 {
			t.Errorf("/metrics on the public listener: %d, want 404", code)
		}
	})

	t.Run("default: on the public listener", func(t *testing.T) {
		n := runNode(t, t, "public", map[string]string{"INTERCOMD_ADMIN_TOKEN": listenerAdminToken},
			"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "public.db"))
		public := strings.TrimPrefix(n.url, "http://")
		for _, msg := range []string{"admin API on", "metrics on"} {
			if line := startupLine(t, n.logs.String(), msg); line["addr"] != public || line["private"] != nil {
				t.Errorf("start-up line %v: want the public listener %s", line, public)
			}
		}
		if code := createUser(n, "public"); code != 201 {
			t.Errorf("admin API on the public listener: %d, want 201", code)
		}
		scrape(t, n.url)
	})

	t.Run("address taken", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		err = run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "taken.db"),
			"--metrics-addr", taken.Addr().String()}, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
			t.Errorf("run with --metrics-addr on a taken port: %v, want an error naming --metrics-addr", err)
		}
	})
}

// scrape is the body of base's /metrics; the test fails unless it answers
// 200 with intercomd's metrics.
func scrape(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), "intercomd_build_info") {
		t.Fatalf("GET %s/metrics: %d\n%s", base, res.StatusCode, b)
	}
	return string(b)
}
