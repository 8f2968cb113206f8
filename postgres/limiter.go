package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"intercom"
)

var _ intercom.Limiter = (*Limiter)(nil)

// Limiter counts attempts per key in the limiter_hits table, so that every
// node sees every attempt. Each key is serialized by a transaction-level
// advisory lock while it is counted.
type Limiter struct {
	pool   *pgxpool.Pool
	name   string // keeps the keys of different limiters apart
	max    int
	window time.Duration
	now    func() time.Time
}

// NewLimiter returns a Limiter named name allowing max attempts per window.
func NewLimiter(db *DB, name string, max int, window time.Duration, now func() time.Time) *Limiter {
	return &Limiter{pool: db.pool, name: name, max: max, window: window, now: now}
}

// Attempt counts an attempt against every key unless one of them is at its
// limit; then it counts nothing and says how long the longest-blocked key
// still is.
func (l *Limiter) Attempt(ctx context.Context, keys ...string) (time.Time, time.Duration, bool, error) {
	now := l.now().UTC()
	since := now.Add(-l.window)
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = l.name + ":" + k
	}
	slices.Sort(full) // one lock order for every node
	var wait time.Duration
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		wait = 0
		for _, k := range full {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, k); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM limiter_hits WHERE key = $1 AND at <= $2`, k, since); err != nil {
				return err
			}
			var n int
			var oldest *time.Time
			// The oldest of the newest max hits leaves the window first.
			if err := tx.QueryRow(ctx, `SELECT count(*), min(at) FROM (SELECT at FROM limiter_hits
				WHERE key = $1 AND at > $2 ORDER BY at DESC LIMIT $3) h`, k, since, l.max).Scan(&n, &oldest); err != nil {
				return err
			}
			if n >= l.max && oldest != nil {
				wait = max(wait, oldest.Add(l.window).Sub(now))
			}
		}
		if wait > 0 {
			return nil
		}
		for _, k := range full {
			if _, err := tx.Exec(ctx, `INSERT INTO limiter_hits (key, at) VALUES ($1, $2)`, k, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return now, 0, false, wrap(err)
	}
	return now, wait, wait == 0, nil
}

// Refund takes back an attempt counted at instant at against each of keys.
func (l *Limiter) Refund(ctx context.Context, at time.Time, keys ...string) error {
	for _, k := range keys {
		if _, err := l.pool.Exec(ctx, `DELETE FROM limiter_hits WHERE ctid = (SELECT ctid FROM limiter_hits
			WHERE key = $1 AND at = $2 LIMIT 1)`, l.name+":"+k, at.UTC()); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// Reset forgets the attempts of key.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	_, err := l.pool.Exec(ctx, `DELETE FROM limiter_hits WHERE key = $1`, l.name+":"+key)
	return wrap(err)
}
