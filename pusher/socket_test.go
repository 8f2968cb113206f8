package pusher_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"intercom/clocktest"
	"intercom/pusher"
)

// rawClient speaks WebSocket by hand over TCP, to control how its frames
// fall into TCP writes.
type rawClient struct {
	t        *testing.T
	conn     net.Conn
	br       *bufio.Reader
	socketID string
}

func dialRaw(t *testing.T, srv *httptest.Server) *rawClient {
	t.Helper()
	return dialRawWith(t, srv, nil)
}

// dialRawWith sends early, frames of its own, in the TCP write that carries
// the opening handshake: they reach the server with the request, so net/http
// has read them into the buffer the socket is handed.
func dialRawWith(t *testing.T, srv *httptest.Server, early []byte) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(15 * time.Second)) // a server that never answers fails the test
	req, _ := http.NewRequest("GET", srv.URL+"/app/app-key?protocol=7", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Version", "13")
	var handshake bytes.Buffer
	if err := req.Write(&handshake); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(append(handshake.Bytes(), early...)); err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, conn: conn, br: bufio.NewReader(conn)}
	res, err := http.ReadResponse(c.br, req)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", res, err)
	}
	m := c.read()
	var s string
	json.Unmarshal(m.Data, &s)
	var est struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal([]byte(s), &est); m.Event != "pusher:connection_established" || err != nil {
		t.Fatalf("first message %+v: %v", m, err)
	}
	c.socketID = est.SocketID
	return c
}

// frame is a client frame of opcode op: masked, as clients must.
func clientFrame(op byte, payload string) []byte {
	b := []byte{0x80 | op}
	if n := len(payload); n < 126 {
		b = append(b, 0x80|byte(n))
	} else {
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	}
	key := []byte{1, 2, 3, 4}
	b = append(b, key...)
	for i := range len(payload) {
		b = append(b, payload[i]^key[i%4])
	}
	return b
}

// readFrame reads one server frame (never masked, never fragmented here).
func (c *rawClient) readFrame() (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		if _, err := io.ReadFull(c.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(c.br, payload)
	return h[0] & 0x0f, payload, err
}

func (c *rawClient) read() message {
	c.t.Helper()
	op, b, err := c.readFrame()
	if err != nil || op != 1 {
		c.t.Fatalf("read: opcode %d %q, %v", op, b, err)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("%s: %v", b, err)
	}
	return m
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// Messages that reach the server in one TCP write are all served: the ones
// left in the socket's read buffer do not wait for the next readability.
func TestMessagesInOneWrite(t *testing.T) {
	hub, srv := newServer(t)
	c := dialRaw(t, srv)
	if !pusher.WaitsOnPoller(hub, c.socketID) {
		t.Fatal("the socket waits in its read: the poller's path goes untested")
	}
	c.write(append(clientFrame(1, `{"event":"pusher:ping"}`), clientFrame(1, `{"event":"client-x","channel":"private-x","data":{}}`)...))
	if m := c.read(); m.Event != "pusher:pong" {
		t.Fatalf("first message answered with %+v", m)
	}
	if m := c.read(); m.Event != "pusher:error" || !strings.Contains(string(m.Data), "4301") {
		t.Fatalf("second message answered with %+v", m)
	}
	// And the socket waits again for the next.
	c.write(clientFrame(1, `{"event":"pusher:ping"}`))
	if m := c.read(); m.Event != "pusher:pong" {
		t.Fatalf("third message answered with %+v", m)
	}
}

// A message that arrived with the opening handshake is served at once: it is
// in the read buffer net/http hands over, which no readability of the
// connection will announce.
func TestMessageWithHandshake(t *testing.T) {
	_, srv := newServer(t)
	c := dialRawWith(t, srv, clientFrame(1, `{"event":"pusher:ping"}`))
	c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if m := c.read(); m.Event != "pusher:pong" {
		t.Fatalf("the message sent with the handshake answered with %+v", m)
	}
}

// A WebSocket ping from the client is answered with a pong, and the messages
// after it are served: the reader it woke waits in its read for them.
func TestWebSocketPing(t *testing.T) {
	_, srv := newServer(t)
	c := dialRaw(t, srv)
	for i := range 3 {
		c.write(clientFrame(9, "hi"))
		if op, b, err := c.readFrame(); op != 10 || string(b) != "hi" || err != nil {
			t.Fatalf("ping %d answered with opcode %d %q, %v; want a pong", i, op, b, err)
		}
		c.write(clientFrame(1, `{"event":"pusher:ping"}`))
		if m := c.read(); m.Event != "pusher:pong" {
			t.Fatalf("message after ping %d answered with %+v", i, m)
		}
	}
}

// An idle socket the server closes ends, even when its client does not
// answer the closing handshake: once that times out (5 s in
// coder/websocket), the TCP connection is closed under the socket's wait,
// which ends it.
func TestIdleSocketClosedByServer(t *testing.T) {
	t.Parallel()
	hub, srv := newServer(t)
	c := dialRaw(t, srv)
	hub.Reconnect()
	if m := c.read(); m.Event != "pusher:error" {
		t.Fatalf("got %+v, want pusher:error", m)
	}
	if op, b, err := c.readFrame(); op != 8 || len(b) < 2 || binary.BigEndian.Uint16(b) != 4200 || err != nil {
		t.Fatalf("got opcode %d %q, %v; want a close frame 4200", op, b, err)
	}
	if op, b, err := c.readFrame(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the close frame: opcode %d %q, %v; want the connection closed", op, b, err)
	}
	if hub.Open() != 0 {
		t.Errorf("Open = %d", hub.Open())
	}
}

// A socket closed while its client talks: the closing handshake reads the
// socket's read buffer from a goroutine of its own while the socket may be
// looking whether it holds more (the race detector tells if the two are not
// ordered), and the client gets what it asked before the close.
func TestCloseWhileTalking(t *testing.T) {
	pings := bytes.Repeat(clientFrame(1, `{"event":"pusher:ping"}`), 20)
	for range 50 {
		hub, srv := newServer(t)
		c := dialRaw(t, srv)
		go func() {
			for range 5 {
				if _, err := c.conn.Write(pings); err != nil {
					return
				}
			}
		}()
		hub.Reconnect()
		for {
			op, b, err := c.readFrame()
			if err != nil {
				t.Fatalf("before the close frame: %v", err)
			}
			if op == 8 {
				if len(b) < 2 || binary.BigEndian.Uint16(b) != 4200 {
					t.Fatalf("close frame %q, want 4200", b)
				}
				break
			}
			var m message
			if json.Unmarshal(b, &m); m.Event != "pusher:pong" && m.Event != "pusher:error" {
				t.Fatalf("got %s", b)
			}
		}
		c.conn.Close()
		srv.Close()
	}
}

// An idle socket whose client goes away without a word (TCP closed) leaves
// the hub: its channel loses it.
func TestIdleSocketClosedByPeer(t *testing.T) {
	hub, srv := newServer(t)
	c := dialRaw(t, srv)
	auth := hub.Authorize(c.socketID, "private-user.1", pusher.Grant{Token: "tok", User: 1})
	c.write(clientFrame(1, `{"event":"pusher:subscribe","data":{"channel":"private-user.1","auth":"`+auth+`"}}`))
	if m := c.read(); m.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("subscribe: %+v", m)
	}
	left := make(chan string, 1)
	hub.Watch(func(channel string, on bool) <-chan struct{} {
		if !on {
			left <- channel
		}
		return nil
	})
	c.conn.Close()
	select {
	case ch := <-left:
		if ch != "private-user.1" || hub.Open() != 0 {
			t.Errorf("left %q, Open = %d", ch, hub.Open())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the socket stayed in the hub")
	}
}

// Over TLS the connection has no socket to wait on: the socket waits in its
// read, and serves as well.
func TestSocketOverTLS(t *testing.T) {
	hub := pusher.New("app-key", "app-secret", nil)
	mux := http.NewServeMux()
	mux.Handle("GET /app/{key}", hub)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(func() { hub.Close(); srv.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(srv.URL, "https")+"/app/app-key?protocol=7",
		&websocket.DialOptions{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	c := &client{t: t, conn: conn}
	m := c.read()
	var s string
	json.Unmarshal(m.Data, &s)
	var est struct {
		SocketID string `json:"socket_id"`
	}
	if json.Unmarshal([]byte(s), &est); m.Event != "pusher:connection_established" || pusher.WaitsOnPoller(hub, est.SocketID) {
		t.Fatalf("first message %+v; waits on the poller: %v", m, pusher.WaitsOnPoller(hub, est.SocketID))
	}
	c.write(`{"event":"pusher:ping"}`)
	if m := c.read(); m.Event != "pusher:pong" {
		t.Fatalf("ping answered with %+v", m)
	}
	hub.Close()
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != 4200 {
		t.Errorf("closed with %v, want 4200", err)
	}
}

// Every way a socket ends leaves none of its goroutines behind: the client
// going away, its closing handshake, the server's (Reconnect, a token's end,
// silence, Close), with the socket idle or its reader woken by a WebSocket
// ping and waiting in its read.
func TestNoGoroutineLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	hub, srv := newServer(t)
	clock := clocktest.New(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	pusher.SetSilenceClock(hub, clock)
	// answer reads up to the server's close frame and answers it.
	answer := func(c *rawClient) {
		t.Helper()
		for {
			op, b, err := c.readFrame()
			if err != nil {
				t.Fatalf("before the close frame: %v", err)
			}
			if op == 8 {
				c.write(clientFrame(8, string(b)))
				return
			}
		}
	}
	const each = 10
	var clients []*rawClient
	open := func(ping bool) *rawClient {
		c := dialRaw(t, srv)
		if ping {
			c.write(clientFrame(9, ""))
			if op, _, err := c.readFrame(); op != 10 || err != nil {
				t.Fatalf("ping answered with opcode %d, %v", op, err)
			}
		}
		clients = append(clients, c)
		return c
	}
	for _, ping := range []bool{false, true} {
		for range each {
			open(ping).conn.Close()
		}
		for range each {
			c := open(ping)
			c.write(clientFrame(8, "\x03\xe8"))
			answer(c)
		}
		var cs []*rawClient
		for range each {
			c := open(ping)
			hub.Authorize(c.socketID, "private-user.1", pusher.Grant{Token: "tok", User: 1})
			cs = append(cs, c)
		}
		hub.CloseToken("tok")
		for _, c := range cs {
			answer(c)
		}
		cs = cs[:0]
		for range each {
			cs = append(cs, open(ping))
		}
		clock.Advance(pusher.ActivityTimeout + time.Minute)
		for _, c := range cs {
			answer(c)
		}
		cs = cs[:0]
		for range each {
			cs = append(cs, open(ping))
		}
		hub.Reconnect()
		for _, c := range cs {
			answer(c)
		}
	}
	for range each {
		open(false)
		open(true)
	}
	hub.Close()
	for _, c := range clients[len(clients)-2*each:] {
		answer(c)
	}
	srv.Close()
	for _, c := range clients {
		c.conn.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if hub.Open() != 0 {
		t.Errorf("Open = %d", hub.Open())
	}
}
