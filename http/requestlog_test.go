package http_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"intercom/node"
)

// lockedBuffer is a bytes.Buffer that a logger may write from several
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

// requestLines are the "request" log lines of logs, decoded.
func requestLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if v["msg"] == "request" {
			out = append(out, v)
		}
	}
	return out
}

// A request's log line (at debug level) says its route pattern, not its path;
// its status; its duration in milliseconds; the client's address from the
// trusted proxy's header when one is configured (else the peer's); and the
// account it acted for. It never holds the token, from the Authorization
// header or the query.
func TestRequestLog(t *testing.T) {
	var logs lockedBuffer
	f := newFixtureWith(t, func(c *node.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.RealIPHeader = "X-Forwarded-For"
	})
	alice, aliceID := f.seedWorld()
	logs.take()

	const queryToken = "query-token-that-must-not-be-logged"
	h := alice.headers()
	h["X-Forwarded-For"] = "198.51.100.1, 203.0.113.7"
	f.want(f.do(request{method: "GET", path: "/api/v1/intercom/180?token=" + queryToken, headers: h}), 200)
	f.want(f.do(request{method: "GET", path: "/readyz"}), 200)
	out := logs.take()
	for _, secret := range []string{alice.token, queryToken, "Bearer", "/api/v1/intercom/180"} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs hold %q:\n%s", secret, out)
		}
	}
	lines := requestLines(t, out)
	if len(lines) != 2 {
		t.Fatalf("%d request lines, want 2:\n%s", len(lines), out)
	}
	for _, line := range lines {
		ms, ok := line["duration_ms"].(float64)
		if !ok || ms < 0 || ms > 60_000 {
			t.Errorf("duration_ms %v (%T): want milliseconds", line["duration_ms"], line["duration_ms"])
		}
		if id, _ := line["request_id"].(string); id == "" {
			t.Errorf("no request_id in %v", line)
		}
		delete(line, "duration_ms")
		delete(line, "request_id")
		delete(line, "time")
	}
	want := []map[string]any{
		{"level": "DEBUG", "msg": "request", "method": "GET", "route": "GET /api/v1/intercom/{intercom}", "status": float64(200),
			"client": "203.0.113.7", "user_id": float64(aliceID)},
		{"level": "DEBUG", "msg": "request", "method": "GET", "route": "GET /readyz", "status": float64(200),
			"client": "192.0.2.1"}, // httptest's peer: no header, so the peer's address
	}
	for i := range want {
		if diff := cmp.Diff(want[i], lines[i]); diff != "" {
			t.Errorf("request line %d (-want +got):\n%s", i, diff)
		}
	}
}
