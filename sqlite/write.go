package sqlite

import (
	"context"
	"errors"
	"fmt"
)

// Writes are group-committed: one goroutine owns the write connection, takes
// every write waiting for it, runs each in a SAVEPOINT of one BEGIN IMMEDIATE
// transaction and commits them together, so that concurrent writers share
// one fsync. A write is answered only after its COMMIT is on disk; a write
// that fails rolls back to its savepoint and leaves the others alone.

// maxBatch bounds how many writes share one transaction.
const maxBatch = 64

type writeJob struct {
	ctx    context.Context
	fn     func(q querier) error
	done   chan error
	roster bool // may change who a ring reaches: the roster cache is dropped after it
}

var errClosed = errors.New("sqlite: database closed")

// update runs fn as one atomic write and returns once it is durable. Rosters
// cached for rings are dropped after it: a write that cannot change who a ring
// reaches says so with quiet instead.
func (db *DB) update(ctx context.Context, fn func(q querier) error) error {
	return db.write1(ctx, fn, true)
}

// quiet is update for writes that touch no member, device, token or device
// setting (calls, sends, logs, heartbeats, cameras, new intercoms and users).
func (db *DB) quiet(ctx context.Context, fn func(q querier) error) error {
	return db.write1(ctx, fn, false)
}

func (db *DB) write1(ctx context.Context, fn func(q querier) error, roster bool) error {
	if db.jobs == nil { // during Open: migrations run before the writer starts
		return errClosed
	}
	job := &writeJob{ctx: ctx, fn: fn, done: make(chan error, 1), roster: roster}
	select {
	case db.jobs <- job:
	case <-db.closed:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the job may be committing: wait for its outcome whatever
	// happens to ctx.
	return <-job.done
}

func (db *DB) writer() {
	defer close(db.writerDone)
	batch := make([]*writeJob, 0, maxBatch)
	for {
		select {
		case job := <-db.jobs:
			batch = append(batch[:0], job)
		case <-db.closed:
			return
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case job := <-db.jobs:
				batch = append(batch, job)
			default:
				break drain
			}
		}
		db.commit(batch)
	}
}

// commit runs a batch in one transaction and answers every job.
func (db *DB) commit(batch []*writeJob) {
	// Statements run without the jobs' cancellation: an interrupted statement
	// can roll back the whole transaction, and with it the other jobs.
	ctx := context.Background()
	q := querier{ctx: ctx, stmts: db.writeStmts}
	errs := make([]error, len(batch))
	fail := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = wrap(err)
			}
		}
	}
	if _, err := q.Exec(`BEGIN IMMEDIATE`); err != nil {
		fail(err)
	} else {
		for i, job := range batch {
			errs[i] = db.runJob(q, job)
		}
		if _, err := q.Exec(`COMMIT`); err != nil {
			if _, rerr := q.Exec(`ROLLBACK`); rerr != nil && !isNoTx(rerr) {
				err = errors.Join(err, rerr)
			}
			fail(err)
		}
	}
	// After the commit, never before: a reader that cached what it read
	// before this point must find its entry stale.
	for _, job := range batch {
		if job.roster {
			db.rosters.invalidate()
			break
		}
	}
	for i, job := range batch {
		job.done <- errs[i]
	}
}

// runJob runs one job inside a savepoint, undoing exactly its changes when
// it fails.
func (db *DB) runJob(q querier, job *writeJob) error {
	if err := job.ctx.Err(); err != nil {
		return err
	}
	if _, err := q.Exec(`SAVEPOINT job`); err != nil {
		return err
	}
	jq := querier{ctx: context.WithoutCancel(job.ctx), stmts: q.stmts}
	err := runSafely(job.fn, jq)
	if err != nil {
		if _, rerr := q.Exec(`ROLLBACK TO job`); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if _, rerr := q.Exec(`RELEASE job`); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return wrap(err)
}

// runSafely runs fn, turning a panic into an error: the writer goroutine
// serves every write, so one bad write must not stop it.
func runSafely(fn func(querier) error, q querier) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", v)
		}
	}()
	return fn(q)
}
