package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// BackupInfo says what Backup wrote.
type BackupInfo struct {
	Path   string
	Bytes  int64
	Schema int // the highest migration the copy holds
}

// Backup writes a consistent copy of the database at from into the new
// file to, while an intercomd may be serving from (and writing it). It
// takes no lock of intercomd's: it reads from in one read transaction of
// SQLite's own (WAL readers and the writer do not block each other), so
// the copy holds exactly the writes committed when it began — every write
// an intercomd answered before — and none half. It writes with VACUUM INTO
// into a fresh directory beside to, syncs the copy, checks it
// (PRAGMA integrity_check) and only then links it at to, which must not
// exist: a backup never overwrites a file, and a failed one (a full disk)
// leaves nothing behind.
func Backup(ctx context.Context, from, to string) (BackupInfo, error) {
	if from == "" || strings.Contains(from, "?") {
		return BackupInfo{}, fmt.Errorf("sqlite: bad database path %q", from)
	}
	if to == "" || strings.Contains(to, "?") {
		return BackupInfo{}, fmt.Errorf("bad backup path %q", to)
	}
	if st, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
		return BackupInfo{}, fmt.Errorf("database %s does not exist", from)
	} else if err != nil {
		return BackupInfo{}, fmt.Errorf("database %s: %w", from, err)
	} else if st.IsDir() {
		return BackupInfo{}, fmt.Errorf("database %s is a directory", from)
	}
	if err := checkBackupTarget(to); err != nil {
		return BackupInfo{}, err
	}
	src, err := sql.Open("sqlite", "file:"+from+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("database %s: %w", from, err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	var schema int
	if err := src.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&schema); err != nil {
		return BackupInfo{}, fmt.Errorf("database %s is not an intercomd database, or cannot be read: %w", from, err)
	}

	tmp, err := os.MkdirTemp(filepath.Dir(to), ".intercomd-backup-")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup %s: cannot write in %s (%s)", to, filepath.Dir(to), cause(err))
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "backup.db")
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		return BackupInfo{}, fmt.Errorf("backup %s: writing the copy: %w (nothing was left behind)", to, err)
	}
	if err := syncFile(out); err != nil {
		return BackupInfo{}, fmt.Errorf("backup %s: writing the copy: %w (nothing was left behind)", to, err)
	}
	if err := checkIntegrity(ctx, out); err != nil {
		return BackupInfo{}, fmt.Errorf("backup %s: the copy fails its check: %w (nothing was left behind)", to, err)
	}
	// A hard link is made only where no file is: never an overwrite, even
	// of a file made since the check above.
	if err := os.Link(out, to); errors.Is(err, fs.ErrExist) {
		return BackupInfo{}, fmt.Errorf("backup %s already exists: a backup never overwrites a file; choose a new name", to)
	} else if err != nil {
		return BackupInfo{}, fmt.Errorf("backup %s: %w", to, err)
	}
	if d, err := os.Open(filepath.Dir(to)); err == nil {
		d.Sync() // the new name is durable too
		d.Close()
	}
	st, err := os.Stat(to)
	if err != nil {
		return BackupInfo{}, err
	}
	return BackupInfo{Path: to, Bytes: st.Size(), Schema: schema}, nil
}

// checkBackupTarget refuses a target that exists, or whose directory does
// not.
func checkBackupTarget(to string) error {
	if st, err := os.Lstat(to); err == nil {
		if st.IsDir() {
			return fmt.Errorf("backup %s is a directory: --to names the new backup file, such as %s", to,
				filepath.Join(to, "intercomd-backup.db"))
		}
		return fmt.Errorf("backup %s already exists: a backup never overwrites a file; choose a new name", to)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup %s: %s", to, cause(err))
	}
	dir := filepath.Dir(to)
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("backup %s: directory %s: %s", to, dir, cause(err))
	} else if !st.IsDir() {
		return fmt.Errorf("backup %s: %s is not a directory", to, dir)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkIntegrity runs PRAGMA integrity_check on the database file at path.
func checkIntegrity(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity_check: %s", strings.Join(problems, "; "))
	}
	return nil
}
