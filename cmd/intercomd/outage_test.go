package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"intercom/postgres/pgtest"
	"intercom/pusher/pusherclient"
)

// startServe runs `intercomd serve` through run() with args and env, and
// returns its base URL once it listens; it stops when t ends.
func startServe(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	env = withSecretKey(t, env, args)
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), env, outW, io.Discard)
		outW.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the server did not stop")
		}
	})
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
	}()
	select {
	case b := <-base:
		return b
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not start")
	}
	return ""
}

// A node whose database goes away answers 503 in JSON, says so on /readyz,
// tells its sockets to reconnect once its event listener is back (they may
// have missed events), and serves again without a restart.
func TestDatabaseOutage(t *testing.T) {
	proxy, db := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	base := startServe(t, map[string]string{"INTERCOMD_ADMIN_TOKEN": "outage-admin-token-0123456789abcdef", "INTERCOMD_LOG_LEVEL": "error"}, "--db", db)
	get := func(path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer outage-admin-token-0123456789abcdef")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
			t.Fatalf("GET %s: %d, not JSON: %v", path, res.StatusCode, err)
		}
		return res.StatusCode, v
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz = %d before the outage", code)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sock, err := pusherclient.Dial(ctx, strings.Replace(base, "http://", "ws://", 1)+"/ws/app/intercomd?protocol=7")
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()

	proxy.Stop()
	// /readyz probes the database at most once a second: it says so by the
	// next probe, or at once if a statement failed meanwhile.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, v := get("/readyz")
		if code == 503 && v["message"] != "" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("/readyz during the outage = %d %v, want 503 with a message", code, v)
		}
	}
	if code, v := get("/api/admin/v1/calls/1"); code != 503 || v["message"] == nil {
		t.Fatalf("a request during the outage = %d %v, want 503 JSON", code, v)
	}

	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	// The bus listens again and tells the socket to reconnect (4200).
	for {
		m, err := sock.Next(ctx)
		if err != nil {
			t.Fatalf("the socket ended without pusher:error 4200: %v", err)
		}
		if m.Event == "pusher:error" {
			if !strings.Contains(m.Data, "4200") {
				t.Fatalf("pusher:error %s, want code 4200", m.Data)
			}
			break
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := get("/readyz"); code == 200 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d after the database came back", code)
		}
	}
	if code, v := get("/api/admin/v1/calls/1"); code != 404 {
		t.Fatalf("after the outage: %d %v, want 404 (no such call)", code, v)
	}
}
