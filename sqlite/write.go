package sqlite

import (
	"context"
	"errors"
	"fmt"

	"intercom"
)

// Writes are group-committed: one goroutine owns the write connection, takes
// every write waiting for it, runs each in a SAVEPOINT of one BEGIN IMMEDIATE
// transaction and commits them together, so that concurrent writers share
// one fsync. A write is answered only after its COMMIT is on disk; a write
// that fails rolls back to its savepoint and leaves the others alone.

// maxBatch bounds how many writes share one transaction.
const maxBatch = 64

type writeJob struct {
	ctx  context.Context
	fn   func(q querier, ch *change) error
	done chan error
	ch   change // what fn changed, for the caches (cache.go)

	// audit is the admin write's audit entry this job added (as auditID)
	// in its savepoint; it is the write's once the batch commits.
	audit   *intercom.PendingAudit
	auditID int64
}

var errClosed = errors.New("sqlite: database closed")

// update runs fn as one atomic write and returns once it is durable. It may
// change anything: every cached entry is stale after it. This is the safe
// default for a new write; quiet, scoped and uncached are for writes known to
// change less.
func (db *DB) update(ctx context.Context, fn func(q querier) error) error {
	return db.write1(ctx, func(q querier, ch *change) error {
		ch.all = true
		return fn(q)
	})
}

// scoped is update for a write that says in ch what it changed (users,
// sessions, heartbeats): only the cached entries those concern are stale
// after it.
func (db *DB) scoped(ctx context.Context, fn func(q querier, ch *change) error) error {
	return db.write1(ctx, fn)
}

// quiet is update for writes that touch no member, device, token or device
// setting: nothing a ring weighs. Rosters are kept; every cached session and
// view is dropped, as the write may change an intercom, a camera, a
// favourite.
func (db *DB) quiet(ctx context.Context, fn func(q querier) error) error {
	return db.write1(ctx, func(q querier, ch *change) error {
		ch.allViews = true
		return fn(q)
	})
}

// uncached is update for writes that change no row any cache reads: no
// users, devices, access_tokens, memberships, device_settings, intercoms
// (but their online flag), cameras or camera_favorites row. Calls, sends,
// logs.
func (db *DB) uncached(ctx context.Context, fn func(q querier) error) error {
	return db.write1(ctx, func(q querier, _ *change) error { return fn(q) })
}

func (db *DB) write1(ctx context.Context, fn func(q querier, ch *change) error) error {
	if db.jobs == nil { // during Open: migrations run before the writer starts
		return errClosed
	}
	job := &writeJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.jobs <- job:
	case <-db.closed:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the job may be committing: wait for its outcome whatever
	// happens to ctx.
	err := <-job.done
	db.failures.Record(err)
	return err
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
	db.pending = change{}
	clear(db.pendingViews)
	if _, err := q.Exec(`BEGIN IMMEDIATE`); err != nil {
		fail(err)
	} else {
		var stop error
		for i, job := range batch {
			if stop != nil {
				// SQLite may have rolled the whole transaction back (a full
				// disk, an I/O error): a job run now would commit on its own
				// (a SAVEPOINT outside a transaction begins one, its RELEASE
				// commits it) while the batch is answered as failed.
				errs[i] = stop
				db.settle(&job.ch, false)
				continue
			}
			errs[i] = db.runJob(q, job)
			db.settle(&job.ch, errs[i] == nil)
			if intercom.ErrorCode(errs[i]) == intercom.EUNAVAILABLE {
				stop = errs[i]
			}
		}
		if !db.pending.empty() {
			db.caches.log.Begin(db.pending.logged())
		}
		if _, err := q.Exec(`COMMIT`); err != nil {
			if _, rerr := q.Exec(`ROLLBACK`); rerr != nil && !isNoTx(rerr) {
				err = errors.Join(err, rerr)
			}
			if isNoTx(err) {
				// SQLite rolled the whole transaction back when a job failed
				// (a full disk or an I/O error may): that job's failure is
				// every job's.
				for _, jerr := range errs {
					if intercom.ErrorCode(jerr) == intercom.EUNAVAILABLE {
						err = jerr
						break
					}
				}
			}
			fail(err)
			db.pending.all = true
			clear(db.pendingViews)
		}
	}
	// After the commit, never before: a reader that cached what it read
	// before this point must find its entry stale. And before any job is
	// answered: its caller's next read must see it.
	if !db.pending.empty() {
		db.caches.log.End(db.pending.logged())
		gen := db.caches.log.Now()
		for k, v := range db.pendingViews {
			db.caches.views.Put(&db.caches.log, k, gen, v)
		}
	}
	for i, job := range batch {
		if errs[i] == nil && job.audit != nil {
			job.audit.Committed(job.auditID)
		}
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
	p, audited := intercom.AuditToWrite(job.ctx)
	var before int64
	if audited {
		if err := jq.QueryRow(`SELECT total_changes()`).Scan(&before); err != nil {
			audited = false
		}
	}
	err := runSafely(job.fn, jq, &job.ch)
	if audited && err == nil {
		// The admin write's audit entry commits with its first write that
		// changed a row (as PostgreSQL's single statements: db.exec).
		var after int64
		if err = jq.QueryRow(`SELECT total_changes()`).Scan(&after); err == nil && after > before {
			if job.auditID, err = insertAudit(jq, p.Entry); err == nil {
				job.audit = p
			}
		}
	}
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
func runSafely(fn func(querier, *change) error, q querier, ch *change) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", v)
		}
	}()
	return fn(q, ch)
}

// settle adds what a job of the batch changed to the batch's, whether it
// succeeded or not: views the batch computed that it may concern are
// dropped, and those it left (when it succeeded) are kept.
func (db *DB) settle(ch *change, ok bool) {
	if ch.all || ch.allViews {
		clear(db.pendingViews)
	} else {
		for k := range db.pendingViews {
			if ch.touchesView(k) {
				delete(db.pendingViews, k)
			}
		}
	}
	db.pending.merge(ch)
	if ok {
		for _, f := range ch.views {
			db.pendingViews[f.key] = f.view
		}
	}
}

// viewInTx returns the intercom view of key as the write transaction now
// has it, from what this batch's writes left or from the cache when nothing
// since concerns it, or else from the database. Only writes call it.
func (db *DB) viewInTx(q querier, key viewKey) (intercom.IntercomView, error) {
	if v, ok := db.pendingViews[key]; ok {
		return v, nil
	}
	if !db.pending.touchesView(key) {
		if v, ok := db.caches.views.Get(&db.caches.log, key, func(c *change, _ intercom.IntercomView) bool { return c.touchesView(key) }); ok {
			return v, nil
		}
	}
	return viewOne(q, intercom.Viewer{UserID: key.userID, DeviceID: key.deviceID}, key.intercomID)
}
