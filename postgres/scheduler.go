package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
)

var _ intercom.RingScheduler = (*Scheduler)(nil)

// Scheduler keeps deadlines in the deadlines table, so they outlive the node
// that set them. Every node polls; a due deadline is leased to one node
// (FOR UPDATE SKIP LOCKED) for Lease while it fires, then deleted. A node
// that dies while firing loses the lease and another node fires the deadline
// again: handlers are idempotent (a call times out once, as its state in the
// database says).
type Scheduler struct {
	db    *DB
	clock intercom.Clock
	log   *slog.Logger
	poll  time.Duration

	mu     sync.Mutex
	fire   func(context.Context, intercom.Deadline)
	timer  intercom.Timer
	closed bool
	firing sync.WaitGroup
}

// Lease is how long a node may take to fire a deadline before another node
// may fire it again.
const Lease = 30 * time.Second

// NewScheduler returns a Scheduler on db that looks for due deadlines every
// poll on clock.
func NewScheduler(db *DB, clock intercom.Clock, poll time.Duration, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{db: db, clock: clock, poll: poll, log: log}
}

// Handle sets the function deadlines fire into and starts polling.
func (s *Scheduler) Handle(fire func(context.Context, intercom.Deadline)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fire = fire
	if s.timer == nil && !s.closed {
		s.timer = s.clock.AfterFunc(s.poll, s.tick)
	}
}

func (s *Scheduler) tick() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.firing.Add(1)
	s.mu.Unlock()
	defer s.firing.Done()
	if _, err := s.RunDue(context.Background()); err != nil {
		s.log.Error("scheduler: running due deadlines", "error", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.timer = s.clock.AfterFunc(s.poll, s.tick)
	}
}

// Schedule sets d, replacing a pending deadline of the same kind and id.
func (s *Scheduler) Schedule(ctx context.Context, d intercom.Deadline) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO deadlines (kind, id, due_at) VALUES ($1, $2, $3)
		ON CONFLICT (kind, id) DO UPDATE SET due_at = excluded.due_at`, d.Kind, d.ID, d.At.UTC())
	return wrap(err)
}

// Store is the database the deadlines are kept in.
func (s *Scheduler) Store() intercom.Store { return s.db }

// CreateCall records a call with the devices it concerned and, when it
// rings, sets its ring deadline at ringUntil, in one statement.
func (s *Scheduler) CreateCall(ctx context.Context, c intercom.Call, ringUntil time.Time) (intercom.Call, error) {
	var until *time.Time
	if c.Status == intercom.CallRing {
		until = &ringUntil
	}
	return s.db.createCall(ctx, c, until)
}

// Cancel drops the pending deadline of kind and id.
func (s *Scheduler) Cancel(ctx context.Context, kind string, id int64) error {
	_, err := s.db.pool.Exec(ctx, `DELETE FROM deadlines WHERE kind = $1 AND id = $2`, kind, id)
	return wrap(err)
}

// RunDue fires the deadlines due by the clock's now, each on one node, and
// reports how many this node fired.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	now := s.clock.Now().UTC()
	leaseEnd := now.Add(Lease)
	var due []intercom.Deadline
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT kind, id, due_at FROM deadlines WHERE due_at <= $1
			ORDER BY due_at LIMIT 500 FOR UPDATE SKIP LOCKED`, now)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d intercom.Deadline
			if err := rows.Scan(&d.Kind, &d.ID, &d.At); err != nil {
				return err
			}
			due = append(due, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range due {
			if _, err := tx.Exec(ctx, `UPDATE deadlines SET due_at = $3 WHERE kind = $1 AND id = $2`, d.Kind, d.ID, leaseEnd); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrap(err)
	}
	s.mu.Lock()
	fire := s.fire
	s.mu.Unlock()
	for _, d := range due {
		fire(ctx, d)
		// Gone, unless the handler set it again (its due_at then differs).
		if _, err := s.db.pool.Exec(ctx, `DELETE FROM deadlines WHERE kind = $1 AND id = $2 AND due_at = $3`,
			d.Kind, d.ID, leaseEnd); err != nil {
			s.log.Error("scheduler: clearing a fired deadline", "kind", d.Kind, "id", d.ID, "error", err)
		}
	}
	return len(due), nil
}

// Close stops polling and waits for a poll under way.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.firing.Wait()
}

// KeepSecret stores value under name unless one is stored there, and
// returns the one stored: of nodes asking at once, one value wins.
func (db *DB) KeepSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if _, err := db.pool.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, value); err != nil {
		return nil, wrap(err)
	}
	var stored []byte
	err := db.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&stored)
	return stored, wrap(err)
}

// StoredSecret returns the value stored under name.
func (db *DB) StoredSecret(ctx context.Context, name string) ([]byte, error) {
	var stored []byte
	err := db.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&stored)
	return stored, wrap(err)
}

// ForgetSecret removes the value stored under name.
func (db *DB) ForgetSecret(ctx context.Context, name string) (bool, error) {
	tag, err := db.execFor(ctx, change{}, `DELETE FROM secrets WHERE name = $1`, name)
	return tag.RowsAffected() > 0, err
}
