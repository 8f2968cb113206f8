// Package copydb moves an installation from its SQLite database to a
// PostgreSQL one (`intercomd copy`): every data table, in foreign-key order,
// in one PostgreSQL transaction, each column converted explicitly from how
// the sqlite engine stores it to how the postgres engine does. Ids are kept
// and the identity sequences moved past every id the source ever gave. Before
// it commits, Copy compares per table the row count and a checksum of the
// logical values computed the same way on both sides; any difference rolls
// everything back.
package copydb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"intercom/postgres"
	"intercom/sqlite"
)

// Table is what Copy did with one table.
type Table struct {
	Name     string
	Rows     int64
	Checksum string // hex SHA-256 of the rows' canonical rendering, the same on both sides
	NextID   int64  // the id the target will give next; 0 for a table without ids
}

// ErrNotEmpty is the error (wrapped) for a target that already holds data.
var ErrNotEmpty = errors.New("the target database is not empty")

// afterTable, when set (by tests), runs in the target's transaction after a
// table was copied and before it is verified.
var afterTable func(ctx context.Context, tx pgx.Tx, table string) error

// Copy copies the SQLite database at from into the PostgreSQL database at to
// and writes a summary to out. The source is opened read-only and must have
// every migration of this intercomd applied; the target is migrated and must
// hold no data. Nothing is written to the target unless every table copied
// and verified.
func Copy(ctx context.Context, from, to string, out io.Writer) ([]Table, error) {
	src, err := sqlite.OpenReadOnly(ctx, from)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if err := checkVersions(ctx, src, from); err != nil {
		return nil, err
	}
	if err := checkSQLiteSchema(ctx, src.DB, from); err != nil {
		return nil, err
	}

	target := redact(to)
	pg, err := postgres.Open(ctx, to) // creates or migrates the tables
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target, err)
	}
	pg.Close()
	cfg, err := pgxpool.ParseConfig(to) // as postgres.Open reads it, pool_* parameters included
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target, err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := checkPostgresSchema(ctx, conn, target); err != nil {
		return nil, err
	}

	var done []Table
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = t.name
		}
		// No node may write the data while it is checked empty and filled.
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		if err := checkEmpty(ctx, tx, target); err != nil {
			return err
		}
		// A node that started on the target kept secrets of its own; the
		// installation's are the source's (the panels' SIP passwords, the
		// sockets' signatures): theirs go.
		if _, err := tx.Exec(ctx, `DELETE FROM secrets`); err != nil {
			return err
		}
		// The rosters' triggers (postgres migration 0006) stay quiet while
		// whole tables arrive; the versions move past the log at the end.
		if _, err := tx.Exec(ctx, `SET LOCAL intercomd.rosters_off = on`); err != nil {
			return err
		}
		// One read transaction: every table from the same snapshot.
		rtx, err := src.DB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return fmt.Errorf("source %s: %w", from, err)
		}
		defer rtx.Rollback()
		for _, t := range tables {
			res, err := copyTable(ctx, rtx, tx, t)
			if err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
			done = append(done, res)
		}
		return rostersCopied(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("copy from %s to %s rolled back, the target is unchanged: %w", from, target, err)
	}
	if err := summary(out, done, from, target); err != nil {
		return done, err
	}
	return done, nil
}

// rostersCopied ends a copy made with the rosters' triggers off: every
// intercom's roster log is marked skipped through this transaction
// (roster_skip_log, as an intercom's deletion does), so that a node that had
// cached a roster of the target (empty, then) reads it whole.
func rostersCopied(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SET LOCAL intercomd.rosters_off = off`); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT roster_skip_log(id) FROM intercoms`)
	return err
}

// checkVersions refuses a source whose migrations are not exactly this
// intercomd's: the column lists are those of its latest schema.
func checkVersions(ctx context.Context, src *sqlite.ReadOnly, path string) error {
	applied, err := src.Applied(ctx)
	if err != nil {
		return fmt.Errorf("source %s: reading its migrations: %w", path, err)
	}
	want := sqlite.SchemaVersions()
	if len(applied) == 0 {
		return fmt.Errorf("source %s is not an intercomd database (it records no migrations)", path)
	}
	var missing, unknown []int
	for _, v := range want {
		if !slices.Contains(applied, v) {
			missing = append(missing, v)
		}
	}
	for _, v := range applied {
		if !slices.Contains(want, v) {
			unknown = append(unknown, v)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("source %s was migrated by a newer intercomd (migrations %v are unknown to this one): copy with that intercomd", path, unknown)
	}
	if len(missing) > 0 {
		return fmt.Errorf("source %s lacks migrations %v of this intercomd, and copy only reads it: start this intercomd once on it (intercomd serve --db %s), stop it, then copy", path, missing, path)
	}
	return nil
}

// checkSQLiteSchema refuses a source whose tables or columns are not those
// Copy knows.
func checkSQLiteSchema(ctx context.Context, db *sql.DB, path string) error {
	have := map[string][]string{}
	rows, err := db.QueryContext(ctx, `SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' ORDER BY m.name, c.cid`)
	if err != nil {
		return fmt.Errorf("source %s: reading its schema: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return fmt.Errorf("source %s: reading its schema: %w", path, err)
		}
		have[t] = append(have[t], c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("source %s: reading its schema: %w", path, err)
	}
	if err := compareSchema(have, notCopiedSQLite); err != nil {
		return fmt.Errorf("source %s: %w", path, err)
	}
	return nil
}

// checkPostgresSchema refuses a target whose tables or columns are not those
// Copy knows.
func checkPostgresSchema(ctx context.Context, conn *pgx.Conn, target string) error {
	have := map[string][]string{}
	rows, err := conn.Query(ctx, `SELECT table_name::text, column_name::text FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		return fmt.Errorf("target %s: reading its schema: %w", target, err)
	}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return fmt.Errorf("target %s: reading its schema: %w", target, err)
		}
		have[t] = append(have[t], c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("target %s: reading its schema: %w", target, err)
	}
	if err := compareSchema(have, notCopied); err != nil {
		return fmt.Errorf("target %s: %w", target, err)
	}
	return nil
}

// compareSchema checks that have (table → columns) holds exactly the data
// tables with their columns, besides the tables in skip.
func compareSchema(have map[string][]string, skip []string) error {
	for _, t := range tables {
		cols, ok := have[t.name]
		if !ok {
			return fmt.Errorf("it has no table %s", t.name)
		}
		var want []string
		for _, c := range t.columns {
			want = append(want, c.name)
		}
		slices.Sort(cols)
		slices.Sort(want)
		if !slices.Equal(cols, want) {
			return fmt.Errorf("table %s has columns %s, where this intercomd copies %s", t.name,
				strings.Join(cols, ", "), strings.Join(want, ", "))
		}
	}
	var extra []string
	for name := range have {
		if !slices.ContainsFunc(tables, func(t table) bool { return t.name == name }) && !slices.Contains(skip, name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("it has tables this intercomd does not know (%s): copy with the intercomd that made them", strings.Join(extra, ", "))
	}
	return nil
}

// checkEmpty refuses a target that holds a row in any data table.
func checkEmpty(ctx context.Context, tx pgx.Tx, target string) error {
	var full []string
	for _, t := range tables {
		if t.name == "secrets" {
			continue // a node that started there made its own: they give way
		}
		var held bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.name+`)`).Scan(&held); err != nil {
			return err
		}
		if held {
			full = append(full, t.name)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: %s holds rows in %s; copy only into a database no intercomd has stored data in",
			ErrNotEmpty, target, strings.Join(full, ", "))
	}
	return nil
}

// copyTable copies one table and verifies it: the count and checksum of what
// was read from SQLite against those read back from PostgreSQL.
func copyTable(ctx context.Context, rtx *sql.Tx, tx pgx.Tx, t table) (Table, error) {
	names := make([]string, len(t.columns))
	for i, c := range t.columns {
		names[i] = c.name
	}
	list := strings.Join(names, ", ")
	var srcCount int64
	if err := rtx.QueryRowContext(ctx, `SELECT count(*) FROM `+t.name).Scan(&srcCount); err != nil {
		return Table{}, fmt.Errorf("source: %w", err)
	}
	rows, err := rtx.QueryContext(ctx, `SELECT `+list+` FROM `+t.name+` ORDER BY `+t.orderSQLite)
	if err != nil {
		return Table{}, fmt.Errorf("source: %w", err)
	}
	defer rows.Close()
	src := &sqliteRows{rows: rows, t: t, sum: newChecksum()}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, names, src)
	if err != nil {
		return Table{}, err
	}
	if src.n != n || src.n != srcCount {
		return Table{}, fmt.Errorf("read %d rows of %d, wrote %d", src.n, srcCount, n)
	}
	if afterTable != nil {
		if err := afterTable(ctx, tx, t.name); err != nil {
			return Table{}, err
		}
	}

	// Verify: everything as PostgreSQL now holds it.
	var dstCount int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+t.name).Scan(&dstCount); err != nil {
		return Table{}, err
	}
	if dstCount != srcCount {
		return Table{}, fmt.Errorf("count mismatch: %d rows in the source, %d in the target", srcCount, dstCount)
	}
	dstSum, err := postgresChecksum(ctx, tx, t, list)
	if err != nil {
		return Table{}, err
	}
	srcSum := src.sum.String()
	if dstSum != srcSum {
		return Table{}, fmt.Errorf("checksum mismatch: %s in the source, %s in the target", srcSum[:12], dstSum[:12])
	}
	res := Table{Name: t.name, Rows: srcCount, Checksum: srcSum}

	if t.identity {
		// Past the highest id the source ever gave, not only the highest it
		// still holds: AUTOINCREMENT remembers deleted ones in sqlite_sequence.
		var seq sql.NullInt64
		err := rtx.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, t.name).Scan(&seq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Table{}, fmt.Errorf("source: %w", err)
		}
		high := max(src.maxID, seq.Int64)
		if high > 0 {
			// setval is not undone by a rollback; a sequence moved by a
			// copy that then failed only skips ids.
			if _, err := tx.Exec(ctx, `SELECT setval(s, greatest($2, coalesce(pg_sequence_last_value(s), 0)))
				FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS s) q`, t.name, high); err != nil {
				return Table{}, err
			}
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(pg_sequence_last_value(s) + 1, 1)
			FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS s) q`, t.name).Scan(&res.NextID); err != nil {
			return Table{}, err
		}
		if res.NextID <= high {
			return Table{}, fmt.Errorf("its sequence would give id %d, which the source gave already", res.NextID)
		}
	}
	return res, nil
}

// sqliteRows feeds CopyFrom with a table's rows read from SQLite, each value
// converted to what the postgres engine stores, and sums them as it goes.
type sqliteRows struct {
	rows  *sql.Rows
	t     table
	sum   *checksum
	cur   []any
	err   error
	n     int64
	maxID int64
}

func (s *sqliteRows) Next() bool {
	if s.err != nil || !s.rows.Next() {
		return false
	}
	raw := make([]any, len(s.t.columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if s.err = s.rows.Scan(ptrs...); s.err != nil {
		return false
	}
	s.cur = make([]any, len(raw))
	for i, c := range s.t.columns {
		v, err := fromSQLite(c.kind, raw[i])
		if err != nil {
			s.err = fmt.Errorf("row %d, column %s: %w", s.n+1, c.name, err)
			return false
		}
		s.cur[i] = v
	}
	if s.t.identity {
		s.maxID = max(s.maxID, s.cur[0].(int64))
	}
	s.sum.add(s.cur)
	s.n++
	return true
}

func (s *sqliteRows) Values() ([]any, error) { return s.cur, nil }

func (s *sqliteRows) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}

// fromSQLite converts a value as the sqlite engine stores a column of kind k
// to the value the postgres engine stores: int64, string, float64, bool,
// time.Time (UTC), []byte, []string, or nil for NULL.
func fromSQLite(k kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kInt:
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case kText:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case kFloat:
		switch f := v.(type) {
		case float64:
			return f, nil
		case int64:
			return float64(f), nil
		}
	case kBool:
		if n, ok := v.(int64); ok && (n == 0 || n == 1) {
			return n == 1, nil
		}
	case kTime:
		if n, ok := v.(int64); ok {
			return time.UnixMicro(n).UTC(), nil
		}
	case kBytes:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
	case kList:
		if s, ok := v.(string); ok {
			if s == "" {
				return []string{}, nil
			}
			return strings.Split(s, ","), nil
		}
	}
	return nil, fmt.Errorf("unexpected value %#v", v)
}

// fromPostgres normalizes a value pgx read from a column of kind k to the
// types fromSQLite gives.
func fromPostgres(k kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kInt:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int32:
			return int64(n), nil
		}
	case kText:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case kFloat:
		if f, ok := v.(float64); ok {
			return f, nil
		}
	case kBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kTime:
		if t, ok := v.(time.Time); ok {
			return t.UTC(), nil
		}
	case kBytes:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
	case kList:
		if items, ok := v.([]any); ok {
			out := make([]string, len(items))
			for i, item := range items {
				s, ok := item.(string)
				if !ok {
					return nil, fmt.Errorf("unexpected list item %#v", item)
				}
				out[i] = s
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("unexpected value %#v", v)
}

// postgresChecksum reads a table back from PostgreSQL in primary-key order
// and sums it as sqliteRows summed the source.
func postgresChecksum(ctx context.Context, tx pgx.Tx, t table, list string) (string, error) {
	rows, err := tx.Query(ctx, `SELECT `+list+` FROM `+t.name+` ORDER BY `+t.orderPostgres)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	sum := newChecksum()
	for rows.Next() {
		raw, err := rows.Values()
		if err != nil {
			return "", err
		}
		row := make([]any, len(raw))
		for i, c := range t.columns {
			if row[i], err = fromPostgres(c.kind, raw[i]); err != nil {
				return "", fmt.Errorf("reading back column %s: %w", c.name, err)
			}
		}
		sum.add(row)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return sum.String(), nil
}

// checksum is SHA-256 over rows rendered canonically: each value as render
// writes it, tab-separated, each row ended by a newline.
type checksum struct{ h hash.Hash }

func newChecksum() *checksum { return &checksum{h: sha256.New()} }

func (c *checksum) add(row []any) {
	var b []byte
	for i, v := range row {
		if i > 0 {
			b = append(b, '\t')
		}
		b = render(b, v)
	}
	c.h.Write(append(b, '\n'))
}

func (c *checksum) String() string { return hex.EncodeToString(c.h.Sum(nil)) }

// render appends the canonical form of a value: NULL bare, text and list
// items quoted (so no value contains a tab or newline, and no text reads as
// NULL), integers in decimal, floats in the shortest form that reads back
// exactly, times in UTC RFC 3339 with nanoseconds, bytes in hex after \x.
func render(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "NULL"...)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case string:
		return strconv.AppendQuote(b, v)
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	case time.Time:
		return v.UTC().AppendFormat(b, time.RFC3339Nano)
	case []byte:
		return hex.AppendEncode(append(b, `\x`...), v)
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, s)
		}
		return append(b, ']')
	}
	panic(fmt.Sprintf("copydb: render %T", v))
}

// summary writes a line per table and a final line.
func summary(out io.Writer, done []Table, from, target string) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "table\trows\tsha256\tnext id")
	var rows int64
	for _, t := range done {
		next := "-"
		if t.NextID > 0 {
			next = strconv.FormatInt(t.NextID, 10)
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", t.Name, t.Rows, t.Checksum[:12], next)
		rows += t.Rows
	}
	if err := w.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "copied %d rows in %d tables from %s to %s: counts and checksums match\n", rows, len(done), from, target)
	return err
}

// redact is a URL without its password.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the PostgreSQL database"
	}
	return p.Redacted()
}
