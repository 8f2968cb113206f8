package postgres

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"intercom"
)

var (
	_ intercom.Broadcaster  = (*Bus)(nil)
	_ intercom.PresenceMany = (*Bus)(nil)
	_ intercom.Sessions     = (*Bus)(nil)
)

// busChannel is the LISTEN/NOTIFY channel of the cluster's events.
const busChannel = "intercomd_bus"

// A NOTIFY payload must stay under PostgreSQL's 8000 bytes; larger messages
// go through the bus_messages table and the notification names the row.
const maxNotify = 7000

// Node liveness: a node refreshes its row every nodeBeat; one not seen for
// nodeDead is gone, and its subscriptions no longer count.
const (
	nodeBeat = 5 * time.Second
	nodeDead = 20 * time.Second
)

// busMessage is what travels between nodes.
type busMessage struct {
	Node string `json:"n"`
	Op   string `json:"o"` // "pub", "pubs" (a batch), "subs", "grant", "close", "bye" (a node left), or "ref" (the message is in bus_messages)

	Channel string          `json:"c,omitempty"`
	Event   string          `json:"e,omitempty"`
	Data    json.RawMessage `json:"d,omitempty"`
	Except  string          `json:"x,omitempty"`

	On  bool  `json:"on,omitempty"` // sub: subscribed or not
	Seq int64 `json:"q,omitempty"`  // sub: the node's sequence, newer wins

	Token   string `json:"t,omitempty"` // grant, close
	User    int64  `json:"u,omitempty"`
	Socket  string `json:"s,omitempty"`  // grant
	Expires int64  `json:"ex,omitempty"` // grant: the token's expiry, Unix µs

	Ref int64 `json:"r,omitempty"`

	Subs []busMessage `json:"ss,omitempty"` // subs: a batch of "sub" changes; pubs: of "pub" events
}

// Bus is the cluster's Broadcaster and Presence over PostgreSQL's
// LISTEN/NOTIFY: events published on one node reach the sockets of every
// node, after the commit that caused them. Each node keeps a replica of which
// channels have subscribers on which node, so Subscribed needs no query; the
// replica is loaded from the bus_presence table when the node starts or its
// listener reconnects, and kept current by notifications.
type Bus struct {
	pool  *pgxpool.Pool
	local intercom.Sockets
	node  string
	log   *slog.Logger

	mu       sync.RWMutex
	presence map[string]map[string]int64 // channel → node → seq of its last "on"
	seqs     map[string]map[string]int64 // node → channel → highest seq seen (for "off" ordering)
	others   map[string]time.Time        // node → last seen; zero: gone, forgotten at the next beat
	seq      int64                       // this node's
	ready    chan struct{}

	pendMu  sync.Mutex
	pending map[string]*presenceChange // this node's changes not yet written, the latest per channel
	wake    chan struct{}              // the writer has something to do

	outMu sync.Mutex
	out   []busMessage // events for the other nodes, in the order published
	// sendMu is held while queued events are sent, so that a close sent
	// after them (CloseToken, CloseUser) cannot overtake them: a session's
	// logout event reaches its sockets on other nodes before their close.
	sendMu  sync.Mutex
	outWake chan struct{} // the publisher has something to send
	cancel  context.CancelFunc
	done    sync.WaitGroup

	received atomic.Int64 // notifications decoded, this node's own included
}

type presenceChange struct {
	on   bool
	done []chan struct{} // closed once recorded and told
}

// NewBus starts a node's bus: its listener, its presence writer and its
// liveness beat. local receives what other nodes publish.
func NewBus(ctx context.Context, db *DB, local intercom.Sockets, log *slog.Logger) (*Bus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{pool: db.pool, local: local, node: rand.Text()[:16], log: log,
		presence: map[string]map[string]int64{}, seqs: map[string]map[string]int64{}, others: map[string]time.Time{},
		ready: make(chan struct{}), pending: map[string]*presenceChange{}, wake: make(chan struct{}, 1),
		outWake: make(chan struct{}, 1)}
	if _, err := b.pool.Exec(ctx, `INSERT INTO bus_nodes (node, seen_at) VALUES ($1, now())`, b.node); err != nil {
		return nil, busError("registering the node", err)
	}
	ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.done.Add(4)
	go b.listen(ctx)
	go b.writePresence(ctx)
	go b.beat(ctx)
	go b.publish(ctx)
	select {
	case <-b.ready:
		return b, nil
	case <-time.After(10 * time.Second):
		b.Close()
		return nil, errors.New("postgres: the bus could not start listening in 10 s")
	}
}

// Node is this node's id on the bus.
func (b *Bus) Node() string { return b.node }

// Received is how many notifications this node has decoded: every one sent
// on the bus, by any node, its own included.
func (b *Bus) Received() int64 { return b.received.Load() }

// Close stops the bus, forgets this node's subscriptions and tells the
// other nodes it is gone.
func (b *Bus) Close() {
	b.cancel()
	b.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.pool.Exec(ctx, `DELETE FROM bus_nodes WHERE node = $1`, b.node) // its presence rows go with it
	b.notify(ctx, busMessage{Node: b.node, Op: "bye"})
}

// Publish delivers to this node's sockets at once and, when some other node
// has a subscriber, queues the event for the other nodes: the publisher sends
// the queue in order, as many events to a notification as fit, so a ring to
// a thousand devices costs a few round trips off the caller's path.
func (b *Bus) Publish(channel, event string, data []byte, except string) {
	b.local.Publish(channel, event, data, except)
	if !b.elsewhere(channel) {
		return
	}
	b.outMu.Lock()
	b.out = append(b.out, busMessage{Node: b.node, Op: "pub", Channel: channel, Event: event, Data: data, Except: except})
	b.outMu.Unlock()
	select {
	case b.outWake <- struct{}{}:
	default: // the publisher is already due to look
	}
}

// publish sends the queued events until the bus closes, then what is left.
func (b *Bus) publish(ctx context.Context) {
	defer b.done.Done()
	for {
		select {
		case <-ctx.Done():
			flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			b.sendQueued(flush)
			cancel()
			return
		case <-b.outWake:
			b.sendQueued(ctx)
		}
	}
}

// sendQueued sends the queued events: a batch per notification, each under
// NOTIFY's size limit; an event too large for one goes alone (through
// bus_messages).
func (b *Bus) sendQueued(ctx context.Context) {
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	b.sendQueuedLocked(ctx)
}

// sendQueuedLocked is sendQueued with sendMu held.
func (b *Bus) sendQueuedLocked(ctx context.Context) {
	b.outMu.Lock()
	queue := b.out
	b.out = nil
	b.outMu.Unlock()
	for len(queue) > 0 {
		n, size := 0, 0
		for n < len(queue) {
			m := len(queue[n].Channel) + len(queue[n].Event) + len(queue[n].Data) + len(queue[n].Except) + 64
			if n > 0 && size+m > maxNotify {
				break
			}
			size += m
			n++
		}
		if n == 1 {
			b.notify(ctx, queue[0])
		} else {
			b.notify(ctx, busMessage{Node: b.node, Op: "pubs", Subs: queue[:n]})
		}
		queue = queue[n:]
	}
}

// Authorized records a subscription's grant on the node that holds the
// socket, whichever it is.
func (b *Bus) Authorized(socketID, channel, tokenID string, userID int64, expires time.Time) {
	b.local.Authorized(socketID, channel, tokenID, userID, expires)
	b.notify(context.Background(), busMessage{Node: b.node, Op: "grant", Socket: socketID, Channel: channel,
		Token: tokenID, User: userID, Expires: expires.UnixMicro()})
}

// CloseToken closes the token's sockets on every node, after the events
// published before it.
func (b *Bus) CloseToken(tokenID string) {
	b.local.CloseToken(tokenID)
	b.closeAfterQueued(busMessage{Node: b.node, Op: "close", Token: tokenID})
}

// CloseUser closes the account's sockets on every node, after the events
// published before it.
func (b *Bus) CloseUser(userID int64) {
	b.local.CloseUser(userID)
	b.closeAfterQueued(busMessage{Node: b.node, Op: "close", User: userID})
}

// closeAfterQueued sends the events queued for the other nodes, then m:
// notifications of one sender arrive in the order they were sent.
func (b *Bus) closeAfterQueued(m busMessage) {
	ctx := context.Background()
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	b.sendQueuedLocked(ctx)
	b.notify(ctx, m)
}

// Subscribed reports whether a socket on some live node is subscribed to
// channel.
func (b *Bus) Subscribed(channel string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for node := range b.presence[channel] {
		if node == b.node || b.alive(node) {
			return true
		}
	}
	return false
}

// SubscribedMany reports Subscribed of each of channels, from the replica.
func (b *Bus) SubscribedMany(channels []string) []bool {
	out := make([]bool, len(channels))
	for i, ch := range channels {
		out[i] = b.Subscribed(ch)
	}
	return out
}

// elsewhere reports whether another live node has a subscriber on channel.
func (b *Bus) elsewhere(channel string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for node := range b.presence[channel] {
		if node != b.node && b.alive(node) {
			return true
		}
	}
	return false
}

// alive reports whether another node was seen lately; b.mu is held.
func (b *Bus) alive(node string) bool {
	seen, ok := b.others[node]
	return !ok || time.Since(seen) < nodeDead // a node heard of but not yet beaten counts
}

// Subscription is the hub's hook: channel got its first socket on this node
// (on) or lost its last one. It never blocks the hub and never drops a
// change: changes wait, the latest per channel, for the writer's next batch.
// The channel it returns is closed once the other nodes were told.
func (b *Bus) Subscription(channel string, on bool) <-chan struct{} {
	b.mu.Lock()
	b.setLocked(b.node, channel, on, 0)
	b.mu.Unlock()
	done := make(chan struct{})
	b.pendMu.Lock()
	p := b.pending[channel]
	if p == nil {
		p = &presenceChange{}
		b.pending[channel] = p
	}
	p.on = on
	p.done = append(p.done, done)
	b.pendMu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // the writer is already due to look
	}
	return done
}

// setLocked applies a presence change of node; seq 0 is this node's own.
func (b *Bus) setLocked(node, channel string, on bool, seq int64) {
	if seq != 0 {
		if seq <= b.seqs[node][channel] {
			return // older than what we know
		}
		b.setSeqLocked(node, channel, seq)
	}
	nodes := b.presence[channel]
	if on {
		if nodes == nil {
			nodes = map[string]int64{}
			b.presence[channel] = nodes
		}
		nodes[node] = seq
		return
	}
	delete(nodes, node)
	if len(nodes) == 0 {
		delete(b.presence, channel)
	}
	// A node's changes arrive in the order it made them (one writer, each
	// committed before the next): past an "off" no older change can come.
	if delete(b.seqs[node], channel); len(b.seqs[node]) == 0 {
		delete(b.seqs, node)
	}
}

func (b *Bus) setSeqLocked(node, channel string, seq int64) {
	if b.seqs[node] == nil {
		b.seqs[node] = map[string]int64{}
	}
	b.seqs[node][channel] = seq
}

// forgetLocked drops what the replica holds of node.
func (b *Bus) forgetLocked(node string) {
	for ch, nodes := range b.presence {
		if delete(nodes, node); len(nodes) == 0 {
			delete(b.presence, ch)
		}
	}
	delete(b.seqs, node)
}

// writePresence records this node's subscription changes in bus_presence
// and tells the other nodes, a batch at a time: however many sockets come or
// go at once, it is one transaction and a notification or a few. A batch that
// cannot be written goes back to be written with the next, unless a newer
// change of its channel came meanwhile.
func (b *Bus) writePresence(ctx context.Context) {
	defer b.done.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		}
		b.pendMu.Lock()
		batch := b.pending
		b.pending = map[string]*presenceChange{}
		b.pendMu.Unlock()
		if len(batch) == 0 {
			continue
		}
		if err := b.writeBatch(ctx, batch); err != nil && ctx.Err() == nil {
			b.log.Error("bus: recording subscriptions; retrying", "channels", len(batch), "error", err)
			b.pendMu.Lock()
			for ch, p := range batch {
				if _, newer := b.pending[ch]; !newer {
					b.pending[ch] = &presenceChange{on: p.on}
				}
			}
			b.pendMu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
				select {
				case b.wake <- struct{}{}:
				default:
				}
			}
		}
		for _, p := range batch { // a subscriber waits at most for one try
			for _, d := range p.done {
				close(d)
			}
		}
	}
}

// maxSubsPerNotify keeps a batch's notifications under NOTIFY's size limit.
const maxSubsPerNotify = 50

// writeBatch writes one batch of this node's presence changes and tells the
// other nodes, in order of sequence.
func (b *Bus) writeBatch(ctx context.Context, batch map[string]*presenceChange) error {
	var on, off []string
	var onSeqs []int64
	msgs := make([]busMessage, 0, len(batch))
	for ch, p := range batch {
		b.seq++
		msgs = append(msgs, busMessage{Node: b.node, Op: "sub", Channel: ch, On: p.on, Seq: b.seq})
		if p.on {
			on, onSeqs = append(on, ch), append(onSeqs, b.seq)
		} else {
			off = append(off, ch)
		}
	}
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if len(on) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO bus_presence (node, channel, seq)
				SELECT $1, c, q FROM unnest($2::text[], $3::bigint[]) AS t(c, q)
				ON CONFLICT (node, channel) DO UPDATE SET seq = excluded.seq`, b.node, on, onSeqs); err != nil {
				return err
			}
		}
		if len(off) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM bus_presence WHERE node = $1 AND channel = ANY($2)`, b.node, off); err != nil {
				return err
			}
		}
		// The notifications go with the commit: the other nodes hear of
		// exactly what was recorded, or of nothing and the batch is retried.
		for rest := msgs; len(rest) > 0; {
			n := min(len(rest), maxSubsPerNotify)
			payload, err := json.Marshal(busMessage{Node: b.node, Op: "subs", Subs: rest[:n]})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, busChannel, string(payload)); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
	return err
}

// beat keeps this node's row fresh and forgets nodes long gone.
func (b *Bus) beat(ctx context.Context) {
	defer b.done.Done()
	t := time.NewTicker(nodeBeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.beatOnce(ctx)
	}
}

// beatOnce refreshes this node's row, forgets nodes long gone and reads when
// the others were seen. A node whose previous beat is older than nodeDead
// was taken for dead meanwhile: the other nodes published nothing to it, and
// past a minute they deleted its row and its presence with it. It registers
// again, has its sockets reconnect (they may have missed events) and records
// again the subscriptions it still holds.
func (b *Bus) beatOnce(ctx context.Context) {
	var ago *float64 // seconds since the previous beat; nil: the row was gone
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		ago = nil
		if err := tx.QueryRow(ctx, `SELECT extract(epoch FROM now() - seen_at)::float8 FROM bus_nodes WHERE node = $1 FOR UPDATE`,
			b.node).Scan(&ago); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO bus_nodes (node, seen_at) VALUES ($1, now())
			ON CONFLICT (node) DO UPDATE SET seen_at = excluded.seen_at`, b.node)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("bus: node beat", "error", err)
		}
		return
	}
	if ago == nil || *ago >= nodeDead.Seconds() {
		b.log.Warn("bus: this node was taken for dead; sockets told to reconnect", "registered_again", ago == nil)
		b.local.Reconnect()
		b.rerecordPresence()
	}
	if _, err := b.pool.Exec(ctx, `DELETE FROM bus_nodes WHERE seen_at < now() - interval '1 minute'`); err != nil && ctx.Err() == nil {
		b.log.Warn("bus: forgetting dead nodes", "error", err)
	}
	b.pool.Exec(ctx, `DELETE FROM bus_messages WHERE created_at < now() - interval '1 minute'`)
	b.refreshNodes(ctx)
}

// rerecordPresence queues every channel this node has a socket on to be
// written again, unless a newer change of it waits already.
func (b *Bus) rerecordPresence() {
	b.mu.RLock() // held: no change of a channel slips between its look and its queueing
	defer b.mu.RUnlock()
	b.pendMu.Lock()
	for ch, nodes := range b.presence {
		if _, ok := nodes[b.node]; !ok {
			continue
		}
		if _, newer := b.pending[ch]; !newer {
			b.pending[ch] = &presenceChange{on: true}
		}
	}
	b.pendMu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// refreshNodes reads when every node was last seen.
func (b *Bus) refreshNodes(ctx context.Context) {
	rows, err := b.pool.Query(ctx, `SELECT node, extract(epoch FROM now() - seen_at) FROM bus_nodes`)
	if err != nil {
		return
	}
	seen := map[string]time.Time{}
	for rows.Next() {
		var node string
		var ago float64
		if rows.Scan(&node, &ago) == nil {
			seen[node] = time.Now().Add(-time.Duration(ago * float64(time.Second)))
		}
	}
	if rows.Err() != nil {
		return
	}
	b.mu.Lock()
	for node, last := range b.others {
		if _, ok := seen[node]; ok {
			continue
		}
		if last.IsZero() {
			// Gone at the previous look too (or it said bye): forgotten. Not
			// at the first, which may be a node registered since the query.
			b.forgetLocked(node)
			continue
		}
		seen[node] = time.Time{} // gone: dead
	}
	b.others = seen
	b.mu.Unlock()
}

// notify sends m to the other nodes, through bus_messages when it is large.
func (b *Bus) notify(ctx context.Context, m busMessage) {
	payload, err := json.Marshal(m)
	if err != nil {
		b.log.Error("bus: encoding", "error", err)
		return
	}
	if len(payload) > maxNotify {
		var id int64
		if err := b.pool.QueryRow(ctx, `INSERT INTO bus_messages (payload) VALUES ($1) RETURNING id`, payload).Scan(&id); err != nil {
			b.log.Error("bus: storing a large message", "error", err)
			return
		}
		payload, _ = json.Marshal(busMessage{Node: b.node, Op: "ref", Ref: id})
	}
	if _, err := b.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, busChannel, string(payload)); err != nil && ctx.Err() == nil {
		b.log.Error("bus: notify", "op", m.Op, "error", err)
	}
}

// listen holds the LISTEN connection. Each time it (re)connects it reloads
// the presence replica; after a reconnection, the node's sockets are told to
// reconnect, as they may have missed events meanwhile.
func (b *Bus) listen(ctx context.Context) {
	defer b.done.Done()
	keepListening(ctx, b.listenOnce, func(first bool) {
		if first {
			close(b.ready)
		} else {
			b.log.Warn("bus: listener back; sockets told to reconnect")
			b.local.Reconnect()
		}
	}, func(err error) { b.log.Error("bus: listener lost", "error", err) })
}

// keepListening runs listen until ctx ends, again after each loss, waiting
// a back-off that doubles from 100 ms to 5 s between failures and starts
// over once a connection listens. listen calls its up once it listens; up
// then runs up(first); lost runs after each loss but the last, with its
// error.
func keepListening(ctx context.Context, listen func(ctx context.Context, up func()) error, up func(first bool), lost func(error)) {
	first := true
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; {
		err := listen(ctx, func() {
			up(first)
			first = false
			backoff = 100 * time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		lost(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (b *Bus) listenOnce(ctx context.Context, up func()) error {
	// A connection of its own, outside the pool: it is held for as long as
	// the node runs.
	pc, err := pgx.ConnectConfig(ctx, b.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+busChannel); err != nil {
		return err
	}
	if err := b.loadPresence(ctx, pc); err != nil {
		return err
	}
	up()
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		b.received.Add(1)
		var m busMessage
		if err := json.Unmarshal([]byte(n.Payload), &m); err != nil {
			b.log.Error("bus: undecodable message", "error", err)
			continue
		}
		if m.Node == b.node {
			continue
		}
		if m.Op == "ref" {
			var raw []byte
			if err := b.pool.QueryRow(ctx, `SELECT payload FROM bus_messages WHERE id = $1`, m.Ref).Scan(&raw); err != nil {
				b.log.Error("bus: loading a large message", "id", m.Ref, "error", err)
				continue
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				continue
			}
		}
		b.deliver(m)
	}
}

// deliver applies a message from another node.
func (b *Bus) deliver(m busMessage) {
	switch m.Op {
	case "pub":
		b.local.Publish(m.Channel, m.Event, m.Data, m.Except)
	case "pubs":
		for _, e := range m.Subs {
			b.local.Publish(e.Channel, e.Event, e.Data, e.Except)
		}
	case "grant":
		b.local.Authorized(m.Socket, m.Channel, m.Token, m.User, time.UnixMicro(m.Expires))
	case "close":
		if m.Token != "" {
			b.local.CloseToken(m.Token)
		}
		if m.User != 0 {
			b.local.CloseUser(m.User)
		}
	case "bye":
		b.mu.Lock()
		b.forgetLocked(m.Node)
		b.others[m.Node] = time.Time{} // gone
		b.mu.Unlock()
	case "subs":
		b.mu.Lock()
		if _, ok := b.others[m.Node]; !ok {
			b.others[m.Node] = time.Now()
		}
		for _, c := range m.Subs {
			b.setLocked(m.Node, c.Channel, c.On, c.Seq)
		}
		b.mu.Unlock()
	}
}

// loadPresence replaces the replica of other nodes' subscriptions with what
// bus_presence holds now.
func (b *Bus) loadPresence(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT p.node, p.channel, p.seq, extract(epoch FROM now() - n.seen_at)
		FROM bus_presence p JOIN bus_nodes n USING (node) WHERE p.node <> $1`, b.node)
	if err != nil {
		return err
	}
	type row struct {
		node, channel string
		seq           int64
		ago           float64
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.node, &r.channel, &r.seq, &r.ago); err != nil {
			return err
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch, nodes := range b.presence {
		for node := range nodes {
			if node != b.node {
				delete(nodes, node)
			}
		}
		if len(nodes) == 0 {
			delete(b.presence, ch)
		}
	}
	for _, r := range all {
		b.others[r.node] = time.Now().Add(-time.Duration(r.ago * float64(time.Second)))
		if nodes := b.presence[r.channel]; nodes == nil {
			b.presence[r.channel] = map[string]int64{}
		}
		b.presence[r.channel][r.node] = r.seq
		if r.seq > b.seqs[r.node][r.channel] {
			b.setSeqLocked(r.node, r.channel, r.seq)
		}
	}
	return nil
}

func busError(what string, err error) error {
	return &intercom.Error{Code: intercom.EUNAVAILABLE, Message: "postgres: bus: " + what + ": " + err.Error() + " (" + strconv.Quote(busChannel) + ")"}
}
