package sqlite

import (
	"context"
	"slices"
	"strconv"
	"strings"

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

// rosterRow is a candidate with all its unrevoked tokens and their expiries.
type rosterRow struct {
	cand    intercom.RingCandidate // Tokens unset
	tokens  []string
	expires []int64 // Unix microseconds, by token
}

// maxPatch is the most accounts a roster is patched for; past it, it is
// read whole.
const maxPatch = 64

// rosterOf returns the roster of key, from the cache when no change since it
// was read concerns it, patched when changes of a few accounts do.
func (db *DB) rosterOf(ctx context.Context, key rosterKey, flat *int64) ([]*rosterRow, error) {
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
			rows := e.v
			if len(users) > 0 {
				fresh, err := db.roster(ctx, key.intercomID, flat, users)
				if err != nil {
					return nil, err
				}
				rows = patchRoster(e.v, users, fresh)
			}
			c.put(&db.caches.log, key, now, rows)
			return rows, nil
		}
	}
	rows, err := db.roster(ctx, key.intercomID, flat, nil)
	if err != nil {
		return nil, err
	}
	c.put(&db.caches.log, key, now, rows)
	return rows, nil
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
