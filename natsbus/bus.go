// Package natsbus is the cluster's real-time bus over NATS: Broadcaster,
// Presence and Sessions for nodes that share a PostgreSQL database of record
// but not their sockets.
//
// Every Pusher channel is a NATS subject. A node subscribes to the subjects
// of the channels its own sockets hold, and to one subject of its own, so it
// receives what its sockets need and nothing else: its work grows with its
// sockets, not with the cluster's traffic. No node keeps the cluster's
// presence: Subscribed asks, with a request on the channel's subject that
// the nodes holding it answer, and NATS answers "no responders" at once when
// none does.
package natsbus

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"intercom"
)

var (
	_ intercom.Broadcaster  = (*Bus)(nil)
	_ intercom.PresenceMany = (*Bus)(nil)
	_ intercom.Sessions     = (*Bus)(nil)
)

// The subjects, under one prefix: a channel's ("intercomd.c.<channel>", or
// "intercomd.b.<base64url of channel>" for a channel that is no valid
// subject), a node's ("intercomd.n.<node>": the grants of its sockets) and
// the closes' (every node hears them: a token's or account's sockets may be
// on any node, and they are rare; a subject per token, subscribed as grants
// arrive, would leave a moment in which a socket just granted misses its
// token's close).
const (
	prefix        = "intercomd."
	channelPrefix = prefix + "c."
	encodedPrefix = prefix + "b."
	nodePrefix    = prefix + "n."
	closeSubject  = prefix + "close"
)

// Defaults of Config.
const (
	DefaultReconnectWait   = 250 * time.Millisecond
	DefaultPresenceTimeout = time.Second
	// inboxSize is how many messages may wait for this node's dispatcher;
	// past it NATS drops them and the node's sockets are told to reconnect.
	inboxSize = 1 << 16
)

// Config is what a node's bus is told.
type Config struct {
	// URL names the NATS servers: nats://host:port, several comma-separated.
	URL    string
	Logger *slog.Logger
	// ReconnectWait is the pause between attempts to reach a NATS server
	// again (DefaultReconnectWait).
	ReconnectWait time.Duration
	// PresenceTimeout bounds Subscribed's question (DefaultPresenceTimeout):
	// unanswered, the channel counts as without subscribers.
	PresenceTimeout time.Duration
}

// Bus is one node's bus over NATS.
type Bus struct {
	nc       *nats.Conn
	local    intercom.Sockets
	node     string
	log      *slog.Logger
	timeout  time.Duration
	inbox    chan *nats.Msg // every subscription's messages, in the order the connection received them
	received atomic.Int64

	mu      sync.RWMutex
	mine    map[string]bool               // channels a socket of this node holds, as the hub told
	pending map[string]*change            // subscription changes not yet made, the latest per channel
	subs    map[string]*nats.Subscription // the writer's
	wake    chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup
	closing sync.Once
}

type change struct {
	on   bool
	done []chan struct{}
}

// New connects a node's bus to the NATS servers of c.URL; local receives
// what other nodes publish to its sockets. The node's id (Node) must be the
// first number of its sockets' ids (pusher.Hub.SetNode), so that grants
// reach it.
func New(c Config, local intercom.Sockets) (*Bus, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ReconnectWait <= 0 {
		c.ReconnectWait = DefaultReconnectWait
	}
	if c.PresenceTimeout <= 0 {
		c.PresenceTimeout = DefaultPresenceTimeout
	}
	b := &Bus{local: local, log: c.Logger, timeout: c.PresenceTimeout, inbox: make(chan *nats.Msg, inboxSize),
		mine: map[string]bool{}, pending: map[string]*change{}, subs: map[string]*nats.Subscription{},
		wake: make(chan struct{}, 1), stop: make(chan struct{})}
	nc, err := nats.Connect(c.URL,
		nats.Name("intercomd"),
		nats.NoEcho(), // this node delivers its own events to its sockets itself
		nats.MaxReconnects(-1),
		nats.ReconnectWait(c.ReconnectWait),
		nats.ReconnectJitter(c.ReconnectWait/4, c.ReconnectWait/4),
		// A server gone silent (no reset, a partition) is left within 30 s.
		nats.PingInterval(10*time.Second),
		nats.MaxPingsOutstanding(3),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("bus: NATS connection lost; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			// Events published meanwhile are lost to this node.
			b.log.Warn("bus: NATS connection back; sockets told to reconnect", "server", nc.ConnectedUrlRedacted())
			b.local.Reconnect()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil && strings.HasPrefix(sub.Subject, nats.InboxPrefix) {
				return // SubscribedMany's answers beyond the first of a question: not needed
			}
			if errors.Is(err, nats.ErrSlowConsumer) {
				b.log.Error("bus: messages dropped (the node cannot keep up); sockets told to reconnect", "error", err)
				b.local.Reconnect()
				return
			}
			b.log.Error("bus: NATS", "error", err)
		}))
	if err != nil {
		return nil, &intercom.Error{Code: intercom.EUNAVAILABLE, Message: "natsbus: connecting to " + Redact(c.URL) + ": " + err.Error()}
	}
	b.nc = nc
	if err := b.claimNode(); err != nil {
		nc.Close()
		return nil, err
	}
	b.done.Add(2)
	go b.dispatch()
	go b.write()
	return b, nil
}

// claimNode picks this node's id: a number no connected node answers to.
func (b *Bus) claimNode() error {
	for range 5 {
		n, err := rand.Int(rand.Reader, big.NewInt(1<<32))
		if err != nil {
			return err
		}
		node := n.String()
		_, err = b.nc.Request(nodePrefix+node, nil, b.timeout)
		if !errors.Is(err, nats.ErrNoResponders) {
			continue // taken, or unsure
		}
		if _, err := b.nc.ChanSubscribe(nodePrefix+node, b.inbox); err != nil {
			return fmt.Errorf("natsbus: subscribing: %w", err)
		}
		if err := b.nc.Flush(); err != nil {
			return fmt.Errorf("natsbus: subscribing: %w", err)
		}
		if _, err := b.nc.ChanSubscribe(closeSubject, b.inbox); err != nil {
			return fmt.Errorf("natsbus: subscribing: %w", err)
		}
		b.node = node
		return b.nc.Flush()
	}
	return errors.New("natsbus: no free node id after 5 tries (is the NATS server answering requests?)")
}

// Node is this node's id on the bus: the first number of its sockets' ids.
func (b *Bus) Node() string { return b.node }

// Server is the NATS server this node is connected to now (its URL without
// a password), "" while it is connected to none.
func (b *Bus) Server() string { return b.nc.ConnectedUrlRedacted() }

// Received is how many messages this node has received from the bus: its
// sockets' events and grants, the closes, the questions about its channels
// and the answers to its own.
func (b *Bus) Received() int64 { return b.received.Load() }

// Close sends what was published, then leaves: the channels of this node's
// sockets lose their subscriber at once.
func (b *Bus) Close() {
	b.closing.Do(func() {
		close(b.stop)
		b.done.Wait()
		if b.nc.IsConnected() {
			if err := b.nc.FlushTimeout(5 * time.Second); err != nil {
				b.log.Warn("bus: sending the last events", "error", err)
			}
		}
		b.nc.Close()
	})
}

// Publish delivers to this node's sockets at once and, through NATS, to the
// nodes holding a socket on channel, in the order published.
func (b *Bus) Publish(channel, event string, data []byte, except string) {
	b.local.Publish(channel, event, data, except)
	if err := b.nc.Publish(subject(channel), encodeEvent(event, except, data)); err != nil {
		b.log.Error("bus: publish", "channel", channel, "error", err)
	}
}

// grant is a socket's grant on its way to the node holding the socket; a
// close names a token or an account.
type grant struct {
	Socket  string `json:"s,omitempty"`
	Channel string `json:"c,omitempty"`
	Token   string `json:"t,omitempty"`
	User    int64  `json:"u,omitempty"`
	Expires int64  `json:"ex,omitempty"` // Unix µs
}

// Authorized records a subscription's grant on the node holding the socket:
// the one whose id is the socket id's first number.
func (b *Bus) Authorized(socketID, channel, tokenID string, userID int64, expires time.Time) {
	b.local.Authorized(socketID, channel, tokenID, userID, expires)
	node, _, ok := strings.Cut(socketID, ".")
	if !ok || node == b.node {
		return
	}
	payload, _ := json.Marshal(grant{Socket: socketID, Channel: channel, Token: tokenID, User: userID, Expires: expires.UnixMicro()})
	if err := b.nc.Publish(nodePrefix+node, payload); err != nil {
		b.log.Error("bus: grant", "error", err)
	}
}

// CloseToken closes the token's sockets on every node, after the events
// published before it: one connection's messages arrive in order, and each
// node handles its messages in the order they arrived.
func (b *Bus) CloseToken(tokenID string) {
	b.local.CloseToken(tokenID)
	b.sendClose(grant{Token: tokenID})
}

// CloseUser closes the account's sockets on every node, after the events
// published before it.
func (b *Bus) CloseUser(userID int64) {
	b.local.CloseUser(userID)
	b.sendClose(grant{User: userID})
}

func (b *Bus) sendClose(g grant) {
	payload, _ := json.Marshal(g)
	if err := b.nc.Publish(closeSubject, payload); err != nil {
		b.log.Error("bus: close", "error", err)
	}
}

// Subscribed reports whether a socket on some node is subscribed to
// channel: this node's own are known, the others are asked (one round trip
// to the NATS server, which answers at once when no node holds channel). An
// unanswered question counts as no, and so does every other node's channel
// while this node is not connected to NATS.
func (b *Bus) Subscribed(channel string) bool {
	b.mu.RLock()
	mine := b.mine[channel]
	b.mu.RUnlock()
	if mine {
		return true
	}
	if !b.nc.IsConnected() {
		return false // no node can be asked: a ring does not wait for the bus to come back
	}
	_, err := b.nc.Request(subject(channel), nil, b.timeout)
	switch {
	case err == nil:
		b.received.Add(1) // the answer
		return true
	case errors.Is(err, nats.ErrNoResponders):
		b.received.Add(1) // the server's answer
		return false
	default:
		b.log.Warn("bus: presence unanswered; taken as none", "channel", channel, "error", err)
		return false
	}
}

// SubscribedMany reports Subscribed of each of channels, asking the other
// nodes all at once: one round trip to the NATS server for them all, not one
// each. Unanswered questions count as no.
func (b *Bus) SubscribedMany(channels []string) []bool {
	out := make([]bool, len(channels))
	var ask []int
	b.mu.RLock()
	for i, ch := range channels {
		if out[i] = b.mine[ch]; !out[i] {
			ask = append(ask, i)
		}
	}
	b.mu.RUnlock()
	if !b.nc.IsConnected() {
		return out
	}
	switch len(ask) {
	case 0:
		return out
	case 1:
		out[ask[0]] = b.Subscribed(channels[ask[0]])
		return out
	}
	// Each question's answers come to a reply subject of its own; a
	// question no node holds gets the server's "no responders".
	inbox := nats.NewInbox()
	answers := make(chan *nats.Msg, 4*len(ask)+16)
	sub, err := b.nc.ChanSubscribe(inbox+".*", answers)
	if err != nil {
		b.log.Warn("bus: presence unanswered; taken as none", "channels", len(ask), "error", err)
		return out
	}
	defer sub.Unsubscribe()
	for _, i := range ask {
		if err := b.nc.PublishRequest(subject(channels[i]), inbox+"."+strconv.Itoa(i), nil); err != nil {
			b.log.Warn("bus: presence unanswered; taken as none", "channel", channels[i], "error", err)
			return out
		}
	}
	answered := make([]bool, len(channels))
	timeout := time.NewTimer(b.timeout)
	defer timeout.Stop()
	for left := len(ask); left > 0; {
		select {
		case m := <-answers:
			b.received.Add(1)
			i, err := strconv.Atoi(m.Subject[len(inbox)+1:])
			if err != nil || i < 0 || i >= len(channels) || answered[i] {
				continue // a second holder's answer
			}
			answered[i] = true
			out[i] = !(len(m.Data) == 0 && m.Header.Get("Status") == "503")
			left--
		case <-timeout.C:
			b.log.Warn("bus: presence unanswered; taken as none", "channels", left)
			return out
		}
	}
	return out
}

// Subscription is the hub's hook: channel got its first socket on this node
// (on) or lost its last. It never blocks the hub: the change waits, the
// latest per channel, for the writer. The channel it returns is closed once
// the NATS server knows of the subscription, so that a ring on another node
// right after it finds the socket (on a cluster of NATS servers, the other
// servers learn of it over their routes a moment later).
func (b *Bus) Subscription(channel string, on bool) <-chan struct{} {
	done := make(chan struct{})
	b.mu.Lock()
	if on {
		b.mine[channel] = true
	} else {
		delete(b.mine, channel)
	}
	c := b.pending[channel]
	if c == nil {
		c = &change{}
		b.pending[channel] = c
	}
	c.on = on
	c.done = append(c.done, done)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // the writer is already due to look
	}
	return done
}

// write makes the subscription changes, a batch at a time, and waits for
// the server to have them (one round trip per batch).
func (b *Bus) write() {
	defer b.done.Done()
	for {
		select {
		case <-b.stop:
			return
		case <-b.wake:
		}
		b.mu.Lock()
		batch := b.pending
		b.pending = map[string]*change{}
		b.mu.Unlock()
		for ch, c := range batch {
			sub := b.subs[ch]
			switch {
			case c.on && sub == nil:
				s, err := b.nc.ChanSubscribe(subject(ch), b.inbox)
				if err != nil {
					b.log.Error("bus: subscribing", "channel", ch, "error", err)
					continue
				}
				b.subs[ch] = s
			case !c.on && sub != nil:
				if err := sub.Unsubscribe(); err != nil {
					b.log.Warn("bus: unsubscribing", "channel", ch, "error", err)
				}
				delete(b.subs, ch)
			}
		}
		if err := b.nc.FlushTimeout(5 * time.Second); err != nil {
			b.log.Warn("bus: subscriptions not confirmed", "channels", len(batch), "error", err)
		}
		for _, c := range batch { // a subscriber waits at most for one try
			for _, d := range c.done {
				close(d)
			}
		}
	}
}

// dispatch hands what other nodes sent to this node's sockets, in the order
// it arrived, and answers the questions about its channels.
func (b *Bus) dispatch() {
	defer b.done.Done()
	for {
		select {
		case <-b.stop:
			return
		case m := <-b.inbox:
			b.received.Add(1)
			b.handle(m)
		}
	}
}

func (b *Bus) handle(m *nats.Msg) {
	if ch, ok := channelOf(m.Subject); ok {
		if m.Reply != "" { // Subscribed on another node
			b.mu.RLock()
			mine := b.mine[ch]
			b.mu.RUnlock()
			if mine {
				m.Respond(nil)
			}
			return
		}
		event, except, data, err := decodeEvent(m.Data)
		if err != nil {
			b.log.Error("bus: undecodable event", "channel", ch, "error", err)
			return
		}
		b.local.Publish(ch, event, data, except)
		return
	}
	var g grant
	if m.Reply != "" { // claimNode of another node
		m.Respond(nil)
		return
	}
	if err := json.Unmarshal(m.Data, &g); err != nil {
		b.log.Error("bus: undecodable message", "subject", m.Subject, "error", err)
		return
	}
	switch m.Subject {
	case closeSubject:
		if g.Token != "" {
			b.local.CloseToken(g.Token)
		}
		if g.User != 0 {
			b.local.CloseUser(g.User)
		}
	default:
		b.local.Authorized(g.Socket, g.Channel, g.Token, g.User, time.UnixMicro(g.Expires))
	}
}

// subject is channel's subject: its name under channelPrefix when that is a
// valid subject, else its base64url under encodedPrefix.
func subject(channel string) string {
	if validTail(channel) {
		return channelPrefix + channel
	}
	return encodedPrefix + base64.RawURLEncoding.EncodeToString([]byte(channel))
}

// channelOf is the channel of a subject, if it is a channel's.
func channelOf(subj string) (string, bool) {
	if ch, ok := strings.CutPrefix(subj, channelPrefix); ok {
		return ch, true
	}
	if enc, ok := strings.CutPrefix(subj, encodedPrefix); ok {
		ch, err := base64.RawURLEncoding.DecodeString(enc)
		return string(ch), err == nil
	}
	return "", false
}

// validTail reports whether s may follow a subject's prefix as it is:
// printable ASCII, no wildcard, dot-separated tokens none of them empty.
func validTail(s string) bool {
	if s == "" {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return false
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c <= ' ' || c > '~' || c == '*' || c == '>' {
				return false
			}
		}
	}
	return true
}

// encodeEvent is an event as it travels: the lengths of its name and of the
// socket it spares, then the two, then its data.
func encodeEvent(event, except string, data []byte) []byte {
	buf := make([]byte, 0, 2*binary.MaxVarintLen32+len(event)+len(except)+len(data))
	buf = binary.AppendUvarint(buf, uint64(len(event)))
	buf = binary.AppendUvarint(buf, uint64(len(except)))
	buf = append(buf, event...)
	buf = append(buf, except...)
	return append(buf, data...)
}

func decodeEvent(b []byte) (event, except string, data []byte, err error) {
	ne, n := binary.Uvarint(b)
	if n <= 0 {
		return "", "", nil, errors.New("bad length")
	}
	b = b[n:]
	nx, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < ne+nx {
		return "", "", nil, errors.New("bad length")
	}
	b = b[n:]
	return string(b[:ne]), string(b[ne : ne+nx]), b[ne+nx:], nil
}

// Redact is a --bus value as it may be logged: each server's URL without
// its password, or its token.
func Redact(servers string) string {
	var out []string
	for _, s := range strings.Split(servers, ",") {
		s = strings.TrimSpace(s)
		u, err := url.Parse(s)
		switch {
		case err != nil:
			out = append(out, "(unparsable URL)")
		case u.User != nil:
			if _, ok := u.User.Password(); !ok { // nats://token@host: the user is the secret
				u.User = url.User("xxxxx")
			}
			out = append(out, u.Redacted())
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, ",")
}

// Flush waits until the NATS server has everything this node sent (tests
// and benchmarks).
func (b *Bus) Flush(ctx context.Context) error { return b.nc.FlushWithContext(ctx) }
