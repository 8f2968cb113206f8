package city

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"intercom/sqlite"
)

// sqliteBatch is how many rows one SQLite transaction writes (a multiple
// of sqliteRows), and sqliteRows how many one INSERT does.
const (
	sqliteBatch = 102_400
	sqliteRows  = 64
)

// loadSQLite writes the city with prepared INSERTs in large transactions,
// with foreign keys off and synchronous off (a load that fails leaves a file
// to delete, not one to recover). The indexes created apart from their
// tables are dropped first and built again after the rows; ANALYZE ends it.
// No intercomd may have the file open meanwhile.
func loadSQLite(ctx context.Context, path string, c *City, res *Result, log io.Writer) error {
	db, err := sqlite.Open(ctx, path) // creates or migrates the tables
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(OFF)", "foreign_keys(0)", "cache_size(-262144)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	conn, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)

	tables := c.Tables()
	for _, t := range tables {
		var held bool
		if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.Name+`)`).Scan(&held); err != nil {
			return err
		}
		if held {
			return fmt.Errorf("table %s holds rows: citygen loads only an empty database", t.Name)
		}
	}
	indexes := map[string][]rebuild{}
	for _, t := range tables {
		rows, err := conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`, t.Name)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r rebuild
			if err := rows.Scan(&r.name, &r.create); err != nil {
				rows.Close()
				return err
			}
			r.drop = `DROP INDEX "` + r.name + `"`
			indexes[t.Name] = append(indexes[t.Name], r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range indexes[t.Name] {
			if _, err := conn.ExecContext(ctx, r.drop); err != nil {
				return err
			}
		}
	}

	for _, t := range tables {
		p := newProgress(log, t.Name)
		if err := insertAll(ctx, conn, t, p); err != nil {
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
		l := Loaded{Name: t.Name, Rows: p.n, Elapsed: p.done()}
		start := time.Now()
		for _, r := range indexes[t.Name] {
			if _, err := conn.ExecContext(ctx, r.create); err != nil {
				return fmt.Errorf("building %s again: %w", r.name, err)
			}
		}
		if len(indexes[t.Name]) > 0 {
			l.IndexesRebuilt = time.Since(start)
			fmt.Fprintf(log, "%s: %d indexes built in %s\n", t.Name, len(indexes[t.Name]), l.IndexesRebuilt.Round(100*time.Millisecond))
		}
		res.Tables = append(res.Tables, l)
	}
	start := time.Now()
	if _, err := conn.ExecContext(ctx, `ANALYZE`); err != nil {
		return err
	}
	fmt.Fprintf(log, "ANALYZE in %s\n", time.Since(start).Round(100*time.Millisecond))
	if _, err := conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}

	// dbstat, when SQLite was built with it: the bytes of every table and
	// index; each index counts for its table.
	sizes := map[string][2]int64{}
	rows, err := conn.QueryContext(ctx, `SELECT m.tbl_name, m.type, sum(s.pgsize) FROM dbstat s JOIN sqlite_master m ON m.name = s.name GROUP BY m.tbl_name, m.type`)
	if err == nil {
		for rows.Next() {
			var table, kind string
			var n int64
			if err := rows.Scan(&table, &kind, &n); err != nil {
				rows.Close()
				return err
			}
			s := sizes[table]
			if kind == "index" {
				s[1] += n
			} else {
				s[0] += n
			}
			sizes[table] = s
		}
		rows.Close()
	} else {
		fmt.Fprintf(log, "no sizes per table: %v\n", err)
	}
	for i := range res.Tables {
		s := sizes[res.Tables[i].Name]
		res.Tables[i].Data, res.Tables[i].Indexes = s[0], s[1]
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	res.Size = fi.Size()
	return nil
}

// insertAll writes a table's rows, sqliteRows to a statement and
// sqliteBatch to a transaction, converted to how the sqlite engine stores
// them: times as Unix microseconds, booleans as 0 or 1, lists
// comma-separated.
func insertAll(ctx context.Context, conn *sql.DB, t Table, p *progress) error {
	values := `(?` + strings.Repeat(", ?", len(t.Columns)-1) + `)`
	insert := func(rows int) string {
		return `INSERT INTO ` + t.Name + ` (` + strings.Join(t.Columns, ", ") + `) VALUES ` + values + strings.Repeat(", "+values, rows-1)
	}
	var tx *sql.Tx
	var ins *sql.Stmt
	args := make([]any, 0, sqliteRows*len(t.Columns))
	flush := func(last bool) error {
		if len(args) == 0 {
			return nil
		}
		var err error
		if tx == nil {
			if tx, err = conn.BeginTx(ctx, nil); err != nil {
				return err
			}
			if ins, err = tx.PrepareContext(ctx, insert(sqliteRows)); err != nil {
				return err
			}
		}
		if len(args) == sqliteRows*len(t.Columns) {
			_, err = ins.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insert(len(args)/len(t.Columns)), args...)
		}
		if err != nil {
			return err
		}
		args = args[:0]
		if last || p.n%sqliteBatch == 0 {
			ins.Close()
			err = tx.Commit()
			tx = nil
		}
		return err
	}
	for row := range t.Rows {
		for _, v := range row {
			switch v := v.(type) {
			case time.Time:
				args = append(args, v.UnixMicro())
			case bool:
				n := 0
				if v {
					n = 1
				}
				args = append(args, n)
			case []string:
				args = append(args, strings.Join(v, ","))
			default:
				args = append(args, v)
			}
		}
		p.row()
		if len(args) == cap(args) {
			if err := flush(false); err != nil {
				if tx != nil {
					tx.Rollback()
				}
				return err
			}
		}
	}
	if err := flush(true); err != nil {
		if tx != nil {
			tx.Rollback()
		}
		return err
	}
	return nil
}
