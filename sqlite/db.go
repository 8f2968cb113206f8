// Package sqlite implements intercom.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go). Writes go through one connection in
// BEGIN IMMEDIATE transactions; reads use a pool of their own. The database
// runs in WAL mode with synchronous=FULL, so a write that was answered is on
// disk.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"intercom"
)

var _ intercom.Store = (*DB)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a SQLite-backed intercom.Store.
type DB struct {
	write      *sql.DB
	writeConn  *sql.Conn // the one connection that writes
	writeStmts *stmts    // prepared on writeConn
	ckpt       *sql.DB   // checkpoints the WAL off the writer's path
	ckptDone   chan struct{}
	jobs       chan *writeJob
	closed     chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	read       *sql.DB
	readStmts  *stmts
	caches     caches
	// Of the batch the writer is committing (write.go): what its writes
	// changed so far, and the views they left.
	pending      change
	pendingViews map[viewKey]intercom.IntercomView
	lock         *os.File // holds the exclusive lock on the database while open
	// failures remembers the last write the database refused as one it
	// cannot take (unwritable) until a probe (Ping) commits.
	failures intercom.WriteFailures
}

// Open opens (creating if needed) the database file at path and applies the
// migrations it has not yet applied. It takes an exclusive lock on the file
// <path>.lock for as long as the database is open, so that a second process
// on the same database (whose caches would go stale) is refused, and it
// refuses a database it cannot write. Its errors name the file and the cause.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlite: bad database path %q", path)
	}
	lock, err := lockDatabase(path)
	if err != nil {
		return nil, err
	}
	dsn := func(extra string) string {
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "busy_timeout(10000)"} {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode() + extra
	}
	// Checkpoints run in the background (checkpointer); the writer checkpoints
	// itself only if the WAL ever grows past 32 MiB.
	write, err := sql.Open("sqlite", dsn("&_txlock=immediate&_pragma=wal_autocheckpoint(8192)"))
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("sqlite: database %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	read, err := sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		write.Close()
		lock.Close()
		return nil, fmt.Errorf("sqlite: database %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	db := &DB{write: write, read: read, readStmts: newStmts(read.PrepareContext), lock: lock,
		pendingViews: map[viewKey]intercom.IntercomView{}}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: database %s: migrate: %w", path, explain(path, err))
	}
	if db.writeConn, err = write.Conn(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: database %s: %w", path, err)
	}
	db.writeStmts = newStmts(db.writeConn.PrepareContext)
	db.jobs, db.closed, db.writerDone = make(chan *writeJob), make(chan struct{}), make(chan struct{})
	go db.writer()
	if db.ckpt, err = sql.Open("sqlite", dsn("")); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: database %s: %w", path, err)
	}
	db.ckpt.SetMaxOpenConns(1)
	db.ckptDone = make(chan struct{})
	go db.checkpointer()
	// Migrations write only when there is one to apply: make sure a database
	// opened read-only is refused now rather than at the first write.
	if err := db.probeWrite(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: database %s cannot be written: %w", path, explain(path, err))
	}
	return db, nil
}

var errLocked = errors.New("locked")

// lockDatabase checks that path's directory exists and that the file, if it
// exists, can be written, then takes the exclusive lock on <path>.lock. A lock
// file of its own, not the database file: closing any descriptor of the
// database would drop SQLite's own POSIX locks on it.
func lockDatabase(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sqlite: database %s: directory %s does not exist", path, dir)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: database %s: %w", path, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("sqlite: database %s: %s is not a directory", path, dir)
	}
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return nil, fmt.Errorf("sqlite: database %s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("sqlite: database %s cannot be written (%s): intercomd needs to write it", path, cause(err))
		}
		f.Close()
	}
	lockPath := path + ".lock"
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sqlite: database %s: cannot create its lock file %s (%s): intercomd needs to write in %s",
			path, lockPath, cause(err), dir)
	}
	if err := tryLock(lock); errors.Is(err, errLocked) {
		lock.Close()
		return nil, fmt.Errorf("sqlite: database %s is in use by another intercomd (it holds %s); only one process may serve a database",
			path, lockPath)
	} else if err != nil {
		lock.Close()
		return nil, fmt.Errorf("sqlite: database %s: locking %s: %w", path, lockPath, err)
	}
	return lock, nil
}

// cause is the bare reason of a file system error: "permission denied",
// "read-only file system".
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// explain adds what SQLite's bare "unable to open database file" or
// "attempt to write a readonly database" leaves out: whether the file and
// its directory can be written.
func explain(path string, err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_IOERR:
	default:
		return err
	}
	dir := filepath.Dir(path)
	if f, ferr := os.OpenFile(path, os.O_RDWR, 0); ferr != nil && !errors.Is(ferr, fs.ErrNotExist) {
		return fmt.Errorf("%w: the file cannot be written (%s)", err, cause(ferr))
	} else if ferr == nil {
		f.Close()
	}
	probe, perr := os.CreateTemp(dir, ".intercomd-probe-*")
	if perr != nil {
		return fmt.Errorf("%w: its directory %s cannot be written (%s), and SQLite keeps its -wal and -shm files there", err, dir, cause(perr))
	}
	probe.Close()
	os.Remove(probe.Name())
	if se.Code()&0xff == sqlite3.SQLITE_READONLY {
		return fmt.Errorf("%w: SQLite opened the database read-only", err)
	}
	return err
}

// probeWrite commits a small write, the probe: a counter in a row of
// schema_migrations that is no migration (version -1, which nothing that
// reads the migrations counts). It fails when the database cannot take
// writes. It goes through the writer as every write does, so its commit is
// the same as theirs.
func (db *DB) probeWrite(ctx context.Context) error {
	return db.uncached(ctx, func(q querier) error {
		_, err := q.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (-1, 0)
			ON CONFLICT (version) DO UPDATE SET applied_at = applied_at + 1`)
		return err
	})
}

// Close closes both connection pools.
func (db *DB) Close() error {
	db.readStmts.close()
	var err error
	if db.writeConn != nil {
		db.closeOnce.Do(func() { close(db.closed) })
		<-db.writerDone
		if db.ckptDone != nil {
			<-db.ckptDone
			err = db.ckpt.Close()
		}
		db.writeStmts.close()
		err = errors.Join(err, db.writeConn.Close())
	}
	err = errors.Join(err, db.read.Close(), db.write.Close())
	if db.lock != nil {
		err = errors.Join(err, db.lock.Close()) // last: the database is closed
	}
	return err
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	// A database migrated by a newer intercomd is refused: this one would
	// read and write it wrongly.
	var at int
	if err := db.write.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&at); err != nil {
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
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := db.applyMigration(ctx, version, name, string(body)); err != nil {
			return err
		}
	}
	return nil
}

// foreignKeysOff marks a migration that rebuilds tables: it runs with
// foreign keys off, as SQLite's procedure for schema changes requires (with
// them on, dropping a table deletes its rows and cascades), and commits only
// if PRAGMA foreign_key_check then finds nothing wrong.
const foreignKeysOff = "-- intercomd: foreign_keys=off\n"

func (db *DB) applyMigration(ctx context.Context, version int, name, body string) (err error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if strings.HasPrefix(body, foreignKeysOff) {
		// PRAGMA foreign_keys is a no-op inside a transaction: set it before.
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return err
		}
		defer func() {
			if _, ferr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); ferr != nil && err == nil {
				err = ferr
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	if strings.HasPrefix(body, foreignKeysOff) {
		rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			return fmt.Errorf("migration %s: foreign key check failed", name)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, micros(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// isNoTx reports the error of a ROLLBACK after SQLite already rolled back.
func isNoTx(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no transaction is active")
}

// reader runs single statements on the read pool, outside a transaction.
func (db *DB) reader(ctx context.Context) querier {
	return querier{ctx: ctx, stmts: db.readStmts}
}

// wrap turns driver errors into domain errors where they have a meaning.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var ie *intercom.Error
	if errors.As(err, &ie) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return intercom.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &intercom.Error{Code: intercom.ECONFLICT, Message: "Already exists."}
		}
		if unwritable(se) {
			return fmt.Errorf("%w: %w", intercom.ErrUnwritable, err)
		}
	}
	return err
}

// unwritable reports an error that says the database cannot take writes
// now, whatever the write: a read-only or immutable file (READONLY, PERM,
// CANTOPEN), a full disk (FULL), a failed read or write of the file (IOERR).
func unwritable(se *sqlite.Error) bool {
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
		return true
	}
	return false
}

// Ping checks that the database answers and takes writes: it reads, then
// commits the probe (probeWrite). When the probe commits, the failures
// recorded before it began are forgotten.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.reader(ctx).QueryRow(`SELECT 1`).Scan(&one); err != nil {
		return &intercom.Error{Code: intercom.EUNAVAILABLE, Message: "Database unavailable.", RetryAfter: intercom.ErrUnwritable.RetryAfter}
	}
	mark := db.failures.Mark()
	if err := db.probeWrite(ctx); err != nil {
		if intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
			err = fmt.Errorf("%w: %w", intercom.ErrUnwritable, err)
		}
		return err
	}
	db.failures.Clear(mark)
	return nil
}

// WriteFailure is the last write the database refused as one it cannot
// take, until a Ping commits.
func (db *DB) WriteFailure() error { return db.failures.Last() }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func nullString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mustAffect turns "no row changed" into ENOTFOUND.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return intercom.ErrNotFound
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// checkpointer copies the WAL into the database every second, PASSIVE: it
// neither waits for nor blocks readers and the writer, so commits do not pay
// for checkpoints.
func (db *DB) checkpointer() {
	defer close(db.ckptDone)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-db.closed:
			return
		case <-tick.C:
			if _, err := db.checkpoint(context.Background()); err != nil && !errors.Is(err, sql.ErrConnDone) {
				continue // busy or closing: the next tick tries again
			}
		}
	}
}

// checkpoint runs one PASSIVE checkpoint and returns how many WAL frames it
// copied.
func (db *DB) checkpoint(ctx context.Context) (int, error) {
	var busy, logFrames, copied int
	err := db.ckpt.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &copied)
	return copied, err
}
