package sqlite

import (
	"sync"

	"intercom"
)

// rosterCache keeps, per intercom and flat, the devices a ring weighs, so that
// a ring at a large house does not read a thousand rows each time. It is
// exact because this process owns the database: every write that may change
// a roster (update, as opposed to quiet) drops the whole cache once it has
// committed, and token expiry is applied at each read.
type rosterCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[rosterKey]rosterEntry
}

// maxRosters bounds the cache; past it, the cache starts over.
const maxRosters = 4096

type rosterKey struct {
	intercomID int64
	flat       int64
	anyFlat    bool
}

type rosterEntry struct {
	gen  uint64
	rows []rosterRow
}

// rosterRow is a candidate with all its unrevoked tokens and their expiries.
type rosterRow struct {
	cand    intercom.RingCandidate // Tokens unset
	tokens  []string
	expires []int64 // Unix microseconds, by token
}

func (c *rosterCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.entries = nil
	c.mu.Unlock()
}

// get returns the cached roster and true, or the generation to store a fresh
// one under and false.
func (c *rosterCache) get(k rosterKey) ([]rosterRow, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if ok && e.gen == c.gen {
		return e.rows, 0, true
	}
	return nil, c.gen, false
}

// put stores a roster read under generation gen, unless a write has
// committed since.
func (c *rosterCache) put(k rosterKey, gen uint64, rows []rosterRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.entries == nil || len(c.entries) >= maxRosters {
		c.entries = map[rosterKey]rosterEntry{}
	}
	c.entries[k] = rosterEntry{gen: gen, rows: rows}
}
