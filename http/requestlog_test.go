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

// TestLifecycleLogs: each ring, answer, decline, hang-up, end and door
// opening is logged at info with the ids an operator looks for, and no
// token or intercom secret reaches the log.
func TestLifecycleLogs(t *testing.T) {
	var logs lockedBuffer
	f := newFixtureWith(t, func(c *node.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	w := newWorldWith(t, f, "web")
	f.socket(t, w.alice)
	tablet := f.loginAs("alice", "alice-tablet", "web")
	f.socket(t, tablet)

	v := w.ring(`{"flat":15}`)
	f.want(f.as(tablet, "POST", callPath(v, "cancel"), ""), 204)
	f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 200)
	f.want(f.as(w.alice, "POST", callPath(v, "end"), ""), 204)
	missed := w.ring(`{"flat":15}`)
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/calls/"+itoa(callID(missed))+"/end", ""), 204)
	f.srv.Wait()

	out := logs.take()
	for _, secret := range []string{w.alice.token, tablet.token, w.secret} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds a secret %q", secret)
		}
	}
	type line struct {
		Msg        string `json:"msg"`
		Level      string `json:"level"`
		CallID     int64  `json:"call_id"`
		IntercomID int64  `json:"intercom_id"`
		UserID     int64  `json:"user_id"`
		Device     string `json:"device"`
		Status     any    `json:"status"` // a call's; an HTTP status on admin write lines
		Rung       *int   `json:"rung"`
	}
	var got []line
	for _, raw := range strings.Split(strings.TrimSpace(out), "\n") {
		var l line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		switch l.Msg {
		case "ring", "call answered", "call declined", "call hung up", "visitor left":
			l.Level = strings.ToLower(l.Level)
			got = append(got, l)
		}
	}
	two := 2
	first, second := callID(v), callID(missed)
	want := []line{
		{Msg: "ring", Level: "info", CallID: first, IntercomID: w.intercomID, Status: "ring", Rung: &two},
		{Msg: "call declined", Level: "info", CallID: first, UserID: w.aliceID, Device: "alice-tablet", Status: "ring"},
		{Msg: "call answered", Level: "info", CallID: first, UserID: w.aliceID, Device: "alice-phone"},
		{Msg: "call hung up", Level: "info", CallID: first, UserID: w.aliceID, Device: "alice-phone"},
		{Msg: "ring", Level: "info", CallID: second, IntercomID: w.intercomID, Status: "ring", Rung: &two},
		{Msg: "visitor left", Level: "info", CallID: second, IntercomID: w.intercomID, Status: "missed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lifecycle logs (-want +got):\n%s", diff)
	}
}
