// Package postgres implements intercom.Store on PostgreSQL with pgx v5 and
// its connection pool. Several intercomd processes may share one database:
// every method is one transaction, races are settled by the database (row
// locks, SELECT … FOR UPDATE, retried serialization failures). Ring rosters
// are cached and checked against the database at each ring (rosters.go), so
// a ring weighs every write committed before it; sessions and intercom
// views, once the node shares its caches, are checked against the changes
// every process sends, which a node hears a notification's delivery after
// the write was answered (cache.go).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"intercom"
)

var _ intercom.Store = (*DB)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a PostgreSQL-backed intercom.Store.
type DB struct {
	pool    *pgxpool.Pool
	rosters rosterCache
	sends   sendBatcher
	// failures remembers the last statement the server refused as one the
	// database cannot take now, or that could not reach it (failureTracer),
	// until a probe (Ping) commits.
	failures *intercom.WriteFailures
	// caches are the sessions and views this node caches, and the feed of
	// this process's changes to the other nodes (cache.go).
	caches     *caches
	stopSender context.CancelFunc
	sender     sync.WaitGroup
}

// Open connects to the database at url (postgres:// or postgresql://, the
// libpq keywords pgx understands; unknown query parameters such as
// search_path are sent as run-time parameters) and applies the migrations
// it has not yet applied. Several processes opening one database at once
// migrate it once.
func Open(ctx context.Context, url string) (*DB, error) { return open(ctx, url, tracing{}) }

// tracing is what tests see of the statements a pool sends: onQuery each
// statement, batched or not, with its arguments; onSend each round trip
// asked for (a statement outside a batch, or a batch; not pgx's own, such
// as preparing a statement its cache misses), with the context it was
// asked with. Either may be nil.
type tracing struct {
	onQuery func(sql string, args []any)
	onSend  func(ctx context.Context)
}

// open is Open, the pool's statements traced by tr.
func open(ctx context.Context, url string, tr tracing) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		// Times come back in UTC, as the SQLite engine returns them.
		conn.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}
	failures := &intercom.WriteFailures{}
	cfg.ConnConfig.Tracer = failureTracer{failures: failures, tracing: tr}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool, failures: failures, caches: newCaches(nil)}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.caches.channel = channelOf(schema)
	var sendCtx context.Context
	sendCtx, db.stopSender = context.WithCancel(context.Background())
	db.sender.Add(1)
	go func() {
		defer db.sender.Done()
		db.sendChanges(sendCtx)
	}()
	return db, nil
}

// Close stops caching, sends the changes not yet sent and closes the
// connection pool. A write after it sends no change.
func (db *DB) Close() error {
	c := db.caches
	c.stopMu.Lock()
	stop := c.stop
	c.stopMu.Unlock()
	if stop != nil {
		stop()
	}
	c.sendMu.Lock()
	c.closed.Store(true)
	c.sendMu.Unlock()
	db.stopSender()
	db.sender.Wait()
	db.pool.Close()
	return nil
}

// migrationLock is the pg_advisory_xact_lock key under which migrations run.
const migrationLock = 0x696e746572636f6d // "intercom"

func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Nodes starting together wait here; the first migrates, the others
		// then find every version applied.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`); err != nil {
			return err
		}
		// A database migrated by a newer intercomd is refused: this one
		// would read and write it wrongly.
		var at int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&at); err != nil {
			return err
		}
		if err := intercom.CheckSchema(at, knownVersion()); err != nil {
			return err
		}
		for _, name := range names {
			base := strings.TrimPrefix(name, "migrations/")
			version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: no version number", name)
			}
			var applied bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`,
				version).Scan(&applied); err != nil {
				return err
			}
			if applied {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			// The simple protocol runs a file of several statements.
			if _, err := tx.Exec(ctx, string(body), pgx.QueryExecModeSimpleProtocol); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())`, version); err != nil {
				return err
			}
		}
		return nil
	})
}

// maxAttempts bounds how often a transaction is retried after a
// serialization failure or a deadlock.
const maxAttempts = 10

// tx runs fn in a transaction and commits it, retrying the whole of it when
// PostgreSQL reports a serialization failure (40001) or a deadlock (40P01):
// fn may run more than once. Every cached entry is stale after it: txFor
// is tx for a write that says what it changed.
func (db *DB) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return db.txFor(ctx, everything, fn)
}

// txFor is tx for a write that may change ch (nothing: change{}). Its
// change is applied and sent, once it has ended, before it returns; also
// when it failed, as a failed COMMIT may have committed.
func (db *DB) txFor(ctx context.Context, ch change, fn func(tx pgx.Tx) error) error {
	err := db.txAudited(ctx, fn)
	db.changed(ctx, ch)
	return err
}

func (db *DB) txAudited(ctx context.Context, fn func(tx pgx.Tx) error) error {
	p, audited := intercom.AuditToWrite(ctx)
	if !audited {
		return db.retry(ctx, func() error { return pgx.BeginFunc(ctx, db.pool, fn) })
	}
	// The admin write's audit entry commits with its first write.
	var id int64
	err := db.retry(ctx, func() error {
		return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			var err error
			id, err = insertAudit(ctx, tx, p.Entry)
			return err
		})
	})
	if err == nil {
		p.Committed(id)
	}
	return err
}

// exec runs one statement, a transaction of its own, retrying it as tx
// does. A statement that changes a device or a token locks the roster
// versions of the account's intercoms (migration 0006) and so may deadlock
// with another writer.
func (db *DB) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return db.execFor(ctx, everything, sql, args...)
}

// execFor is exec for a statement that may change ch (txFor).
func (db *DB) execFor(ctx context.Context, ch change, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := db.execAudited(ctx, sql, args...)
	db.changed(ctx, ch)
	return tag, err
}

func (db *DB) execAudited(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	if p, audited := intercom.AuditToWrite(ctx); audited {
		// As tx, but a statement that changed no row adds no entry.
		var id int64
		err := db.retry(ctx, func() error {
			return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
				var err error
				if tag, err = tx.Exec(ctx, sql, args...); err != nil || tag.RowsAffected() == 0 {
					id = 0
					return err
				}
				id, err = insertAudit(ctx, tx, p.Entry)
				return err
			})
		})
		if err == nil && id != 0 {
			p.Committed(id)
		}
		return tag, err
	}
	err := db.retry(ctx, func() error {
		var err error
		tag, err = db.pool.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// retry runs fn, a whole transaction, again while it fails with a
// serialization failure or a deadlock, up to maxAttempts times.
func (db *DB) retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = fn()
		if !retryable(err) || attempt == maxAttempts {
			return wrap(err)
		}
		// A little back-off, growing with the attempts, lets the winner commit.
		select {
		case <-time.After(time.Duration(attempt) * time.Millisecond):
		case <-ctx.Done():
			return wrap(err)
		}
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// errUnavailable is what every method returns when the database cannot be
// reached.
var errUnavailable = &intercom.Error{Code: intercom.EUNAVAILABLE, Message: "Database unavailable.",
	RetryAfter: intercom.ErrUnwritable.RetryAfter}

// wrap turns driver errors into domain errors where they have a meaning.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var ie *intercom.Error
	if errors.As(err, &ie) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return intercom.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return &intercom.Error{Code: intercom.ECONFLICT, Message: "Already exists."}
		case badText(pe):
			return errBadText
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutting down, cannot connect now
			return errUnavailable
		case unwritable(pe):
			return fmt.Errorf("%w: %w", intercom.ErrUnwritable, err)
		}
		return err
	}
	if unreachable(err) {
		return errUnavailable
	}
	return err
}

// unreachable reports an error of reaching the server rather than of a
// statement: it refused or dropped the connection.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err)
}

// unwritable reports a refusal that says the database cannot take writes
// now, whatever the write: a read-only transaction by the server's or the
// database's default, or a standby (25006 read_only_sql_transaction), or
// insufficient resources (class 53: disk full, out of memory, too many
// connections).
func unwritable(pe *pgconn.PgError) bool {
	return pe.Code == "25006" || strings.HasPrefix(pe.Code, "53")
}

// errBadText is the error for text PostgreSQL cannot store, which SQLite
// can: a NUL character (or bytes that are not UTF-8).
var errBadText = &intercom.Error{Code: intercom.EINVALID, Message: "Text must not contain NUL characters."}

// badText reports text the server refused as not UTF-8, as it refuses NUL.
func badText(pe *pgconn.PgError) bool {
	return pe.Code == "22021" || pe.Code == "22P05" // character_not_in_repertoire, untranslatable_character
}

// fkViolation reports a foreign key violation (23503).
func fkViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// Ping checks that the database answers and takes writes by committing the
// probe: a row of schema_migrations that is no migration (version -1),
// updated. A standby, a read-only default, a full disk refuse it. When it
// commits, the failures recorded before it began are forgotten.
func (db *DB) Ping(ctx context.Context) error {
	mark := db.failures.Mark()
	_, err := db.execFor(ctx, change{}, `INSERT INTO schema_migrations (version, applied_at) VALUES (-1, now())
		ON CONFLICT (version) DO UPDATE SET applied_at = excluded.applied_at`)
	if err != nil {
		if intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
			err = fmt.Errorf("%w: %w", intercom.ErrUnwritable, err)
		}
		return err
	}
	db.failures.Clear(mark)
	return nil
}

// WriteFailure is the last statement the server refused as one the database
// cannot take now, or that could not reach it, until a Ping commits.
func (db *DB) WriteFailure() error { return db.failures.Last() }

// mustAffect turns "no row changed" into ENOTFOUND.
func mustAffect(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return intercom.ErrNotFound
	}
	return nil
}

// list is s, or an empty list for nil: text[] columns are NOT NULL.
func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nilIfEmpty is s, or nil for an empty list, as the SQLite engine returns
// lists.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
