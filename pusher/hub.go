// Package pusher is a server for the Pusher Channels protocol (versions 5 to
// 7) over WebSocket, enough for stock Pusher clients (pusher-js, pusher-java,
// pusher-swift) to receive intercomd's events: connection, private-channel
// subscription signed with the app secret, ping/pong, errors. The WebSocket
// itself is github.com/coder/websocket; the Pusher framing is here.
package pusher

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"intercom"
)

// Limits of one socket.
const (
	MaxMessage       = 10 << 10 // largest client message, as Pusher's own servers allow
	MaxQueue         = 256      // events waiting to be written before the socket is dropped as too slow
	MaxSubscriptions = 100
	ActivityTimeout  = 120 * time.Second // told to clients; silence longer than this plus grace closes the socket
	writeTimeout     = 10 * time.Second
	activityGrace    = 30 * time.Second
	sweepEvery       = 10 * time.Second // how often silent sockets are looked for
)

// Hub holds the sockets and their channels.
type Hub struct {
	key    string
	secret []byte
	log    *slog.Logger

	mu       sync.RWMutex
	channels map[string]map[*socket]struct{}
	sockets  map[*socket]struct{}
	byID     map[string]*socket
	byToken  map[string]map[*socket]struct{} // sockets holding a grant of the token
	byUser   map[int64]map[*socket]struct{}  // sockets holding a grant of the account
	closed   bool

	watch     func(channel string, on bool) <-chan struct{} // told when a channel gets its first socket or loses its last
	node      string                                        // the first number of its sockets' ids; "": random
	grantWait time.Duration
	clock     intercom.Clock
	expiry    map[string]intercom.Timer // by token: closes its sockets when it expires
	granted   chan struct{}             // closed and replaced at each grant recorded
	silence   intercom.Clock            // what silence is measured on: the system's but in tests
	sweeper   intercom.Timer            // the next sweep for silent sockets; nil while there is no socket

	open    atomic.Int64
	dropped atomic.Int64 // slow consumers dropped
}

// New returns a Hub for the app key and secret.
func New(key, secret string, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{key: key, secret: []byte(secret), log: log,
		channels: map[string]map[*socket]struct{}{}, sockets: map[*socket]struct{}{}, byID: map[string]*socket{},
		byToken: map[string]map[*socket]struct{}{}, byUser: map[int64]map[*socket]struct{}{},
		clock: intercom.SystemClock{}, silence: intercom.SystemClock{}, expiry: map[string]intercom.Timer{}}
}

// Grant names the credential that authorized a private subscription: an
// access token (its public id) and the account it belongs to. A subscription
// lives no longer than its grant: CloseToken and CloseUser end it.
type Grant struct {
	Token   string
	User    int64
	Expires time.Time // when the token expires: its sockets close then; zero: never
}

// Authorize records that g authorized socketID to subscribe to channel and
// returns the auth string the client subscribes with (see Sign). A private
// subscription is accepted only with a valid signature and a grant recorded
// here, so that every subscription is tied to the token that signed it. A
// socket that is not on this hub gets the signature and no grant.
func (h *Hub) Authorize(socketID, channel string, g Grant) string {
	h.Authorized(socketID, channel, g.Token, g.User, g.Expires)
	return h.Sign(socketID, channel)
}

// Authorized records that the token tokenID of account userID, which
// expires at expires, authorized socketID, if it is on this hub, to
// subscribe to channel. A subscription waiting for it (SetGrantWait) goes
// on. The token's sockets here close when it expires, on the hub's clock.
func (h *Hub) Authorized(socketID, channel, tokenID string, userID int64, expires time.Time) {
	g := Grant{Token: tokenID, User: userID, Expires: expires}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.byID[socketID]; s != nil && (s.grants[channel] != nil || len(s.grants) < MaxSubscriptions) {
		if s.grants == nil {
			s.grants = map[string]*Grant{}
		}
		if old := s.grants[channel]; old != nil && *old != g {
			h.unindexLocked(s, *old)
		}
		s.grants[channel] = &g
		index(h.byToken, g.Token, s)
		index(h.byUser, g.User, s)
		h.watchExpiryLocked(g)
		if h.granted != nil {
			close(h.granted) // wake the subscriptions waiting for a grant
			h.granted = nil
		}
	}
}

// SetClock sets the clock token expiry is read on (the system's by default).
func (h *Hub) SetClock(c intercom.Clock) {
	h.mu.Lock()
	h.clock = c
	h.mu.Unlock()
}

// setSilenceClock sets the clock silence is measured on (the system's: the
// activity timeout is the client's real time, whatever clock tokens expire
// on); for tests.
func (h *Hub) setSilenceClock(c intercom.Clock) {
	h.mu.Lock()
	h.silence = c
	if h.sweeper != nil {
		h.sweeper.Stop()
		h.sweeper = c.AfterFunc(sweepEvery, h.sweep)
	}
	h.mu.Unlock()
}

// now is the silence clock's time in Unix nanoseconds.
func (h *Hub) now() int64 {
	h.mu.RLock()
	c := h.silence
	h.mu.RUnlock()
	return c.Now().UnixNano()
}

// sweep closes with 4202 the sockets from which nothing was heard for longer
// than ActivityTimeout and its grace, and sweeps again sweepEvery later while
// there are sockets. One timer for the hub instead of one per socket.
func (h *Hub) sweep() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	deadline := h.silence.Now().Add(-(ActivityTimeout + activityGrace)).UnixNano()
	var silent []*socket
	for s := range h.sockets {
		if s.heard.Load() < deadline {
			silent = append(silent, s)
		}
	}
	if len(h.sockets) > len(silent) {
		h.sweeper = h.silence.AfterFunc(sweepEvery, h.sweep)
	} else {
		h.sweeper = nil
	}
	h.mu.Unlock()
	for _, s := range silent {
		s.close(codeClosedForSilence, "no activity")
	}
}

// watchExpiryLocked closes the sockets of g's token when it expires, once
// per token however many of its grants there are; h.mu is held.
func (h *Hub) watchExpiryLocked(g Grant) {
	if g.Expires.IsZero() || h.expiry[g.Token] != nil {
		return
	}
	token := g.Token
	h.expiry[token] = h.clock.AfterFunc(max(0, g.Expires.Sub(h.clock.Now())), func() {
		h.mu.Lock()
		delete(h.expiry, token)
		h.mu.Unlock()
		h.CloseToken(token)
	})
}

// forgetExpiryLocked stops watching a token none of whose sockets is left;
// h.mu is held.
func (h *Hub) forgetExpiryLocked(token string) {
	if t := h.expiry[token]; t != nil && len(h.byToken[token]) == 0 {
		t.Stop()
		delete(h.expiry, token)
	}
}

// Watch sets fn to be told, under the hub's lock (it must not block), when a
// channel gets its first socket on this hub (on) or loses its last: a
// cluster's presence follows it. fn returns a channel closed once the other
// nodes were told (nil: nothing to wait for); a first subscription is
// confirmed to its client only then (or after announceWait), so that a ring
// on another node right after it finds the socket.
func (h *Hub) Watch(fn func(channel string, on bool) <-chan struct{}) {
	h.mu.Lock()
	h.watch = fn
	h.mu.Unlock()
}

// SetGrantWait lets a subscription with a valid signature wait up to d for
// its grant. On several nodes the grant travels from the node that served
// broadcasting/auth to the one holding the socket, and the client may
// subscribe before it arrives. Zero (the default) refuses at once.
func (h *Hub) SetGrantWait(d time.Duration) {
	h.mu.Lock()
	h.grantWait = d
	h.mu.Unlock()
}

// grantArrival returns a channel closed at the next grant recorded, and how
// long a subscription may wait for one.
func (h *Hub) grantArrival() (<-chan struct{}, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.granted == nil {
		h.granted = make(chan struct{})
	}
	return h.granted, h.grantWait
}

func index[K comparable](m map[K]map[*socket]struct{}, k K, s *socket) {
	set := m[k]
	if set == nil {
		set = map[*socket]struct{}{}
		m[k] = set
	}
	set[s] = struct{}{}
}

func unindex[K comparable](m map[K]map[*socket]struct{}, k K, s *socket) {
	if set := m[k]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// unindexLocked drops s from the index of g unless another of its grants
// still names g's token or account.
func (h *Hub) unindexLocked(s *socket, g Grant) {
	token, user := false, false
	for _, o := range s.grants {
		if *o == g {
			continue
		}
		token = token || o.Token == g.Token
		user = user || o.User == g.User
	}
	if !token {
		unindex(h.byToken, g.Token, s)
		h.forgetExpiryLocked(g.Token)
	}
	if !user {
		unindex(h.byUser, g.User, s)
	}
}

// Pusher's code for a connection that is not (or no longer) authorized: the
// client must not reconnect with the same credentials.
const codeUnauthorized = 4009

// CloseToken closes every socket holding a subscription (or an authorization
// to subscribe) granted by the access token: it gets pusher:error 4009 and
// nothing after it. Called when the token is revoked or expires.
func (h *Hub) CloseToken(token string) {
	h.closeIndexed(func() map[*socket]struct{} { return h.byToken[token] }, "The access token that authorized this connection has ended.")
}

// CloseUser closes every socket holding a subscription granted to the
// account, as CloseToken does. Called when the account is deleted.
func (h *Hub) CloseUser(user int64) {
	h.closeIndexed(func() map[*socket]struct{} { return h.byUser[user] }, "The account that authorized this connection has ended.")
}

func (h *Hub) closeIndexed(set func() map[*socket]struct{}, message string) {
	h.mu.Lock()
	socks := make([]*socket, 0, len(set()))
	for s := range set() {
		socks = append(socks, s)
	}
	h.mu.Unlock()
	for _, s := range socks {
		s.terminate(codeUnauthorized, message)
	}
}

// Key is the app key clients connect with.
func (h *Hub) Key() string { return h.key }

// Sign returns the auth string a client sends to subscribe socketID to a
// private channel: "<key>:<hex HMAC-SHA256(secret, socket_id:channel)>".
func (h *Hub) Sign(socketID, channel string) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(socketID + ":" + channel))
	return h.key + ":" + hex.EncodeToString(m.Sum(nil))
}

func (h *Hub) validAuth(socketID, channel, auth string) bool {
	return hmac.Equal([]byte(auth), []byte(h.Sign(socketID, channel)))
}

// Open is the number of open sockets.
func (h *Hub) Open() int64 { return h.open.Load() }

// Dropped is the number of sockets closed for not reading their events.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Subscribed reports whether a socket is subscribed to channel.
func (h *Hub) Subscribed(channel string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.channels[channel]) > 0
}

// frame is a server-to-client Pusher message. Data is a JSON string holding
// JSON, as the protocol wants for events.
type frame struct {
	Event   string `json:"event"`
	Channel string `json:"channel,omitempty"`
	Data    any    `json:"data"`
}

func encodeFrame(f frame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		panic(err) // only our own types are encoded
	}
	return b
}

// Publish sends an event to every socket subscribed to channel but the one
// whose socket id is except. data is the event's JSON payload. It never
// blocks: a socket whose queue is full is dropped. It returns how many
// sockets the event was queued for.
func (h *Hub) Publish(channel, event string, data []byte, except string) int {
	h.mu.RLock()
	subs := h.channels[channel]
	targets := make([]*socket, 0, len(subs))
	for s := range subs {
		if s.id != except {
			targets = append(targets, s)
		}
	}
	h.mu.RUnlock()
	if len(targets) == 0 {
		return 0
	}
	msg := encodeFrame(frame{Event: event, Channel: channel, Data: string(data)})
	for _, s := range targets {
		s.send(msg)
	}
	return len(targets)
}

// Reconnect ends every socket, telling clients to reconnect (4200): the node
// may have missed events for them. New sockets are welcome.
func (h *Hub) Reconnect() {
	h.mu.Lock()
	socks := make([]*socket, 0, len(h.sockets))
	for s := range h.sockets {
		socks = append(socks, s)
	}
	h.mu.Unlock()
	for _, s := range socks {
		s.terminate(codeReconnect, "This server may have missed events for this connection: reconnect.")
	}
}

// Close ends every socket, telling clients to reconnect (4200), and refuses
// new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	if h.sweeper != nil {
		h.sweeper.Stop()
		h.sweeper = nil
	}
	for _, t := range h.expiry {
		t.Stop()
	}
	clear(h.expiry)
	socks := make([]*socket, 0, len(h.sockets))
	for s := range h.sockets {
		socks = append(socks, s)
	}
	h.mu.Unlock()
	for _, s := range socks {
		s.close(4200, "server shutting down")
	}
}

func (h *Hub) add(s *socket) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	s.heard.Store(h.silence.Now().UnixNano())
	h.sockets[s] = struct{}{}
	h.byID[s.id] = s
	h.open.Add(1)
	if h.sweeper == nil {
		h.sweeper = h.silence.AfterFunc(sweepEvery, h.sweep)
	}
	return true
}

func (h *Hub) remove(s *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sockets[s]; !ok {
		return
	}
	delete(h.sockets, s)
	delete(h.byID, s.id)
	h.open.Add(-1)
	for ch := range s.subs {
		h.unsubscribeLocked(s, ch)
	}
	for _, g := range s.grants {
		unindex(h.byToken, g.Token, s)
		h.forgetExpiryLocked(g.Token)
		unindex(h.byUser, g.User, s)
	}
}

// subscribe adds s to channel; announced, when not nil, is closed once the
// other nodes know the channel has a socket here.
func (h *Hub) subscribe(s *socket, channel string) (ok bool, announced <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sockets[s]; !ok {
		return false, nil
	}
	if s.grants[channel] == nil {
		return false, nil
	}
	if _, ok := s.subs[channel]; !ok && len(s.subs) >= MaxSubscriptions {
		return false, nil
	}
	subs := h.channels[channel]
	if subs == nil {
		subs = map[*socket]struct{}{}
		h.channels[channel] = subs
		if h.watch != nil {
			announced = h.watch(channel, true)
		}
	}
	subs[s] = struct{}{}
	if s.subs == nil {
		s.subs = map[string]struct{}{}
	}
	s.subs[channel] = struct{}{}
	return true, announced
}

func (h *Hub) unsubscribe(s *socket, channel string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unsubscribeLocked(s, channel)
}

func (h *Hub) unsubscribeLocked(s *socket, channel string) {
	if subs := h.channels[channel]; subs != nil {
		delete(subs, s)
		if len(subs) == 0 {
			delete(h.channels, channel)
			if h.watch != nil {
				h.watch(channel, false)
			}
		}
	}
	delete(s.subs, channel)
}

// SetNode makes node (decimal digits, at most 10) the first number of the
// ids of the sockets that connect from now on, so that a cluster's bus can
// tell from a socket id which node holds the socket; the second number is 64
// random bits. By default both numbers are random.
func (h *Hub) SetNode(node string) {
	h.mu.Lock()
	h.node = node
	h.mu.Unlock()
}

// newSocketID makes a Pusher socket id: two decimal numbers joined by a dot.
func (h *Hub) newSocketID() string {
	h.mu.RLock()
	node := h.node
	h.mu.RUnlock()
	var b [8]byte
	rand.Read(b[:])
	if node != "" {
		return node + "." + strconv.FormatUint(binary.BigEndian.Uint64(b[:]), 10)
	}
	return fmt.Sprintf("%d.%d", binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:]))
}
