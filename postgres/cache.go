package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
	"intercom/cachelog"
)

// Caches of sessions and intercom views. Every node caches what it reads
// once it hears the other nodes' changes (ShareCaches); a write says what it
// may have changed (a change), applies it to its own node's caches before it
// is answered, and sends it to the other nodes by NOTIFY on changeChannel,
// also before it is answered, so:
//
//   - the node that wrote sees its write in its very next read;
//   - another node sees it once it has heard the notification, which
//     PostgreSQL delivers in commit order: SyncChanges waits for that;
//   - a node that stops hearing (its LISTEN connection lost, or a mark it
//     sends itself when the channel has been silent for listenCheck not heard
//     back within listenCheck) caches nothing until it hears again, and then
//     starts over;
//   - a change that never reached the bus (a node stopped between its
//     commit and its NOTIFY) is bounded by cacheMaxAge: no entry is served
//     older than that.
//
// Every process writing to the database sends its changes, whether it
// caches or not (intercomd's commands too), so that nodes hear of them.
// Reads under intercom.FreshReads are never answered from the caches.

// changeChannel is the LISTEN/NOTIFY channel of the changes, followed by
// the schema's name (a channel is the database's, and clusters may share a
// database in schemas of their own). It is the database's whichever bus
// carries the events.
const changeChannel = "intercomd_changes:"

// channelOf is the channel of the changes of schema: changeChannel and the
// schema's name, or a hash of it where the name would pass PostgreSQL's 63
// bytes (LISTEN would cut it short, pg_notify refuse it).
func channelOf(schema string) string {
	if name := changeChannel + schema; len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return changeChannel + hex.EncodeToString(sum[:16])
}

// cacheMaxAge bounds how old a cached session or view may be.
const cacheMaxAge = 10 * time.Second

// listenCheck is how long the change listener waits for a notification
// before it asks the server whether the connection is still there.
const listenCheck = 2 * time.Second

// maxCached bounds each of a node's caches (a view is about 1 KiB): past it,
// the cache starts over.
const maxCached = 65536

// changeLogSize is how many changes each node's log holds: an entry not
// looked up for that many changes is read again.
const changeLogSize = 4096

// change is what a committed write may have changed, as far as caches care.
type change struct {
	Node      string  `json:"n,omitempty"` // the sender
	All       bool    `json:"a,omitempty"` // anything: every entry is stale
	Users     []int64 `json:"u,omitempty"` // these accounts' memberships, settings, favourites: views
	Sessions  []int64 `json:"s,omitempty"` // these accounts' tokens and devices: sessions and views
	Intercoms []int64 `json:"i,omitempty"` // these intercoms, their flats' lines, heartbeats: views
	Fence     uint64  `json:"f,omitempty"` // SyncChanges: a mark, no change
}

// everything is the change of a write that does not say what it changed.
var everything = change{All: true}

func (c *change) empty() bool {
	return !c.All && len(c.Users) == 0 && len(c.Sessions) == 0 && len(c.Intercoms) == 0
}

// The lists of a change in the log are sorted (changed, split): a lookup
// replaying many changes of many ids searches each.
func (c *change) touchesSession(userID int64) bool {
	return c.All || has(c.Sessions, userID)
}

func (c *change) touchesView(k viewKey) bool {
	return c.All || has(c.Users, k.userID) || has(c.Sessions, k.userID) || has(c.Intercoms, k.intercomID)
}

func has(sorted []int64, id int64) bool {
	_, ok := slices.BinarySearch(sorted, id)
	return ok
}

// sorted is c with its lists sorted and without repeats.
func (c change) sorted() change {
	for _, l := range []*[]int64{&c.Users, &c.Sessions, &c.Intercoms} {
		*l = slices.Compact(slices.Sorted(slices.Values(*l)))
	}
	return c
}

// merge adds what d changed to c.
func (c *change) merge(d change) {
	c.All = c.All || d.All
	c.Users = append(c.Users, d.Users...)
	c.Sessions = append(c.Sessions, d.Sessions...)
	c.Intercoms = append(c.Intercoms, d.Intercoms...)
}

// viewKey names an intercom as one device of one account sees it.
type viewKey struct {
	userID, deviceID, intercomID int64
}

// caches are a node's caches, the log of changes they are checked against,
// and the feed that sends this process's changes to the other nodes.
type caches struct {
	node    string
	channel string // changeChannel and the schema
	log     cachelog.Log[change]
	hearing atomic.Bool // the listener hears the other nodes: entries may be used
	// sessions by token hash, views by account, device and intercom.
	sessions cachelog.Cache[change, string, intercom.AccessToken]
	views    cachelog.Cache[change, viewKey, intercom.IntercomView]

	sendMu  sync.Mutex
	queue   []change
	waiting []chan struct{} // closed once the queue they joined is sent
	wake    chan struct{}

	fenceMu sync.Mutex
	fence   uint64        // the last fence sent
	heard   uint64        // the last of this node's fences heard
	fenced  chan struct{} // closed and replaced whenever a fence is heard

	epoch  atomic.Uint64  // the listener's connections lost
	done   sync.WaitGroup // the listener
	stopMu sync.Mutex
	stop   func()                      // ShareCaches's, for Close
	logger atomic.Pointer[slog.Logger] // ShareCaches's, for the sender too
	closed atomic.Bool                 // Close was called: nothing more is sent
}

func newCaches(now func() time.Time) *caches {
	c := &caches{node: rand.Text()[:16], wake: make(chan struct{}, 1), fenced: make(chan struct{})}
	c.log.Size = changeLogSize
	c.sessions.MaxAge, c.sessions.Now, c.sessions.MaxEntries = cacheMaxAge, now, maxCached
	c.views.MaxAge, c.views.Now, c.views.MaxEntries = cacheMaxAge, now, maxCached
	return c
}

// ShareCaches starts this node's caching: it listens for the other nodes'
// changes and caches sessions and views while it hears them. stop ends it.
func (db *DB) ShareCaches(ctx context.Context, log *slog.Logger) (stop func(), err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := db.caches
	c.logger.Store(log)
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	up := make(chan struct{})
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		db.listenChanges(ctx, log, up)
	}()
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		cancel()
		c.done.Wait()
		return nil, errors.New("postgres: could not listen for the other nodes' changes in 10 s")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			c.done.Wait() // deaf once the listener has returned
		})
	}
	c.stopMu.Lock()
	c.stop = stop
	c.stopMu.Unlock()
	return stop, nil
}

// listenChanges holds the LISTEN connection of the changes, again after
// each loss; up is closed the first time it listens.
func (db *DB) listenChanges(ctx context.Context, log *slog.Logger, up chan struct{}) {
	c := db.caches
	defer c.deaf()
	keepListening(ctx, db.listenChangesOnce, func(first bool) {
		// Whatever was missed while not hearing: every entry is stale.
		c.log.End(everything)
		c.hearing.Store(true)
		if first {
			close(up)
		} else {
			log.Warn("caches: hearing the other nodes again; every cached entry dropped")
		}
	}, func(err error) {
		c.deaf()
		log.Error("caches: not hearing the other nodes' changes; caching nothing until back", "error", err)
	})
}

// deaf stops caching, and tells the SyncChanges waiting that the listener
// they were waiting on is gone.
func (c *caches) deaf() {
	c.hearing.Store(false)
	c.epoch.Add(1)
	c.wakeFences()
}

func (db *DB) listenChangesOnce(ctx context.Context, up func()) error {
	c := db.caches
	cfg := db.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "intercomd changes " + c.node // as pg_stat_activity shows it
	pc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+pgx.Identifier{db.caches.channel}.Sanitize()); err != nil {
		return err
	}
	up()
	var probe uint64 // a mark sent when the channel fell silent, not yet heard back
	for {
		wait, cancel := context.WithTimeout(ctx, listenCheck)
		n, err := pc.WaitForNotification(wait)
		cancel()
		if err != nil {
			if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			// Silent for listenCheck: a mark of its own must come back
			// within the next, or this connection does not hear the
			// channel (dropped without a word, or a pooler between).
			c.fenceMu.Lock()
			heard := c.heard
			c.fenceMu.Unlock()
			if probe != 0 && heard < probe {
				return errors.New("the listener did not hear its own mark back")
			}
			probe = db.nextFence()
			go db.send(ctx, change{Node: c.node, Fence: probe})
			continue
		}
		var batch []change
		if err := json.Unmarshal([]byte(n.Payload), &batch); err != nil {
			return errors.Join(errors.New("an undecodable change"), err)
		}
		for _, ch := range batch {
			switch {
			case ch.Node == c.node && ch.Fence != 0:
				c.fenceMu.Lock()
				c.heard = max(c.heard, ch.Fence)
				c.fenceMu.Unlock()
				c.wakeFences()
			case ch.Node == c.node, ch.empty():
				// this node's own: applied when written
			default:
				c.log.End(ch.sorted()) // sorted as sent; a sender of another version may not
			}
		}
	}
}

// changed applies ch, what a write may have changed, to this node's caches
// and sends it to the other nodes; it returns once it is sent (or could not
// be).
func (db *DB) changed(ctx context.Context, ch change) {
	if ch.empty() {
		return
	}
	ch = ch.sorted()
	ch.Node = db.caches.node
	db.caches.log.End(ch)
	db.send(ctx, ch)
}

// send queues ch for the sender and waits until it has been sent.
func (db *DB) send(ctx context.Context, ch change) {
	c := db.caches
	sent := make(chan struct{})
	c.sendMu.Lock()
	if c.closed.Load() {
		c.sendMu.Unlock()
		return // after Close: nothing more goes out
	}
	c.queue = append(c.queue, ch)
	c.waiting = append(c.waiting, sent)
	c.sendMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	select {
	case <-sent:
	case <-ctx.Done():
	}
}

// sendChanges sends the queued changes until ctx ends, then what is left.
// Up to maxSending sends are under way at once: a write waits for its own
// to commit, not for the one before it.
func (db *DB) sendChanges(ctx context.Context) {
	c := db.caches
	slots := make(chan struct{}, maxSending)
	var sending sync.WaitGroup
	defer sending.Wait()
	for {
		select {
		case <-ctx.Done():
			sending.Wait()
			flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			db.sendQueued(flush)
			cancel()
			return
		case <-c.wake:
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				continue // the flush sends what is queued
			}
			sending.Go(func() {
				defer func() { <-slots }()
				db.sendQueued(ctx)
			})
		}
	}
}

// maxSending is how many notifications of changes a process sends at once.
const maxSending = 4

// sendTimeout bounds one send of notifications.
const sendTimeout = 5 * time.Second

// maxChangeIDs bounds the ids of one notification: 300 ids of 19 digits
// and their commas stay under NOTIFY's 8000 bytes.
const maxChangeIDs = 300

// sendQueued sends what is queued, as few notifications as fit, and
// releases their writers.
func (db *DB) sendQueued(ctx context.Context) {
	c := db.caches
	c.sendMu.Lock()
	queue, waiting := c.queue, c.waiting
	c.queue, c.waiting = nil, nil
	c.sendMu.Unlock()
	if len(queue) == 0 {
		return
	}
	defer func() {
		for _, w := range waiting {
			close(w)
		}
	}()
	// The changes merged, then cut where one notification would be too
	// large; fences go as they are.
	var merged change
	var batches [][]change
	for _, ch := range queue {
		if ch.Fence != 0 {
			batches = append(batches, []change{ch})
		} else {
			merged.merge(ch)
		}
	}
	merged.Node = c.node
	batches = append(batches, split(merged)...)
	b := &pgx.Batch{}
	for _, batch := range batches {
		payload, err := json.Marshal(batch)
		if err != nil {
			continue
		}
		// The notification's own commit need not wait for the disk: a
		// lost one is what cacheMaxAge bounds.
		b.Queue(`SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)`, c.channel, string(payload))
	}
	// A context of its own: Close's stop does not cut a send under way, and
	// a database that does not answer holds no writer past sendTimeout (the
	// other nodes then rely on cacheMaxAge).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		// A node logs through ShareCaches's logger; a process that only
		// writes (intercomd's commands) through the default one.
		log := c.logger.Load()
		if log == nil {
			log = slog.Default()
		}
		log.Error("caches: sending changes to the other nodes; they may serve what changed for up to max_age",
			"error", err, "max_age", cacheMaxAge)
	}
}

// split cuts ch into notifications of at most maxChangeIDs ids each.
func split(ch change) [][]change {
	if ch.empty() {
		return nil
	}
	if ch.All {
		return [][]change{{{Node: ch.Node, All: true}}}
	}
	ch = ch.sorted()
	var out [][]change
	for !ch.empty() {
		part := change{Node: ch.Node}
		room := maxChangeIDs
		take := func(from *[]int64, to *[]int64) {
			n := min(room, len(*from))
			*to, *from, room = (*from)[:n:n], (*from)[n:], room-n
		}
		take(&ch.Users, &part.Users)
		take(&ch.Sessions, &part.Sessions)
		take(&ch.Intercoms, &part.Intercoms)
		out = append(out, []change{part})
	}
	return out
}

// SyncChanges returns once this node has heard every change sent before it
// was called, by any node: it sends a mark and waits to hear it back.
func (db *DB) SyncChanges(ctx context.Context) error {
	c := db.caches
	if !c.hearing.Load() {
		return errors.New("postgres: not hearing the other nodes' changes")
	}
	epoch := c.epoch.Load()
	mine := db.nextFence()
	db.send(ctx, change{Node: c.node, Fence: mine})
	for {
		c.fenceMu.Lock()
		heard, wait := c.heard, c.fenced
		c.fenceMu.Unlock()
		if heard >= mine {
			return nil
		}
		if c.epoch.Load() != epoch {
			return errors.New("postgres: the change listener reconnected while waiting for its mark")
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// nextFence numbers a new mark of this node's.
func (db *DB) nextFence() uint64 {
	c := db.caches
	c.fenceMu.Lock()
	defer c.fenceMu.Unlock()
	c.fence++
	return c.fence
}

// wakeFences wakes every SyncChanges waiting.
func (c *caches) wakeFences() {
	c.fenceMu.Lock()
	close(c.fenced)
	c.fenced = make(chan struct{})
	c.fenceMu.Unlock()
}

// cachedSession returns the token of hash from the cache.
func (db *DB) cachedSession(ctx context.Context, hash []byte) (intercom.AccessToken, bool) {
	c := db.caches
	if !c.hearing.Load() || intercom.WantsFreshReads(ctx) {
		return intercom.AccessToken{}, false
	}
	return c.sessions.Get(&c.log, string(hash), func(ch *change, t intercom.AccessToken) bool { return ch.touchesSession(t.UserID) })
}

// cachedView returns the view of k from the cache.
func (db *DB) cachedView(k viewKey) (intercom.IntercomView, bool) {
	c := db.caches
	if !c.hearing.Load() {
		return intercom.IntercomView{}, false
	}
	v, ok := c.views.Get(&c.log, k, func(ch *change, _ intercom.IntercomView) bool { return ch.touchesView(k) })
	return cloneView(v), ok
}

// readStart is where a read that may be cached begins: the log's
// generation and the instant, from which its entry's age counts.
type readStart struct {
	gen uint64
	at  time.Time
}

// beginRead is the readStart of a read about to be sent, on the sessions'
// clock, which the views share (newCaches).
func (db *DB) beginRead() readStart {
	c := db.caches
	return readStart{gen: c.log.Now(), at: c.sessions.Time()}
}

// keepSession caches t, read from r.
func (db *DB) keepSession(r readStart, t intercom.AccessToken) {
	c := db.caches
	if c.hearing.Load() {
		c.sessions.PutAt(&c.log, string(t.Hash), r.gen, r.at, t)
	}
}

// keepView caches v, read from r for the viewer v.
func (db *DB) keepView(r readStart, k viewKey, v intercom.IntercomView) {
	c := db.caches
	if c.hearing.Load() {
		c.views.PutAt(&c.log, k, r.gen, r.at, cloneView(v))
	}
}

// cloneView copies what a caller could change through a view's pointers
// that matter: the camera.
func cloneView(v intercom.IntercomView) intercom.IntercomView {
	if v.Camera != nil {
		c := *v.Camera
		v.Camera = &c
	}
	return v
}
