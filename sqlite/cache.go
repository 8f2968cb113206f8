package sqlite

import (
	"slices"

	"intercom"
	"intercom/cachelog"
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

// logged is c as the log keeps it: without its views.
func (c change) logged() change {
	c.views = nil
	return c
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

// changeLog is the log of the batches' changes. A batch's change is
// appended twice: open, before its COMMIT, and again once committed
// (cachelog.Log).
type changeLog = cachelog.Log[change]

// cache is a bounded map of entries checked against the change log.
type cache[K comparable, V any] = cachelog.Cache[change, K, V]

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
