package postgres

import (
	"context"
	"time"

	"intercom"
)

// Beat runs one liveness beat of the node now, as its ticker does.
func (b *Bus) Beat(ctx context.Context) { b.beatOnce(ctx) }

// Replica counts what the node keeps of the other nodes: channels with a
// subscriber somewhere, sequence numbers, and nodes.
func (b *Bus) Replica() (channels, seqs, nodes int) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, s := range b.seqs {
		seqs += len(s)
	}
	return len(b.presence), seqs, len(b.others)
}

// RosterLog is how many roster changes of an intercom the database keeps.
const RosterLog = rosterLog

// InsertSends writes outcomes as one batch of RecordSend's does.
func (db *DB) InsertSends(ctx context.Context, sends []intercom.CallSend) error {
	batch := make([]pendingSend, len(sends))
	for i, cs := range sends {
		batch[i] = pendingSend{cs: cs}
	}
	return db.insertSends(ctx, batch)
}

// Reconnect closes every pooled connection: the next statements run on new
// sessions, which see the database's settings as they are now.
func (db *DB) Reconnect() { db.pool.Reset() }

// OpenTracing is Open, with onQuery called with every statement the pool
// sends (batched or not) and its arguments, before it is sent.
func OpenTracing(ctx context.Context, url string, onQuery func(sql string, args []any)) (*DB, error) {
	return open(ctx, url, tracing{onQuery: onQuery})
}

// OpenCounting is Open, with onSend called, with the caller's context, each
// time the pool is asked for a round trip: a statement outside a batch, or
// a batch.
func OpenCounting(ctx context.Context, url string, onSend func(ctx context.Context)) (*DB, error) {
	return open(ctx, url, tracing{onSend: onSend})
}

// CacheMaxAge is how old a cached session or view may be.
const CacheMaxAge = cacheMaxAge

// SetCacheClock sets the clock cached entries' ages are measured on.
func (db *DB) SetCacheClock(now func() time.Time) {
	db.caches.sessions.Now, db.caches.views.Now = now, now
}

// Hearing reports whether the node hears the other nodes' changes (and so
// caches).
func (db *DB) Hearing() bool { return db.caches.hearing.Load() }

// ChangeListener is the application_name of the node's change listener.
func (db *DB) ChangeListener() string { return "intercomd changes " + db.caches.node }
