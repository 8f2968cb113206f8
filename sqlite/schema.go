package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"intercom"
)

// knownVersion is the highest migration this intercomd knows.
func knownVersion() int {
	v := SchemaVersions()
	return v[len(v)-1]
}

// Plan says what Open would migrate in the database at path, without
// changing it or taking its lock: an intercomd may be serving it. A file
// that does not exist is a new database, to which every migration applies.
// A database newer than this intercomd is an *intercom.SchemaError.
func Plan(ctx context.Context, path string) (intercom.SchemaPlan, error) {
	plan := intercom.SchemaPlan{Known: knownVersion()}
	if path == "" || strings.Contains(path, "?") {
		return plan, fmt.Errorf("sqlite: bad database path %q", path)
	}
	applied := map[int]bool{}
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return plan, fmt.Errorf("sqlite: database %s is a directory", path)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			return plan, fmt.Errorf("sqlite: database %s: %w", path, err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
			return plan, fmt.Errorf("sqlite: database %s cannot be read: %w", path, err)
		}
		if n > 0 {
			rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations WHERE version >= 0`)
			if err != nil {
				return plan, fmt.Errorf("sqlite: database %s: %w", path, err)
			}
			defer rows.Close()
			for rows.Next() {
				var v int
				if err := rows.Scan(&v); err != nil {
					return plan, err
				}
				applied[v] = true
				plan.At = max(plan.At, v)
			}
			if err := rows.Err(); err != nil {
				return plan, err
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return plan, fmt.Errorf("sqlite: database %s: %w", path, err)
	}
	if err := intercom.CheckSchema(plan.At, plan.Known); err != nil {
		return plan, err
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	slices.Sort(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		if v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0]); err == nil && !applied[v] {
			plan.Pending = append(plan.Pending, base)
		}
	}
	return plan, nil
}
