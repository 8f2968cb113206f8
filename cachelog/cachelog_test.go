package cachelog

import (
	"slices"
	"testing"
	"time"
)

// ids is a change: the keys it concerns.
type ids []int

func touches(c *ids, k int) bool { return slices.Contains(*c, k) }

func get(c *Cache[ids, int, string], l *Log[ids], k int) (string, bool) {
	return c.Get(l, k, func(ch *ids, _ string) bool { return touches(ch, k) })
}

func TestEntriesFollowTheLog(t *testing.T) {
	var l Log[ids]
	var c Cache[ids, int, string]
	gen := l.Now()
	c.Put(&l, 1, gen, "one")
	c.Put(&l, 2, gen, "two")
	if v, ok := get(&c, &l, 1); !ok || v != "one" {
		t.Fatalf("Get(1) = %q, %v; want the entry", v, ok)
	}
	l.End(ids{2})
	if _, ok := get(&c, &l, 2); ok {
		t.Error("Get(2) after a change of 2: served, want refused")
	}
	if v, ok := get(&c, &l, 1); !ok || v != "one" {
		t.Errorf("Get(1) after a change of 2 only = %q, %v; want the entry", v, ok)
	}

	// Read before a change, put after it: refused at the next Get.
	read := l.Now()
	l.End(ids{3})
	c.Put(&l, 3, read, "stale three")
	if _, ok := get(&c, &l, 3); ok {
		t.Error("an entry read before a change of it was served")
	}

	// Read while a commit was under way: not kept at all.
	l.Begin(ids{4})
	c.Put(&l, 4, l.Now(), "either side")
	l.End(ids{4})
	if _, _, ok := c.Peek(4); ok {
		t.Error("an entry read while a change was open was kept")
	}
}

func TestPastTheLogIsStale(t *testing.T) {
	l := Log[ids]{Size: 4}
	var c Cache[ids, int, string]
	c.Put(&l, 1, l.Now(), "one")
	for range 3 {
		l.End(ids{9})
	}
	if _, ok := get(&c, &l, 1); !ok {
		t.Fatal("three unrelated changes in a log of 4: entry refused")
	}
	// The entry was renewed at generation 3; four more pass the log's size.
	for range 4 {
		l.End(ids{9})
	}
	if _, ok := get(&c, &l, 1); ok {
		t.Error("an entry older than the log holds was served")
	}
}

func TestMaxAge(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var l Log[ids]
	c := Cache[ids, int, string]{MaxAge: time.Second, Now: func() time.Time { return now }}
	c.Put(&l, 1, l.Now(), "one")
	now = now.Add(time.Second - time.Nanosecond)
	if _, ok := get(&c, &l, 1); !ok {
		t.Fatal("an entry younger than MaxAge was refused")
	}
	now = now.Add(time.Nanosecond)
	if _, ok := get(&c, &l, 1); ok {
		t.Error("an entry MaxAge old was served")
	}
}

// TestPutAt: an entry's age counts from when its read began: a read that
// took most of MaxAge is served only for what is left of it.
func TestPutAt(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var l Log[ids]
	c := Cache[ids, int, string]{MaxAge: time.Second, Now: func() time.Time { return now }}
	gen, began := l.Now(), c.Time()
	now = now.Add(900 * time.Millisecond) // the read's round trip
	c.PutAt(&l, 1, gen, began, "one")
	now = now.Add(100*time.Millisecond - time.Nanosecond)
	if _, ok := get(&c, &l, 1); !ok {
		t.Fatal("an entry whose read began under MaxAge ago was refused")
	}
	now = now.Add(time.Nanosecond)
	if _, ok := get(&c, &l, 1); ok {
		t.Error("an entry whose read began MaxAge ago was served (its age counted from its Put?)")
	}
}
