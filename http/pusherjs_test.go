package http_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"intercom/node"
)

// TestPusherJS drives intercomd with the real pusher-js client from npm, as
// the web app and the JS SDK do: wsurl, private-channel auth, a ring, a
// cancel when another device answers.
func TestPusherJS(t *testing.T) {
	nodeJS, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipped: Node.js is not installed; this test runs the stock pusher-js client (CI installs Node's packages with `npm ci` in e2e/)")
	}
	script, _ := filepath.Abs("../e2e/listen.cjs")
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "pusher-js")); err != nil {
		t.Skip("skipped: pusher-js is not installed; run `npm ci` in e2e/ (CI does)")
	}
	f := newFixtureWith(t, func(c *node.Config) { c.PublicURL = "" }) // links and wsurl follow the request's host
	w := newWorld(t, f)
	tablet := f.loginAs("alice", "alice-tablet", "web")
	srv := f.listen()

	cmd := exec.CommandContext(t.Context(), nodeJS, script, srv.URL, w.alice.token, w.alice.uuid, itoa(w.aliceID), w.alice.tokenID)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	lines := make(chan map[string]any)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
	}()
	var backlog []map[string]any // lines not yet asked for, in order
	next := func(want func(map[string]any) bool, what string) map[string]any {
		t.Helper()
		for i, m := range backlog {
			if want(m) {
				backlog = append(backlog[:i], backlog[i+1:]...)
				return m
			}
		}
		timeout := time.After(20 * time.Second)
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					t.Fatalf("pusher-js exited before %s", what)
				}
				if m["event"] == "connection_error" {
					t.Fatalf("pusher-js: %v", m)
				}
				if want(m) {
					return m
				}
				backlog = append(backlog, m)
			case <-timeout:
				t.Fatalf("pusher-js: no %s within 20 s", what)
			}
		}
	}
	next(func(m map[string]any) bool { return m["event"] == "ready" }, "subscriptions")
	refused := next(func(m map[string]any) bool { return m["event"] == "subscription_error" }, "refusal of a foreign channel")
	if refused["channel"] != "private-user."+itoa(w.aliceID+1000) || refused["data"].(map[string]any)["status"] != float64(403) {
		t.Errorf("refused %v", refused)
	}

	v := w.ring(`{"flat":15}`)
	if v["status"] != "ring" || len(v["recipients"].([]any)) != 1 {
		t.Fatalf("ring with pusher-js connected: %v", v)
	}
	notification := func(typ string) func(map[string]any) bool {
		return func(m map[string]any) bool {
			d, _ := m["data"].(map[string]any)
			return m["event"] == `Illuminate\Notifications\Events\BroadcastNotificationCreated` && d["type"] == typ
		}
	}
	ring := next(notification("intercom_ring"), "intercom_ring")
	if ring["channel"] != "private-token."+w.alice.tokenID || ring["data"].(map[string]any)["data"].(map[string]any)["call_id"] != v["call_id"] {
		t.Errorf("intercom_ring %v", ring)
	}
	f.want(f.as(tablet, "POST", callPath(v, "start"), ""), 404) // the tablet was not rung: it had no socket
	f.want(f.as(w.alice, "POST", callPath(v, "cancel"), ""), 204)
	cancel := next(notification("intercom_cancel"), "intercom_cancel")
	if cancel["data"].(map[string]any)["reason"] != "declined" {
		t.Errorf("intercom_cancel %v", cancel)
	}
	next(notification("intercom.call.store"), "intercom.call.store")
}
