package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"intercom"
	intercomnode "intercom/node"
	"intercom/pusher"
	"intercom/sqlite"
)

// wsProxy stands between `intercomd listen` and the real Pusher endpoint: it
// reports what the client sends, can swallow the server's pongs and can cut
// every connection, as a network would.
type wsProxy struct {
	upstream  string // ws://host of the real server
	sent      chan string
	connects  chan struct{}
	dropPongs atomic.Bool
	mu        sync.Mutex
	conns     []*websocket.Conn
}

func (p *wsProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up, _, err := websocket.Dial(r.Context(), p.upstream+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	down, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		up.CloseNow()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, down, up)
	p.mu.Unlock()
	p.connects <- struct{}{}
	ctx := context.Background()
	go func() {
		defer down.CloseNow()
		for {
			typ, b, err := up.Read(ctx)
			if err != nil {
				return
			}
			if p.dropPongs.Load() && strings.Contains(string(b), `"pusher:pong"`) {
				continue
			}
			if down.Write(ctx, typ, b) != nil {
				return
			}
		}
	}()
	defer up.CloseNow()
	for {
		typ, b, err := down.Read(ctx)
		if err != nil {
			return
		}
		var m struct {
			Event string `json:"event"`
		}
		json.Unmarshal(b, &m)
		select {
		case p.sent <- m.Event:
		default: // nobody is looking
		}
		if up.Write(ctx, typ, b) != nil {
			return
		}
	}
}

// cut drops every connection, as a network failure does.
func (p *wsProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.CloseNow()
	}
	p.conns = nil
}

// lines delivers what a writer gets, line by line.
func lines(t *testing.T) (io.Writer, <-chan string) {
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	ch := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return w, ch
}

// waitLine waits (at most bound) for a line containing s.
func waitLine(t *testing.T, ch <-chan string, s string) {
	t.Helper()
	bound := time.After(10 * time.Second)
	for {
		select {
		case l := <-ch:
			if strings.Contains(l, s) {
				return
			}
		case <-bound:
			t.Fatalf("no line with %q", s)
		}
	}
}

// `intercomd listen` keeps a silent connection alive with pusher:ping, as
// pusher-js does, and when pongs stop or the connection drops it connects
// and subscribes again, so events keep reaching it. Timeouts are shortened;
// every wait is on an event, bounded only to fail.
func TestListenKeepsAliveAndReconnects(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "listen.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	user, err := db.CreateUser(ctx, intercom.User{Login: "alice", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	secret, tok := intercom.NewAccessToken(user.ID, "alice-phone", "web", time.Now(), time.Hour)
	if _, err := db.CreateAccessToken(ctx, tok); err != nil {
		t.Fatal(err)
	}

	proxy := &wsProxy{sent: make(chan string, 100), connects: make(chan struct{}, 100)}
	proxySrv := httptest.NewServer(proxy)
	t.Cleanup(proxySrv.Close)
	hub := pusher.New("listen-key", "listen-secret", nil)
	srv := intercomnode.New(intercomnode.Config{Store: db, Hub: hub, PublicURL: proxySrv.URL})
	t.Cleanup(srv.Close)
	real := httptest.NewServer(srv)
	t.Cleanup(real.Close)
	proxy.upstream = "ws" + strings.TrimPrefix(real.URL, "http")
	t.Cleanup(proxy.cut)

	stdout, out := lines(t)
	stderr, errs := lines(t)
	l := newListener(stdout, stderr)
	l.base, l.token, l.uuid, l.client = real.URL, secret, "alice-phone", "web"
	l.activityTimeout, l.pongTimeout, l.minBackoff, l.maxBackoff = 20*time.Millisecond, 2*time.Second, time.Millisecond, 10*time.Millisecond
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.run(lctx) }()
	waitLine(t, out, "listening as alice-phone")
	<-proxy.connects

	// Silence: it pings, the server pongs, the connection stays.
	for range 3 {
		waitSent(t, proxy.sent, "pusher:ping")
	}
	select {
	case <-proxy.connects:
		t.Fatal("reconnected although the server answered every ping")
	default:
	}
	deliver(t, hub, user.ID, out, "first")

	// Pongs stop coming: it gives up on the connection and opens another.
	proxy.dropPongs.Store(true)
	waitConnect(t, proxy.connects)
	proxy.dropPongs.Store(false)
	waitLine(t, errs, "no pong within")
	deliver(t, hub, user.ID, out, "after-silence")

	// The connection drops: it reconnects and subscribes again.
	proxy.cut()
	waitConnect(t, proxy.connects)
	deliver(t, hub, user.ID, out, "after-drop")

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("listen ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not end with its context")
	}
}

// deliver publishes an event on the account's channel until listen prints
// it: it is delivered once the new connection has subscribed.
func deliver(t *testing.T, hub *pusher.Hub, userID int64, out <-chan string, typ string) {
	t.Helper()
	bound := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	payload := []byte(`{"type":"` + typ + `","id":"x"}`)
	for {
		select {
		case l := <-out:
			if strings.Contains(l, " "+typ+" ") {
				return
			}
		case <-tick.C:
			hub.Publish("private-user."+itoa(userID), "test-event", payload, "")
		case <-bound:
			t.Fatalf("listen never printed %s", typ)
		}
	}
}

func waitSent(t *testing.T, sent <-chan string, event string) {
	t.Helper()
	bound := time.After(10 * time.Second)
	for {
		select {
		case e := <-sent:
			if e == event {
				return
			}
		case <-bound:
			t.Fatalf("the client never sent %s", event)
		}
	}
}

func waitConnect(t *testing.T, connects <-chan struct{}) {
	t.Helper()
	select {
	case <-connects:
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not reconnect")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
