package postgres

import (
	"context"
	"sync"
	"time"

	"intercom"
)

// A ring at a large house pushes to a thousand devices at once, and each
// push's outcome is stored (RecordSend). One statement and commit each would
// be a thousand round trips competing with the next ring for the database;
// instead the outcomes that arrive while a batch is being written are
// written together by the next, in one statement, and each RecordSend
// returns once its own is committed, as before.

type sendBatcher struct {
	mu      sync.Mutex
	pending []pendingSend
	writing bool // a goroutine is writing batches; it takes what is pending
}

type pendingSend struct {
	cs   intercom.CallSend
	done chan error
}

// sendWriteTimeout bounds the write of one batch, which no request's
// context does.
const sendWriteTimeout = 30 * time.Second

// RecordSend stores the outcome of a push.
func (db *DB) RecordSend(ctx context.Context, cs intercom.CallSend) error {
	done := make(chan error, 1)
	b := &db.sends
	b.mu.Lock()
	b.pending = append(b.pending, pendingSend{cs: cs, done: done})
	if !b.writing {
		b.writing = true
		go db.writeSends()
	}
	b.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeSends writes what is pending, batch after batch, until nothing is.
func (db *DB) writeSends() {
	b := &db.sends
	for {
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		if len(batch) == 0 {
			b.writing = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), sendWriteTimeout)
		if err := db.insertSends(ctx, batch); err == nil {
			for _, p := range batch {
				p.done <- nil
			}
		} else {
			// One bad outcome (its call deleted meanwhile, say) must not
			// fail the others: each is written alone, with its own answer.
			for _, p := range batch {
				ctx, cancel := context.WithTimeout(context.Background(), sendWriteTimeout)
				p.done <- db.insertSends(ctx, []pendingSend{p})
				cancel()
			}
		}
		cancel()
	}
}

// insertSends writes outcomes in one statement; of two for the same push,
// the later wins, as it would one after the other.
func (db *DB) insertSends(ctx context.Context, batch []pendingSend) error {
	type key struct {
		call, device int64
		channel, typ string
	}
	last := make(map[key]int, len(batch))
	for i, p := range batch {
		last[key{p.cs.CallID, p.cs.DeviceID, p.cs.Channel, p.cs.PushType()}] = i
	}
	var (
		calls, devices, statuses []int64
		attempts                 []int32
		channels, types          []string
		outcomes, reasons, ids   []string
		ats                      []time.Time
	)
	for i, p := range batch {
		cs := p.cs
		typ := cs.PushType()
		if last[key{cs.CallID, cs.DeviceID, cs.Channel, typ}] != i {
			continue
		}
		calls, devices, channels, types = append(calls, cs.CallID), append(devices, cs.DeviceID), append(channels, cs.Channel), append(types, typ)
		attempts, outcomes = append(attempts, int32(cs.Attempts)), append(outcomes, cs.Outcome)
		statuses, reasons, ats = append(statuses, int64(cs.Status)), append(reasons, cs.Reason), append(ats, cs.At)
		ids = append(ids, cs.ProviderID)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO call_sends (call_id, device_id, channel, type, attempts, outcome, status, reason, provider_id, at)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::integer[], $8::text[],
			$9::text[], $10::timestamptz[])
		ON CONFLICT (call_id, device_id, channel, type) DO UPDATE SET attempts = excluded.attempts, outcome = excluded.outcome,
			status = excluded.status, reason = excluded.reason, provider_id = excluded.provider_id, at = excluded.at`,
		calls, devices, channels, types, attempts, outcomes, statuses, reasons, ids, ats)
	return wrap(err)
}
