package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// migrationFiles lists the migrations Open applies by version, with their
// file names, in order.
func migrationFiles() ([]int, []string) {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	slices.Sort(names)
	var versions []int
	var files []string
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		if v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0]); err == nil {
			versions, files = append(versions, v), append(files, base)
		}
	}
	return versions, files
}

// SchemaVersions lists the versions of the migrations Open applies, in
// ascending order.
func SchemaVersions() []int {
	v, _ := migrationFiles()
	return v
}

// knownVersion is the highest migration this intercomd knows.
func knownVersion() int {
	v := SchemaVersions()
	return v[len(v)-1]
}

// Plan says what Open would migrate in the database at url, without
// changing it. A database newer than this intercomd is an
// *intercom.SchemaError.
func Plan(ctx context.Context, url string) (intercom.SchemaPlan, error) {
	plan := intercom.SchemaPlan{Known: knownVersion()}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return plan, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return plan, fmt.Errorf("postgres: %w", err)
	}
	applied := map[int]bool{}
	if exists {
		rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations WHERE version >= 0`)
		if err != nil {
			return plan, fmt.Errorf("postgres: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return plan, fmt.Errorf("postgres: %w", err)
		}
		for _, v := range versions {
			applied[int(v)] = true
			plan.At = max(plan.At, int(v))
		}
	}
	if err := intercom.CheckSchema(plan.At, plan.Known); err != nil {
		return plan, err
	}
	versions, files := migrationFiles()
	for i, v := range versions {
		if !applied[v] {
			plan.Pending = append(plan.Pending, files[i])
		}
	}
	return plan, nil
}
