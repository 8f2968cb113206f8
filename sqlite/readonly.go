package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
)

// SchemaVersions lists the versions of the migrations Open applies, in
// ascending order.
func SchemaVersions() []int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	var out []int
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		if v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0]); err == nil {
			out = append(out, v)
		}
	}
	sort.Ints(out)
	return out
}

// ReadOnly is an existing database opened for reading by a tool such as
// `intercomd copy`: no migration is applied, nothing is written, and no
// intercomd can serve the database while it is open (it holds the lock Open
// takes).
type ReadOnly struct {
	// DB reads the database: its connections are read-only.
	DB   *sql.DB
	lock *os.File // nil when the lock file could not be made: then no intercomd can have it either
}

// OpenReadOnly opens the database file at path for reading. It refuses a
// file that does not exist, and a database an intercomd is serving.
func OpenReadOnly(ctx context.Context, path string) (*ReadOnly, error) {
	if path == "" || strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlite: bad database path %q", path)
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sqlite: database %s does not exist", path)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: database %s: %w", path, err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("sqlite: database %s is a directory", path)
	}
	lock, err := lockForReading(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(10000)")
	if err != nil {
		closeLock(lock)
		return nil, fmt.Errorf("sqlite: database %s: %w", path, err)
	}
	r := &ReadOnly{DB: db, lock: lock}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		r.Close()
		return nil, fmt.Errorf("sqlite: database %s cannot be read: %w", path, err)
	}
	return r, nil
}

// lockForReading takes the lock Open takes, so that no intercomd serves the
// database meanwhile. A lock file that cannot be created (a read-only
// directory) is not needed: intercomd could not create it either.
func lockForReading(path string) (*os.File, error) {
	lockPath := path + ".lock"
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		if lock, err = os.Open(lockPath); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("sqlite: database %s: opening its lock file %s: %s", path, lockPath, cause(err))
		}
	}
	if err := tryLock(lock); errors.Is(err, errLocked) {
		lock.Close()
		return nil, fmt.Errorf("sqlite: database %s is in use by an intercomd (it holds %s): stop it first", path, lockPath)
	} else if err != nil {
		lock.Close()
		return nil, fmt.Errorf("sqlite: database %s: locking %s: %w", path, lockPath, err)
	}
	return lock, nil
}

func closeLock(f *os.File) error {
	if f == nil {
		return nil
	}
	return f.Close()
}

// Applied lists the versions of the migrations applied to the database, in
// ascending order; none for a file that is not an intercomd database.
func (r *ReadOnly) Applied(ctx context.Context) ([]int, error) {
	var n int
	if err := r.DB.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := r.DB.QueryContext(ctx, `SELECT version FROM schema_migrations WHERE version >= 0 ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Close closes the database and releases the lock.
func (r *ReadOnly) Close() error {
	return errors.Join(r.DB.Close(), closeLock(r.lock))
}
