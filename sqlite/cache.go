package sqlite

import (
	"slices"
	"sync"
	"sync/atomic"

	"intercom"
)

// The caches (sessions, intercom views, ring rosters) are exact because this
// process owns the database (Open takes an exclusive lock): every write goes
// through the writer goroutine, which, once a batch has committed and before
// any of its writes is answered, appends to a log what the batch may have
// changed. Each cached entry remembers the log's generation when it was read;
// a lookup replays the log since then and refuses (or, for rosters, patches)
// an entry that a change may concern. A write says what it changed only when
// it is known (scoped); update, the default, changes everything, so a write
// that says nothing makes every entry stale. quiet, whose older contract
// (nothing a ring weighs) writes other than this file's may rely on, drops
// every session and view; uncached writes touch no cached table.

// change is what one committed batch of writes may have changed, as far as
// the caches care.
type change struct {
	all      bool    // anything at all: every entry is stale
	allViews bool    // every session and view (quiet), not rosters
	users    []int64 // these accounts' memberships, device settings, push tokens, favourites (views, rosters)
	sessions []int64 // these accounts' access tokens and devices (sessions, views, rosters)
	beats    []int64 // these intercoms' heartbeats (views)
	// views are intercom views as the write left them, put in the view cache
	// once it has committed (the write's own answer, not read again).
	views []freshView
}

type freshView struct {
	key  viewKey
	view intercom.IntercomView
}

func (c *change) empty() bool {
	return !c.all && !c.allViews && len(c.users) == 0 && len(c.sessions) == 0 && len(c.beats) == 0
}

// merge adds what d changed to c (not d's views).
func (c *change) merge(d *change) {
	c.all = c.all || d.all
	c.allViews = c.allViews || d.allViews
	c.users = append(c.users, d.users...)
	c.sessions = append(c.sessions, d.sessions...)
	c.beats = append(c.beats, d.beats...)
}

func (c *change) touchesUser(id int64) bool {
	return c.all || slices.Contains(c.users, id) || slices.Contains(c.sessions, id)
}

func (c *change) touchesSession(userID int64) bool {
	return c.all || c.allViews || slices.Contains(c.sessions, userID)
}

func (c *change) touchesView(k viewKey) bool {
	return c.allViews || c.touchesUser(k.userID) || slices.Contains(c.beats, k.intercomID)
}

// changeLog holds the last logSize changes, by generation. A batch's change
// is appended twice: open, before its COMMIT, and again once committed. While
// it is open, a reader may find the database before or after the commit, so
// nothing read then is cached: otherwise one reader could cache what the
// commit replaced after another already saw the commit.
type changeLog struct {
	gen  atomic.Uint64 // generation of the last change appended
	open atomic.Uint64 // generation of the open change, 0 when none is
	mu   sync.Mutex
	ring [logSize]change
}

// logSize bounds the history: an entry older than that is read again.
const logSize = 256

func (l *changeLog) now() uint64 { return l.gen.Load() }

// begin appends c before it commits; end appends it again once it has
// committed (or failed to), before its writes are answered.
func (l *changeLog) begin(c change) { l.add(c, true) }

func (l *changeLog) end(c change) { l.add(c, false) }

func (l *changeLog) add(c change, open bool) {
	c.views = nil
	l.mu.Lock()
	g := l.gen.Load() + 1
	l.ring[g%logSize] = c
	if open {
		l.open.Store(g) // before gen: a reader that sees g open sees it so
	}
	l.gen.Store(g)
	if !open {
		l.open.Store(0)
	}
	l.mu.Unlock()
}

// since calls f on every change after generation from, up to generation to.
// It reports false when the log no longer holds them all.
func (l *changeLog) since(from, to uint64, f func(*change)) bool {
	if to-from >= logSize {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen.Load()-from >= logSize {
		return false
	}
	for g := from + 1; g <= to; g++ {
		f(&l.ring[g%logSize])
	}
	return true
}

// stale reports whether a change after generation from, up to now, may
// concern an entry; touches says whether one does.
func (l *changeLog) stale(from, now uint64, touches func(*change) bool) bool {
	hit := false
	if !l.since(from, now, func(c *change) { hit = hit || touches(c) }) {
		return true
	}
	return hit
}

// cache is a bounded map of entries checked against the change log.
type cache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	gen uint64
	v   V
}

// maxEntries bounds each cache; past it, the cache starts over.
const maxEntries = 16384

// get returns the entry for k if no change since it was read concerns it.
func (c *cache[K, V]) get(l *changeLog, k K, touches func(*change, V) bool) (V, bool) {
	var zero V
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok {
		return zero, false
	}
	now := l.now()
	if e.gen == now {
		return e.v, true
	}
	if l.stale(e.gen, now, func(ch *change) bool { return touches(ch, e.v) }) {
		return zero, false
	}
	c.put(l, k, now, e.v) // still exact at now: the next lookup replays less
	return e.v, true
}

// put stores v, read at generation gen (taken before the read), unless a
// fresher entry is there.
func (c *cache[K, V]) put(l *changeLog, k K, gen uint64, v V) {
	if l.open.Load() == gen {
		return // read while a commit was under way: it may be either side
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.gen > gen {
		return
	}
	if c.m == nil || len(c.m) >= maxEntries {
		c.m = map[K]cacheEntry[V]{}
	}
	c.m[k] = cacheEntry[V]{gen: gen, v: v}
}

// viewKey names an intercom as one device of one account sees it.
type viewKey struct {
	userID, deviceID, intercomID int64
}

// caches are the engine's caches and their log.
type caches struct {
	log      changeLog
	sessions cache[string, intercom.AccessToken] // by token hash
	views    cache[viewKey, intercom.IntercomView]
	rosters  cache[intercom.RosterKey, *intercom.Roster]
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
