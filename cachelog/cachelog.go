// Package cachelog keeps caches exact against a log of changes. Each write
// appends what it may have changed (a change, of the engine's own type C) to
// a log, by generation; each cached entry remembers the log's generation when
// it was read, and a lookup replays the log since then and refuses an entry a
// change may concern. The SQLite engine appends its own writes; the
// PostgreSQL engine appends its own and, as they are heard, every other
// node's.
package cachelog

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSize is how many changes a Log holds when its Size is not set.
const DefaultSize = 256

// Log holds the last Size changes, by generation. A writer that can tell a
// commit is under way appends its change twice: open (Begin), before its
// COMMIT, and again once committed (End). While it is open, a reader may
// find the database before or after the commit, so nothing read then is
// cached: otherwise one reader could cache what the commit replaced after
// another already saw the commit. The zero Log holds DefaultSize changes.
type Log[C any] struct {
	// Size is how many changes the log holds; set it before the first use.
	Size int

	gen  atomic.Uint64 // generation of the last change appended
	open atomic.Uint64 // generation of the open change, 0 when none is
	mu   sync.Mutex
	ring []C
}

func (l *Log[C]) size() uint64 {
	if l.Size > 0 {
		return uint64(l.Size)
	}
	return DefaultSize
}

// Now is the generation of the last change appended.
func (l *Log[C]) Now() uint64 { return l.gen.Load() }

// Begin appends c before it commits; End appends it again once it has
// committed (or failed to), before its writes are answered.
func (l *Log[C]) Begin(c C) { l.add(c, true) }

// End appends c, a change committed (or that failed), before its writes
// are answered.
func (l *Log[C]) End(c C) { l.add(c, false) }

func (l *Log[C]) add(c C, open bool) {
	l.mu.Lock()
	if l.ring == nil {
		l.ring = make([]C, l.size())
	}
	g := l.gen.Load() + 1
	l.ring[g%l.size()] = c
	if open {
		l.open.Store(g) // before gen: a reader that sees g open sees it so
	}
	l.gen.Store(g)
	if !open {
		l.open.Store(0)
	}
	l.mu.Unlock()
}

// Since calls f on every change after generation from, up to generation to.
// It reports false when the log no longer holds them all.
func (l *Log[C]) Since(from, to uint64, f func(*C)) bool {
	if to-from >= l.size() {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen.Load()-from >= l.size() {
		return false
	}
	for g := from + 1; g <= to; g++ {
		f(&l.ring[g%l.size()])
	}
	return true
}

// Stale reports whether a change after generation from, up to now, may
// concern an entry; touches says whether one does.
func (l *Log[C]) Stale(from, now uint64, touches func(*C) bool) bool {
	hit := false
	if !l.Since(from, now, func(c *C) { hit = hit || touches(c) }) {
		return true
	}
	return hit
}

// Cache is a bounded map of entries checked against a Log of changes C.
// With MaxAge set, an entry older than that is also refused, whatever the
// log says: the bound on a change that never reached the log.
type Cache[C any, K comparable, V any] struct {
	MaxAge     time.Duration
	Now        func() time.Time // the clock MaxAge is measured on; time.Now when nil
	MaxEntries int              // past it, the cache starts over; DefaultMaxEntries when 0

	mu sync.Mutex
	m  map[K]entry[V]
}

type entry[V any] struct {
	gen uint64
	at  time.Time // when read, with MaxAge
	v   V
}

// DefaultMaxEntries bounds a cache whose MaxEntries is not set.
const DefaultMaxEntries = 16384

func (c *Cache[C, K, V]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Peek returns the entry for k and the generation it is exact at, without
// checking it against the log (a caller patching entries does).
func (c *Cache[C, K, V]) Peek(k K) (gen uint64, v V, ok bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && c.MaxAge > 0 && c.now().Sub(e.at) >= c.MaxAge {
		return 0, v, false
	}
	return e.gen, e.v, ok
}

// Get returns the entry for k if no change since it was read concerns it.
func (c *Cache[C, K, V]) Get(l *Log[C], k K, touches func(*C, V) bool) (V, bool) {
	var zero V
	gen, v, ok := c.Peek(k)
	if !ok {
		return zero, false
	}
	now := l.Now()
	if gen == now {
		return v, true
	}
	if l.Stale(gen, now, func(ch *C) bool { return touches(ch, v) }) {
		return zero, false
	}
	c.renew(k, gen, now) // still exact at now: the next lookup replays less
	return v, true
}

// renew moves k's entry, exact at gen, to now.
func (c *Cache[C, K, V]) renew(k K, gen, now uint64) {
	c.mu.Lock()
	if e, ok := c.m[k]; ok && e.gen == gen {
		e.gen = now
		c.m[k] = e
	}
	c.mu.Unlock()
}

// Put stores v, read at generation gen (taken before the read), unless a
// fresher entry is there. Its age counts from now.
func (c *Cache[C, K, V]) Put(l *Log[C], k K, gen uint64, v V) {
	var at time.Time
	if c.MaxAge > 0 {
		at = c.now()
	}
	c.PutAt(l, k, gen, at, v)
}

// Time is the instant on the cache's clock: what PutAt takes, read with
// the generation before the read.
func (c *Cache[C, K, V]) Time() time.Time { return c.now() }

// PutAt is Put of v whose read began at at (Time, taken with gen): its age
// counts from then, so that a slow read is not served MaxAge after it began.
func (c *Cache[C, K, V]) PutAt(l *Log[C], k K, gen uint64, at time.Time, v V) {
	if open := l.open.Load(); open != 0 && open == gen {
		return // read while a commit was under way: it may be either side
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.gen > gen {
		return
	}
	limit := c.MaxEntries
	if limit <= 0 {
		limit = DefaultMaxEntries
	}
	if c.m == nil || len(c.m) >= limit {
		c.m = map[K]entry[V]{}
	}
	c.m[k] = entry[V]{gen: gen, at: at, v: v}
}

// Clear drops every entry.
func (c *Cache[C, K, V]) Clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
