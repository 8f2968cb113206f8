package sqlite

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"intercom"
)

// The roster cache keeps, per intercom and flat, the devices a ring weighs, so
// that a ring at a large house does not read a thousand rows each time. It is
// checked against the change log (cache.go) like the other caches, but an
// entry that changes of a few accounts concern is patched rather than read
// again: only those accounts' rows are read. Token expiry is applied at each
// read.

type rosterKey struct {
	intercomID int64
	flat       int64
	anyFlat    bool
}

// roster is a cached roster: its rows and the candidates last made of them.
type roster struct {
	rows []*rosterRow
	// made is the candidates of the last ring and the instants between which
	// the same tokens are live: the next ring in that span gets them again
	// instead of a thousand fresh ones.
	made atomic.Pointer[candidates]
}

type candidates struct {
	from, until int64 // Unix microseconds: valid for from <= at < until
	list        []*intercom.RingCandidate
}

// candidates returns the devices with a token live at now (Unix
// microseconds), each with those tokens. They are shared: callers only read
// them. A device whose tokens are all live, the usual case, is its row's own
// candidate: a ring right after the roster changed allocates a slice of
// pointers, not a thousand candidates.
func (r *roster) candidates(now int64) []*intercom.RingCandidate {
	if m := r.made.Load(); m != nil && m.from <= now && now < m.until {
		return m.list
	}
	from, until := int64(math.MinInt64), int64(math.MaxInt64)
	out := make([]*intercom.RingCandidate, 0, len(r.rows))
	for _, row := range r.rows {
		live := 0
		for _, e := range row.expires {
			if e > now {
				live++
				until = min(until, e)
			} else {
				from = max(from, e)
			}
		}
		switch live {
		case 0:
			continue
		case len(row.expires):
			out = append(out, row.cand)
		default:
			c := *row.cand
			c.Tokens = make([]string, 0, live)
			for i, t := range row.cand.Tokens {
				if row.expires[i] > now {
					c.Tokens = append(c.Tokens, t)
				}
			}
			out = append(out, &c)
		}
	}
	out = out[:len(out):len(out)]
	r.made.Store(&candidates{from: from, until: until, list: out})
	return out
}

// rosterRow is a candidate with all its unrevoked tokens (capped, so that an
// append copies) and their expiries. Rows are shared, never changed.
type rosterRow struct {
	cand    *intercom.RingCandidate
	expires []int64 // Unix microseconds, by token
}

// maxPatch is the most accounts a roster is patched for; past it, it is
// read whole.
const maxPatch = 64

// rosterOf returns the roster of key, from the cache when no change since it
// was read concerns it, patched when changes of a few accounts do.
func (db *DB) rosterOf(ctx context.Context, key rosterKey, flat *int64) (*roster, error) {
	c := &db.caches.rosters
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	now := db.caches.log.now()
	if ok && e.gen == now {
		return e.v, nil
	}
	if ok {
		var users []int64
		whole := false
		if !db.caches.log.since(e.gen, now, func(ch *change) {
			whole = whole || ch.all
			users = append(users, ch.users...)
			users = append(users, ch.sessions...)
		}) {
			whole = true
		}
		slices.Sort(users)
		users = slices.Compact(users)
		if !whole && len(users) <= maxPatch {
			r := e.v
			if len(users) > 0 {
				fresh, err := db.roster(ctx, key.intercomID, flat, users)
				if err != nil {
					return nil, err
				}
				r = &roster{rows: patchRoster(e.v.rows, users, fresh)}
			}
			c.put(&db.caches.log, key, now, r)
			return r, nil
		}
	}
	rows, err := db.roster(ctx, key.intercomID, flat, nil)
	if err != nil {
		return nil, err
	}
	r := &roster{rows: rows}
	c.put(&db.caches.log, key, now, r)
	return r, nil
}

// patchRoster replaces the rows of users in rows by fresh; both are ordered
// by device, and so is what it returns. Rows are shared, never changed.
func patchRoster(rows []*rosterRow, users []int64, fresh []*rosterRow) []*rosterRow {
	out := make([]*rosterRow, 0, len(rows)+len(fresh))
	for _, r := range rows {
		for len(fresh) > 0 && fresh[0].cand.DeviceID < r.cand.DeviceID {
			out, fresh = append(out, fresh[0]), fresh[1:]
		}
		if _, found := slices.BinarySearch(users, r.cand.UserID); !found {
			out = append(out, r)
		}
	}
	return append(out, fresh...)
}

// jsonIDs is ids as a JSON array, for json_each.
func jsonIDs(ids []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte(']')
	return b.String()
}
