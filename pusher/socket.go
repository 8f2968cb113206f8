package pusher

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// Pusher error codes (protocol reference).
const (
	codeAppNotFound       = 4001
	codeBadProtocol       = 4007
	codeNoProtocol        = 4008
	codeOverCapacity      = 4100
	codeReconnect         = 4200
	codeClosedForSilence  = 4202
	codeClientEventDenied = 4301
)

// socket is one client connection.
type socket struct {
	id     string
	conn   *websocket.Conn
	raw    syscall.RawConn // the TCP connection under conn, waited on for readability; nil if there is none (TLS, tests)
	br     *bufio.Reader   // conn's read buffer
	hub    *Hub
	subs   map[string]struct{} // guarded by hub.mu
	grants map[string]*Grant   // by channel, from Authorize; guarded by hub.mu
	heard  atomic.Int64        // when the client last sent a message, Unix nanoseconds on the silence clock

	mu      sync.Mutex
	queue   [][]byte
	writing bool
	closed  bool
	// ending is set by terminate: the queue is written out, its
	// pusher:error last, then the socket closes with code.
	ending *ending
}

// ending is how a terminated socket closes once its queue is written.
type ending struct {
	code    websocket.StatusCode
	message string
}

// send queues msg; a writer goroutine runs only while there is something to
// write, so an idle socket costs no goroutine of its own.
func (s *socket) send(msg []byte) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= MaxQueue {
		s.closed = true
		s.mu.Unlock()
		s.hub.dropped.Add(1)
		s.hub.log.Warn("pusher: dropping a socket that does not read its events", "socket_id", s.id)
		s.finish(codeOverCapacity, "too slow to read its events")
		return
	}
	s.queue = append(s.queue, msg)
	if !s.writing {
		s.writing = true
		go s.writeLoop()
	}
	s.mu.Unlock()
}

func (s *socket) writeLoop() {
	for {
		s.mu.Lock()
		end := s.ending
		if len(s.queue) == 0 || s.closed && end == nil {
			s.writing = false
			s.queue = nil
			s.mu.Unlock()
			if end != nil { // terminated, its queue written: the close handshake
				s.conn.Close(end.code, end.message)
			}
			return
		}
		msg := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err := s.conn.Write(ctx, websocket.MessageText, msg)
		cancel()
		if err != nil && end != nil {
			s.mu.Lock()
			s.queue = nil // the rest cannot be written either
			s.mu.Unlock()
		} else if err != nil {
			s.close(codeReconnect, "write failed")
		}
	}
}

// close ends the socket once.
func (s *socket) close(code websocket.StatusCode, reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.finish(code, reason)
}

// terminate tells the client why with pusher:error, then closes the socket;
// it is out of the hub at once, so no event published after this call
// reaches it. What was published to it before (a logout event, say) is
// written first.
func (s *socket) terminate(code int, message string) {
	msg := encodeFrame(frame{Event: "pusher:error", Data: map[string]any{"code": code, "message": message}})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.ending = &ending{code: websocket.StatusCode(code), message: message}
	s.queue = append(s.queue, msg)
	if !s.writing { // the writes and the close handshake wait for the peer: not on the caller's time
		s.writing = true
		go s.writeLoop()
	}
	s.mu.Unlock()
	s.hub.remove(s)
}

// finish takes a socket that was just marked closed out of the hub and
// closes its connection.
func (s *socket) finish(code websocket.StatusCode, reason string) {
	s.hub.remove(s)
	go s.conn.Close(code, reason) // the close handshake waits for the peer: not on the caller's time
}

// sendError sends pusher:error.
func (s *socket) sendError(code int, message string) {
	data := map[string]any{"message": message, "code": nil}
	if code != 0 {
		data["code"] = code
	}
	s.send(encodeFrame(frame{Event: "pusher:error", Data: data}))
}

// subprotocols are the WebSocket subprotocols the endpoint speaks, echoed to
// a client that offers one of them.
var subprotocols = []string{"pusher-channels-protocol-7", "pusher-channels-protocol-5"}

// ServeHTTP upgrades a request for /app/{key} to a Pusher socket and serves
// it until it closes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hj := &smallBuffers{ResponseWriter: w}
	conn, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // apps are not browsers; channels are protected by signatures, not origins
		CompressionMode:    websocket.CompressionDisabled,
		Subprotocols:       subprotocols, // echoed when the client offers one
	})
	if err != nil {
		return // Accept has answered
	}
	conn.SetReadLimit(MaxMessage)
	s := &socket{id: h.newSocketID(), conn: conn, raw: pollable(hj.conn), br: hj.br, hub: h}
	if code, msg := h.checkConnect(r); code != 0 {
		b := encodeFrame(frame{Event: "pusher:error", Data: map[string]any{"code": code, "message": msg}})
		ctx, cancel := context.WithTimeout(r.Context(), writeTimeout)
		conn.Write(ctx, websocket.MessageText, b)
		cancel()
		conn.Close(websocket.StatusCode(code), msg)
		return
	}
	if !h.add(s) {
		conn.Close(codeReconnect, "server shutting down")
		return
	}
	established, _ := json.Marshal(map[string]any{"socket_id": s.id, "activity_timeout": int(ActivityTimeout / time.Second)})
	s.send(encodeFrame(frame{Event: "pusher:connection_established", Data: string(established)}))
	// The connection is hijacked: serve it from a goroutine of its own, whose
	// stack stays small, and let net/http's (grown deep by now) end.
	go s.serve(hj.early)
}

var protocolVersion = regexp.MustCompile(`^[0-9]+$`)

func (h *Hub) checkConnect(r *http.Request) (int, string) {
	if r.PathValue("key") != h.key {
		return codeAppNotFound, "Could not find app by key " + strconv.Quote(r.PathValue("key")) + "."
	}
	p := r.URL.Query().Get("protocol")
	if p == "" {
		return codeNoProtocol, "No protocol version supplied."
	}
	if !protocolVersion.MatchString(p) {
		return codeBadProtocol, "Unsupported protocol version " + strconv.Quote(p) + "."
	}
	if v, err := strconv.Atoi(p); err != nil || v < 5 || v > 7 {
		return codeBadProtocol, "Unsupported protocol version " + p + ": 5 to 7 are."
	}
	return 0, ""
}

// clientMessage is what clients send. Data is an object, or (some older
// clients) a JSON string holding the object.
type clientMessage struct {
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
	Channel string          `json:"channel"`
}

type subscribeData struct {
	Channel     string `json:"channel"`
	Auth        string `json:"auth"`
	ChannelData string `json:"channel_data"`
}

var channelName = regexp.MustCompile(`^[A-Za-z0-9_\-=@,.;]{1,164}$`)

// serve reads the client's messages until the socket closes. An idle socket
// waits for its next message here, in a shallow frame (waitReadable), so its
// goroutine's stack stays at its smallest, 2 KiB. Reading a message and
// handling it run deep (coder/websocket's reader, JSON, HMAC) and would grow
// the stack to 8 KiB for the socket's life, as the GC shrinks a stack only
// while under a quarter of it is in use; so they run on a goroutine of their
// own, which ends once nothing more is buffered. Clients talk every two
// minutes or so: a goroutine each time costs little. (A WebSocket ping or
// pong alone leaves that goroutine waiting in conn.Read for the next
// message: coder/websocket answers control frames inside its reads.)
//
// early says the client's first bytes came with the opening handshake:
// coder/websocket keeps them in front of the connection, where neither the
// poller nor the read buffer tells of them, so they are read without a wait.
func (s *socket) serve(early bool) {
	defer s.close(websocket.StatusNormalClosure, "")
	if s.raw == nil {
		s.read(false)
		return
	}
	for early || waitReadable(s.raw) == nil { // fails once the connection is closed
		early = false
		more := make(chan bool)
		go func() { more <- s.read(true) }()
		if !<-more {
			return
		}
	}
}

// read reads and handles the client's messages: until the socket closes
// (false), or, when untilIdle, until no byte of another is buffered (true).
// It reads with a context that never ends, so that an idle socket holds no
// timer: the hub's sweeper closes a socket silent for too long (Hub.sweep).
func (s *socket) read(untilIdle bool) bool {
	for {
		typ, data, err := s.conn.Read(context.Background())
		if err != nil {
			return false // too big, closed by the peer or by the sweeper, or broken: serve's deferred close cleans up
		}
		s.heard.Store(s.hub.now())
		s.handle(typ, data)
		if untilIdle {
			if buffered, closed := s.buffered(); closed || !buffered {
				return !closed
			}
		}
	}
}

// buffered reports whether bytes the client sent are in the read buffer,
// which no readability of the connection would announce, and whether the
// socket is closed. conn.Close reads that buffer from its own goroutine for
// the closing handshake, but only once the socket is marked closed: s.mu
// orders that after this look.
func (s *socket) buffered() (buffered, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.br.Buffered() > 0, s.closed
}

// handle answers one message of the client.
func (s *socket) handle(typ websocket.MessageType, data []byte) {
	if typ != websocket.MessageText {
		s.sendError(0, "Binary messages are not supported.")
		return
	}
	var m clientMessage
	if err := json.Unmarshal(data, &m); err != nil || m.Event == "" {
		s.sendError(0, "Invalid message: expected a JSON object with an event.")
		return
	}
	switch {
	case m.Event == "pusher:ping":
		s.send(encodeFrame(frame{Event: "pusher:pong", Data: map[string]any{}}))
	case m.Event == "pusher:pong":
	case m.Event == "pusher:subscribe":
		s.subscribe(m.Data)
	case m.Event == "pusher:unsubscribe":
		var d subscribeData
		if decodeData(m.Data, &d) == nil {
			s.hub.unsubscribe(s, d.Channel)
		}
	case strings.HasPrefix(m.Event, "client-"):
		s.sendError(codeClientEventDenied, "Client events are not enabled for this app.")
	default:
		s.sendError(0, "Unsupported event "+strconv.Quote(m.Event)+".")
	}
}

func decodeData(raw json.RawMessage, v any) error {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		raw = json.RawMessage(str)
	}
	return json.Unmarshal(raw, v)
}

func (s *socket) subscribe(raw json.RawMessage) {
	var d subscribeData
	if err := decodeData(raw, &d); err != nil || !channelName.MatchString(d.Channel) {
		s.sendError(0, "Invalid subscription: expected data with a valid channel name.")
		return
	}
	fail := func(status int, msg string) {
		body, _ := json.Marshal(map[string]any{"type": "AuthError", "error": msg, "status": status})
		s.send(encodeFrame(frame{Event: "pusher:subscription_error", Channel: d.Channel, Data: string(body)}))
	}
	switch {
	case !strings.HasPrefix(d.Channel, "private-"):
		fail(http.StatusForbidden, "Only private channels are served here.")
	case !s.hub.validAuth(s.id, d.Channel, d.Auth):
		fail(http.StatusUnauthorized, "Invalid signature for "+d.Channel+".")
	default:
		s.subscribeGranted(d.Channel, func() {
			fail(http.StatusForbidden, "No authorization for "+d.Channel+" on this socket, or too many subscriptions.")
		})
	}
}

// subscribeGranted subscribes to a channel whose signature is valid once its
// grant is recorded: at once, or, on several nodes, when the grant arrives
// within the hub's grant wait (off the read loop, which goes on).
func (s *socket) subscribeGranted(channel string, fail func()) {
	arrived, wait := s.hub.grantArrival()
	if ok, announced := s.hub.subscribe(s, channel); ok {
		s.succeeded(channel, announced)
		return
	}
	if wait <= 0 {
		fail()
		return
	}
	go func() {
		deadline := time.NewTimer(wait)
		defer deadline.Stop()
		for {
			select {
			case <-deadline.C:
				fail()
				return
			case <-arrived:
			}
			arrived, _ = s.hub.grantArrival()
			if ok, announced := s.hub.subscribe(s, channel); ok {
				s.succeeded(channel, announced)
				return
			}
		}
	}()
}

// announceWait bounds how long a confirmation waits for the other nodes to
// learn of a subscription.
const announceWait = 2 * time.Second

// succeeded confirms a subscription once announced (if not nil) is closed.
func (s *socket) succeeded(channel string, announced <-chan struct{}) {
	if announced != nil {
		select {
		case <-announced:
		case <-time.After(announceWait):
			s.hub.log.Warn("pusher: the other nodes did not learn of a subscription in time", "channel", channel)
		}
	}
	s.send(encodeFrame(frame{Event: "pusher_internal:subscription_succeeded", Channel: channel, Data: "{}"}))
}

// smallBuffers hijacks with 1 KiB buffers instead of net/http's 4 KiB ones:
// thousands of mostly idle sockets each keep theirs for life, and Pusher
// frames are small. It keeps the connection and the read buffer it hands
// out: the socket waits on the one and looks into the other (socket.serve).
type smallBuffers struct {
	http.ResponseWriter
	conn  net.Conn
	br    *bufio.Reader
	early bool // the client's bytes that came with the request were in br
}

const bufferSize = 1 << 10

func (s *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// The server's read and write timeouts were set on the connection for the
	// HTTP request; a socket lives far longer and keeps its own timeouts.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, nil, err
	}
	r := brw.Reader
	if r.Buffered() == 0 { // else bytes already read would be lost
		r = bufio.NewReaderSize(conn, bufferSize)
	}
	if err := brw.Writer.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	s.conn, s.br, s.early = conn, r, r.Buffered() > 0
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(conn, bufferSize)), nil
}
