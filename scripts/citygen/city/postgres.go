package city

import (
	"context"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"intercom/postgres"
)

// loadPostgres writes the city with COPY on one session whose
// session_replication_role is replica: no trigger fires, neither the
// rosters' (postgres migrations 0006, 0018), which would log a roster
// change once per row, nor the foreign keys' checks (the rows are made
// consistent). A role that may not set it turns the rosters' triggers off
// only. Indexes no foreign key depends on are dropped first and built
// again after the rows; then the identity sequences move past the ids
// written, every intercom's roster log marked as skipped (as `intercomd
// copy` ends), and VACUUM ANALYZE leaves the tables as autovacuum would.
func loadPostgres(ctx context.Context, url string, c *City, res *Result, log io.Writer) error {
	db, err := postgres.Open(ctx, url) // creates or migrates the tables
	if err != nil {
		return err
	}
	db.Close()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	tables := c.Tables()
	for _, t := range tables {
		var held bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.Name+`)`).Scan(&held); err != nil {
			return err
		}
		if held {
			return fmt.Errorf("table %s holds rows: citygen loads only an empty database", t.Name)
		}
	}
	if _, err := conn.Exec(ctx, `SET maintenance_work_mem = '512MB'`); err != nil {
		return err
	}
	reset := `RESET session_replication_role`
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		reset = `RESET intercomd.rosters_off`
		// Only a superuser may: the rosters' triggers are told to stay quiet
		// instead, as `intercomd copy` does, and the foreign keys are
		// checked.
		fmt.Fprintf(log, "triggers stay on (%v): the roster triggers are turned off, the foreign keys checked\n", err)
		if _, err := conn.Exec(ctx, `SET intercomd.rosters_off = on`); err != nil {
			return err
		}
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	dropped, err := dropIndexes(ctx, conn, names)
	if err != nil {
		return err
	}
	if err := copyPostgres(ctx, conn, tables, reset, dropped, res, log); err != nil {
		return fmt.Errorf("%w (the database is left half-loaded, its indexes dropped: drop it and create it again)", err)
	}
	for i := range res.Tables {
		t := &res.Tables[i]
		if err := conn.QueryRow(ctx, `SELECT pg_table_size($1::regclass), pg_indexes_size($1::regclass)`, t.Name).Scan(&t.Data, &t.Indexes); err != nil {
			return err
		}
	}
	return conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&res.Size)
}

// copyPostgres writes the rows, builds the dropped indexes again, moves the
// sequences, marks the roster logs skipped, and vacuums.
func copyPostgres(ctx context.Context, conn *pgx.Conn, tables []Table, reset string, dropped map[string][]rebuild, res *Result, log io.Writer) error {

	for _, t := range tables {
		p := newProgress(log, t.Name)
		next, stop := iter.Pull(t.Rows)
		n, err := conn.CopyFrom(ctx, pgx.Identifier{t.Name}, t.Columns, pgx.CopyFromFunc(func() ([]any, error) {
			row, ok := next()
			if ok {
				p.row()
			}
			return row, nil
		}))
		stop()
		if err != nil {
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
		res.Tables = append(res.Tables, Loaded{Name: t.Name, Rows: n, Elapsed: p.done()})
	}
	if _, err := conn.Exec(ctx, reset); err != nil {
		return err
	}
	for i, t := range tables {
		start := time.Now()
		for _, d := range dropped[t.Name] {
			if _, err := conn.Exec(ctx, d.create); err != nil {
				return fmt.Errorf("building %s again: %w", d.name, err)
			}
		}
		if len(dropped[t.Name]) > 0 {
			res.Tables[i].IndexesRebuilt = time.Since(start)
			fmt.Fprintf(log, "%s: %d indexes built in %s\n", t.Name, len(dropped[t.Name]), time.Since(start).Round(100*time.Millisecond))
		}
		if t.Identity && res.Tables[i].Rows > 0 {
			if _, err := conn.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT max(id) FROM `+t.Name+`))`, t.Name); err != nil {
				return fmt.Errorf("moving the sequence of %s: %w", t.Name, err)
			}
		}
	}
	if _, err := conn.Exec(ctx, `SELECT roster_skip_log(id) FROM intercoms`); err != nil {
		return fmt.Errorf("marking the roster logs skipped: %w", err)
	}
	start := time.Now()
	vacuum := []string{"roster_pruned"}
	for _, t := range tables {
		vacuum = append(vacuum, t.Name)
	}
	for _, t := range vacuum {
		if _, err := conn.Exec(ctx, `VACUUM ANALYZE `+t); err != nil {
			return fmt.Errorf("VACUUM ANALYZE %s: %w", t, err)
		}
	}
	fmt.Fprintf(log, "VACUUM ANALYZE in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// dropIndexes drops the indexes of tables (and the primary keys and unique
// constraints behind them) that no foreign key depends on, and returns per
// table the statements that make them again.
func dropIndexes(ctx context.Context, conn *pgx.Conn, tables []string) (map[string][]rebuild, error) {
	rows, err := conn.Query(ctx, `SELECT t.relname::text, x.relname::text, pg_get_indexdef(i.indexrelid),
			coalesce(k.conname::text, ''), coalesce(pg_get_constraintdef(k.oid), '')
		FROM pg_index i
		JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_class x ON x.oid = i.indexrelid
		LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.contype IN ('p', 'u')
		WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
		ORDER BY t.relname, x.relname`, tables)
	if err != nil {
		return nil, err
	}
	out := map[string][]rebuild{}
	var all []rebuild
	for rows.Next() {
		var table, index, def, con, condef string
		if err := rows.Scan(&table, &index, &def, &con, &condef); err != nil {
			return nil, err
		}
		r := rebuild{name: index, drop: `DROP INDEX ` + pgx.Identifier{index}.Sanitize(), create: def}
		if con != "" {
			r.drop = `ALTER TABLE ` + pgx.Identifier{table}.Sanitize() + ` DROP CONSTRAINT ` + pgx.Identifier{con}.Sanitize()
			r.create = `ALTER TABLE ` + pgx.Identifier{table}.Sanitize() + ` ADD CONSTRAINT ` + pgx.Identifier{con}.Sanitize() + ` ` + condef
		}
		out[table] = append(out[table], r)
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range all {
		if _, err := conn.Exec(ctx, r.drop); err != nil {
			return nil, fmt.Errorf("%s: %w", r.drop, err)
		}
	}
	return out, nil
}
