package city

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"intercom/password"
)

// Result is what Load wrote and what the database weighs after it.
type Result struct {
	Engine  string
	Tables  []Loaded
	Elapsed time.Duration // the whole load: rows, indexes, statistics
	Size    int64         // the database's bytes on disk
	Samples []Sample
}

// Loaded is one table after the load: its rows, and the bytes of its data
// and of its indexes.
type Loaded struct {
	Name           string
	Rows           int64
	Data, Indexes  int64
	Elapsed        time.Duration // writing its rows
	IndexesRebuilt time.Duration // building again, after the rows, the indexes dropped before them
}

// rebuild is an index (or a constraint's) dropped before the rows were
// written and made again after them: building an index once from sorted
// rows is far cheaper than inserting into it row by row.
type rebuild struct {
	name, drop, create string
}

// IsPostgres tells whether db names a PostgreSQL database (a URL) rather
// than a SQLite file.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Load generates the city of cfg into db — a postgres:// URL or a SQLite
// file — which it opens through its engine's Open (so every migration is
// applied) and which must hold no data: the rows are written in bulk,
// around the engine's triggers, and the rosters' logs marked skipped (so
// that a cached roster is read whole) as `intercomd copy` does. It reports
// its progress to log.
func Load(ctx context.Context, db string, cfg Config, log io.Writer) (*Result, error) {
	began := time.Now()
	hash, err := password.Hash(Password)
	if err != nil {
		return nil, err
	}
	c, err := New(cfg, hash)
	if err != nil {
		return nil, err
	}
	users, devices := c.users, c.devices
	fmt.Fprintf(log, "city %s: %d flats, %d intercoms, %d accounts, %d devices; %.2g calls per flat a week for %d weeks up to %s\n",
		c.checksum(), len(c.flats), len(c.intercoms), users, devices, c.cfg.CallsPerFlatWeek, c.cfg.Weeks, c.cfg.Now.Format(time.DateOnly))
	res := &Result{Samples: c.Samples(3)}
	if IsPostgres(db) {
		res.Engine = "PostgreSQL"
		err = loadPostgres(ctx, db, c, res, log)
	} else {
		res.Engine = "SQLite"
		err = loadSQLite(ctx, db, c, res, log)
	}
	if err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

// Report writes what a load did: rows, time and bytes per table, the
// database's size, and the sample credentials.
func (r *Result) Report(w io.Writer) {
	fmt.Fprintf(w, "\n%-16s %12s %10s %10s %10s %10s\n", "table", "rows", "write", "indexes", "data", "index size")
	var rows, data, idx int64
	for _, t := range r.Tables {
		fmt.Fprintf(w, "%-16s %12d %10s %10s %10s %10s\n", t.Name, t.Rows, t.Elapsed.Round(100*time.Millisecond),
			t.IndexesRebuilt.Round(100*time.Millisecond), bytesOf(t.Data), bytesOf(t.Indexes))
		rows += t.Rows
		data += t.Data
		idx += t.Indexes
	}
	fmt.Fprintf(w, "%-16s %12d %10s %10s %10s %10s\n", "total", rows, "", "", bytesOf(data), bytesOf(idx))
	fmt.Fprintf(w, "\n%s: %d rows in %s; database %s\n", r.Engine, rows, r.Elapsed.Round(time.Second), bytesOf(r.Size))
	fmt.Fprintf(w, "\nEvery account's password is %q. Samples (login, device, Bearer token, intercom and its secret, flat):\n", Password)
	for _, s := range r.Samples {
		fmt.Fprintf(w, "  %s (user %d)  device %d %s %s  token %s  intercom %d secret %s  flat %d\n",
			s.Login, s.UserID, s.DeviceID, s.Client, s.DeviceUUID, s.Token, s.IntercomID, s.Intercom, s.Flat)
	}
}

func bytesOf(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// progress logs a table's rows as they go, every few seconds.
type progress struct {
	log   io.Writer
	table string
	start time.Time
	next  time.Time
	n     int64
}

func newProgress(log io.Writer, table string) *progress {
	now := time.Now()
	return &progress{log: log, table: table, start: now, next: now.Add(10 * time.Second)}
}

func (p *progress) row() {
	p.n++
	if p.n%65536 == 0 {
		if now := time.Now(); now.After(p.next) {
			p.next = now.Add(10 * time.Second)
			fmt.Fprintf(p.log, "  %s: %d rows, %.0f/s\n", p.table, p.n, float64(p.n)/now.Sub(p.start).Seconds())
		}
	}
}

func (p *progress) done() time.Duration {
	d := time.Since(p.start)
	fmt.Fprintf(p.log, "%s: %d rows in %s (%.0f/s)\n", p.table, p.n, d.Round(100*time.Millisecond), float64(p.n)/max(d.Seconds(), 1e-9))
	return d
}
