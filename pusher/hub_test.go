package pusher_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"intercom/clocktest"
	"intercom/pusher"
)

func newServer(t testing.TB) (*pusher.Hub, *httptest.Server) {
	t.Helper()
	hub := pusher.New("app-key", "app-secret", nil)
	mux := http.NewServeMux()
	mux.Handle("GET /app/{key}", hub)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { hub.Close(); srv.Close() })
	return hub, srv
}

type client struct {
	t        *testing.T
	conn     *websocket.Conn
	socketID string
}

type message struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

func dial(t *testing.T, srv *httptest.Server, path string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &client{t: t, conn: conn}
}

func connect(t *testing.T, srv *httptest.Server) *client {
	t.Helper()
	c := dial(t, srv, "/app/app-key?protocol=7&client=js&version=8.4.0")
	m := c.read()
	if m.Event != "pusher:connection_established" {
		t.Fatalf("first message %+v", m)
	}
	var s string
	json.Unmarshal(m.Data, &s)
	var est struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(s), &est); err != nil || est.SocketID == "" || est.ActivityTimeout != 120 {
		t.Fatalf("connection_established data %s: %v", m.Data, err)
	}
	c.socketID = est.SocketID
	return c
}

func (c *client) read() message {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("%s: %v", b, err)
	}
	return m
}

func (c *client) write(s string) {
	c.t.Helper()
	if err := c.conn.Write(c.t.Context(), websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) subscribe(hub *pusher.Hub, channel string) message {
	c.t.Helper()
	return c.subscribeAs(hub, channel, pusher.Grant{Token: "token-1", User: 1})
}

// subscribeAs subscribes with the signature broadcasting/auth would give for
// the access token and account of g.
func (c *client) subscribeAs(hub *pusher.Hub, channel string, g pusher.Grant) message {
	c.t.Helper()
	auth := hub.Authorize(c.socketID, channel, g)
	c.write(`{"event":"pusher:subscribe","data":{"channel":"` + channel + `","auth":"` + auth + `"}}`)
	return c.read()
}

func TestConnectSubscribePublish(t *testing.T) {
	hub, srv := newServer(t)
	a, b := connect(t, srv), connect(t, srv)
	if a.socketID == b.socketID {
		t.Fatal("two sockets share an id")
	}
	if m := a.subscribe(hub, "private-user.13"); m.Event != "pusher_internal:subscription_succeeded" || m.Channel != "private-user.13" {
		t.Fatalf("subscribe: %+v", m)
	}
	if m := b.subscribe(hub, "private-user.13"); m.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("subscribe: %+v", m)
	}
	if !hub.Subscribed("private-user.13") || hub.Subscribed("private-user.14") {
		t.Fatal("Subscribed is wrong")
	}
	// Excluding b's socket (X-Socket-ID): only a gets it.
	if n := hub.Publish("private-user.13", "App\\Event", []byte(`{"type":"x","n":1}`), b.socketID); n != 1 {
		t.Fatalf("queued for %d sockets", n)
	}
	hub.Publish("private-user.13", "App\\Event", []byte(`{"type":"x","n":2}`), "")
	for _, tc := range []struct {
		c    *client
		want string
	}{{a, "1"}, {a, "2"}, {b, "2"}} {
		m := tc.c.read()
		var s string
		json.Unmarshal(m.Data, &s)
		if m.Event != "App\\Event" || m.Channel != "private-user.13" || !strings.Contains(s, `"n":`+tc.want) {
			t.Errorf("got %+v (%s), want n=%s", m, s, tc.want)
		}
	}
	// Ping, pong.
	a.write(`{"event":"pusher:ping","data":{}}`)
	if m := a.read(); m.Event != "pusher:pong" {
		t.Errorf("ping answered with %+v", m)
	}
	// Unsubscribe.
	a.write(`{"event":"pusher:unsubscribe","data":{"channel":"private-user.13"}}`)
	a.write(`{"event":"pusher:ping","data":{}}`)
	a.read() // the pong: the unsubscribe was handled before it
	if n := hub.Publish("private-user.13", "e", []byte(`{}`), b.socketID); n != 0 {
		t.Errorf("unsubscribed socket still receives (%d)", n)
	}
	if hub.Open() != 2 {
		t.Errorf("Open = %d", hub.Open())
	}
}

func TestSubscribeRejected(t *testing.T) {
	hub, srv := newServer(t)
	a, b := connect(t, srv), connect(t, srv)
	// A signature made for another socket, another channel, or none.
	for _, auth := range []string{hub.Sign(b.socketID, "private-user.1"), hub.Sign(a.socketID, "private-user.2"), "", "app-key:00"} {
		a.write(`{"event":"pusher:subscribe","data":{"channel":"private-user.1","auth":"` + auth + `"}}`)
		m := a.read()
		if m.Event != "pusher:subscription_error" || m.Channel != "private-user.1" {
			t.Errorf("auth %q: %+v", auth, m)
		}
	}
	a.write(`{"event":"pusher:subscribe","data":{"channel":"public-news"}}`)
	if m := a.read(); m.Event != "pusher:subscription_error" {
		t.Errorf("public channel: %+v", m)
	}
	if hub.Subscribed("private-user.1") {
		t.Fatal("a rejected subscription took effect")
	}
	// Protocol 5 clients may send data as a JSON string.
	auth := hub.Authorize(a.socketID, "private-token.abc", pusher.Grant{Token: "abc", User: 1})
	a.write(`{"event":"pusher:subscribe","data":"{\"channel\":\"private-token.abc\",\"auth\":\"` + auth + `\"}"}`)
	if m := a.read(); m.Event != "pusher_internal:subscription_succeeded" {
		t.Errorf("string data: %+v", m)
	}
}

func TestMalformedMessages(t *testing.T) {
	_, srv := newServer(t)
	a := connect(t, srv)
	for _, msg := range []string{`not json`, `{}`, `{"event":"client-hello","channel":"private-user.1","data":{}}`,
		`{"event":"pusher:subscribe","data":{"channel":"bad channel!"}}`, `{"event":"whatever"}`, `[1,2]`} {
		a.write(msg)
		m := a.read()
		if m.Event != "pusher:error" && m.Event != "pusher:subscription_error" {
			t.Errorf("%s → %+v", msg, m)
		}
	}
	if err := a.conn.Write(t.Context(), websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m := a.read(); m.Event != "pusher:error" {
		t.Errorf("binary → %+v", m)
	}
	// Still serving.
	a.write(`{"event":"pusher:ping"}`)
	if m := a.read(); m.Event != "pusher:pong" {
		t.Errorf("after garbage: %+v", m)
	}
	// Over the size limit: the socket is closed; the server goes on.
	a.write(`{"event":"pusher:ping","data":"` + strings.Repeat("x", pusher.MaxMessage) + `"}`)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, _, err := a.conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("oversized message: %v", err)
	}
	connect(t, srv)
}

func TestConnectRefused(t *testing.T) {
	_, srv := newServer(t)
	for path, code := range map[string]websocket.StatusCode{
		"/app/wrong-key?protocol=7": 4001,
		"/app/app-key":              4008,
		"/app/app-key?protocol=4":   4007,
		"/app/app-key?protocol=abc": 4007,
	} {
		c := dial(t, srv, path)
		m := c.read()
		var data struct {
			Code int `json:"code"`
		}
		json.Unmarshal(m.Data, &data)
		if m.Event != "pusher:error" || data.Code != int(code) {
			t.Errorf("%s: %+v", path, m)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		_, _, err := c.conn.Read(ctx)
		cancel()
		if websocket.CloseStatus(err) != code {
			t.Errorf("%s: closed with %v, want %d", path, err, code)
		}
	}
	for _, p := range []string{"5", "6", "7"} {
		c := dial(t, srv, "/app/app-key?protocol="+p)
		if m := c.read(); m.Event != "pusher:connection_established" {
			t.Errorf("protocol %s: %+v", p, m)
		}
	}
}

// A client that never reads is dropped; the others keep receiving.
func TestSlowConsumerIsDropped(t *testing.T) {
	hub, srv := newServer(t)
	slow, fast := connect(t, srv), connect(t, srv)
	slow.subscribe(hub, "private-user.1")
	fast.subscribe(hub, "private-user.1")
	payload := []byte(`{"pad":"` + strings.Repeat("x", 4000) + `"}`)
	got := make(chan string)
	go func() { // fast reads everything it is sent
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, b, err := fast.conn.Read(ctx)
			cancel()
			if err != nil {
				close(got)
				return
			}
			var m message
			json.Unmarshal(b, &m)
			got <- m.Event
		}
	}()
	sent := 0
	for i := 0; i < 100_000 && hub.Dropped() == 0; i++ {
		hub.Publish("private-user.1", "e", payload, "")
		sent++
		if ev, ok := <-got; !ok || ev != "e" { // in step with the fast reader
			t.Fatalf("fast socket: %q, %v after %d events", ev, ok, sent)
		}
	}
	if hub.Dropped() != 1 || hub.Open() != 1 {
		t.Fatalf("after %d events: dropped %d, open %d; want the slow one dropped, the fast one open", sent, hub.Dropped(), hub.Open())
	}
	hub.Publish("private-user.1", "last", []byte(`{}`), "")
	if ev := <-got; ev != "last" {
		t.Errorf("fast socket got %q after the drop", ev)
	}
}

func TestCloseEndsSockets(t *testing.T) {
	hub, srv := newServer(t)
	a := connect(t, srv)
	hub.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, _, err := a.conn.Read(ctx); websocket.CloseStatus(err) != 4200 {
		t.Errorf("closed with %v, want 4200", err)
	}
}

// TestSubprotocolEchoed: the endpoint echoes the Pusher subprotocol a client
// offers, and picks none when none is offered.
func TestSubprotocolEchoed(t *testing.T) {
	_, srv := newServer(t)
	tests := []struct {
		name    string
		offered []string
		want    string
	}{
		{"protocol 7", []string{"pusher-channels-protocol-7"}, "pusher-channels-protocol-7"},
		{"unknown first, then 7", []string{"chat", "pusher-channels-protocol-7"}, "pusher-channels-protocol-7"},
		{"none offered", nil, ""},
		{"only unknown", []string{"chat"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/app/app-key?protocol=7",
				&websocket.DialOptions{Subprotocols: tt.offered})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			if got := res.Header.Get("Sec-WebSocket-Protocol"); got != tt.want {
				t.Errorf("Sec-WebSocket-Protocol %q, want %q", got, tt.want)
			}
			if got := conn.Subprotocol(); got != tt.want {
				t.Errorf("Subprotocol() %q, want %q", got, tt.want)
			}
		})
	}
}

// A signature alone does not subscribe: the subscription must have been
// authorized through Authorize, which ties it to a token.
func TestSubscribeNeedsAGrant(t *testing.T) {
	hub, srv := newServer(t)
	a := connect(t, srv)
	a.write(`{"event":"pusher:subscribe","data":{"channel":"private-user.1","auth":"` + hub.Sign(a.socketID, "private-user.1") + `"}}`)
	if m := a.read(); m.Event != "pusher:subscription_error" {
		t.Fatalf("a subscription signed without a grant: %+v", m)
	}
	if hub.Subscribed("private-user.1") {
		t.Fatal("it took effect")
	}
}

// expectClosed reads the pusher:error a closed socket gets, then the close.
func (c *client) expectClosed(code int) {
	c.t.Helper()
	m := c.read()
	var data struct {
		Code int `json:"code"`
	}
	if err := json.Unmarshal(m.Data, &data); err != nil || m.Event != "pusher:error" || data.Code != code {
		c.t.Fatalf("got %+v (%v), want pusher:error %d", m, err, code)
	}
	ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
	defer cancel()
	if _, b, err := c.conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusCode(code) {
		c.t.Fatalf("after the error: %s, %v; want the socket closed with %d", b, err, code)
	}
}

func TestCloseTokenAndUser(t *testing.T) {
	hub, srv := newServer(t)
	// a and b: two devices of account 1; c: account 2.
	a, b, c := connect(t, srv), connect(t, srv), connect(t, srv)
	ga, gb, gc := pusher.Grant{Token: "tok-a", User: 1}, pusher.Grant{Token: "tok-b", User: 1}, pusher.Grant{Token: "tok-c", User: 2}
	for _, s := range []struct {
		c  *client
		ch string
		g  pusher.Grant
	}{
		{a, "private-user.1", ga}, {a, "private-token.tok-a", ga},
		{b, "private-user.1", gb}, {b, "private-token.tok-b", gb},
		{c, "private-user.2", gc},
	} {
		if m := s.c.subscribeAs(hub, s.ch, s.g); m.Event != "pusher_internal:subscription_succeeded" {
			t.Fatalf("subscribe %s: %+v", s.ch, m)
		}
	}
	// An authorization not yet used counts too: it is closed with its token.
	d := connect(t, srv)
	hub.Authorize(d.socketID, "private-user.1", ga)

	hub.CloseToken("tok-a") // a logged out
	a.expectClosed(4009)
	d.expectClosed(4009)
	if hub.Subscribed("private-token.tok-a") {
		t.Error("the token's channel is still subscribed")
	}
	if n := hub.Publish("private-user.1", "e", []byte(`{"n":1}`), ""); n != 1 {
		t.Errorf("the account's event reached %d sockets, want b's only", n)
	}
	if m := b.read(); m.Event != "e" {
		t.Fatalf("b got %+v", m)
	}

	hub.CloseUser(1) // the account is deleted
	b.expectClosed(4009)
	if n := hub.Publish("private-user.1", "e", []byte(`{}`), ""); n != 0 {
		t.Errorf("the deleted account's event reached %d sockets", n)
	}
	if hub.Open() != 1 {
		t.Errorf("Open = %d, want c's socket only", hub.Open())
	}
	c.write(`{"event":"pusher:ping"}`)
	if m := c.read(); m.Event != "pusher:pong" {
		t.Errorf("the other account's socket: %+v", m)
	}
}

// A socket that says nothing for longer than the activity timeout and its
// grace is closed with 4202; one that pings stays, and the hub's sweeper
// stops with its last socket.
func TestSilenceClosesSocket(t *testing.T) {
	hub, srv := newServer(t)
	clock := clocktest.New(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	pusher.SetSilenceClock(hub, clock)
	silent, talking := connect(t, srv), connect(t, srv)

	clock.Advance(100 * time.Second)
	talking.write(`{"event":"pusher:ping"}`)
	if m := talking.read(); m.Event != "pusher:pong" {
		t.Fatalf("ping: %+v", m)
	}
	clock.Advance(60 * time.Second) // silent: 160 s, more than 120 + 30; talking: 60 s
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, b, err := silent.conn.Read(ctx); websocket.CloseStatus(err) != 4202 {
		t.Fatalf("the silent socket: %s, %v; want it closed with 4202", b, err)
	}
	if hub.Open() != 1 {
		t.Fatalf("Open = %d, want the talking socket only", hub.Open())
	}
	talking.write(`{"event":"pusher:ping"}`)
	if m := talking.read(); m.Event != "pusher:pong" {
		t.Fatalf("the talking socket after the sweep: %+v", m)
	}

	clock.Advance(200 * time.Second)
	if _, b, err := talking.conn.Read(ctx); websocket.CloseStatus(err) != 4202 {
		t.Fatalf("the socket once silent: %s, %v; want it closed with 4202", b, err)
	}
	if hub.Open() != 0 || clock.Pending() != 0 {
		t.Errorf("Open = %d, timers pending = %d; want none", hub.Open(), clock.Pending())
	}
}

// A hub told its node (a cluster's bus over NATS) makes it the first number
// of its sockets' ids, so that a grant can find the socket's node; the
// second stays random, and the id stays a Pusher socket id.
func TestSocketIDsNameTheNode(t *testing.T) {
	hub, srv := newServer(t)
	hub.SetNode("4000000000")
	pattern := regexp.MustCompile(`^4000000000\.[0-9]{1,20}$`)
	a, b := connect(t, srv), connect(t, srv)
	for _, c := range []*client{a, b} {
		if !pattern.MatchString(c.socketID) {
			t.Errorf("socket id %q, want 4000000000.<random>", c.socketID)
		}
	}
	if a.socketID == b.socketID {
		t.Fatal("two sockets share an id")
	}
	if m := a.subscribe(hub, "private-user.13"); m.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("subscribe: %+v", m)
	}
}
