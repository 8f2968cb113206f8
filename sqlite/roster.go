package sqlite

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"intercom"
)

// The roster cache keeps, per intercom and flat, the devices a ring weighs
// (intercom.Roster). It is checked against the change log (cache.go) like the
// other caches, but an entry that changes of a few accounts concern is
// patched rather than read again: only those accounts' rows are read.

// maxPatch is the most accounts a roster is patched for; past it, it is
// read whole.
const maxPatch = 64

// rosterOf returns the roster of key, from the cache when no change since it
// was read concerns it, patched when changes of a few accounts do.
func (db *DB) rosterOf(ctx context.Context, key intercom.RosterKey) (*intercom.Roster, error) {
	c := &db.caches.rosters
	gen, cached, ok := c.Peek(key)
	now := db.caches.log.Now()
	if ok && gen == now {
		return cached, nil
	}
	if ok {
		var users []int64
		whole := false
		if !db.caches.log.Since(gen, now, func(ch *change) {
			whole = whole || ch.all
			users = append(users, ch.users...)
			users = append(users, ch.sessions...)
		}) {
			whole = true
		}
		slices.Sort(users)
		users = slices.Compact(users)
		if !whole && len(users) <= maxPatch {
			r := cached
			if len(users) > 0 {
				fresh, err := db.roster(ctx, key, users)
				if err != nil {
					return nil, err
				}
				r = cached.Patch(users, fresh)
			}
			c.Put(&db.caches.log, key, now, r)
			return r, nil
		}
	}
	rows, err := db.roster(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	r := intercom.NewRoster(rows)
	c.Put(&db.caches.log, key, now, r)
	return r, nil
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
