// Command citygen loads a city-sized dataset straight into an empty
// intercomd database, to measure intercomd on it (issue 19): houses of one
// to eight entrances, an intercom per entrance (12 to 28 flats each, ≈20),
// one or two accounts per flat with 1 to 4 devices (≈2), each device with
// its settings for the entrance's intercom and a live session, confirmed
// memberships, and a year of calls (each with its devices, accounts, and
// the last 30 days' push sends, as retention keeps them).
//
//	createdb -h 127.0.0.1 -U postgres city
//	go run ./scripts/citygen -db postgres://postgres@127.0.0.1:5432/city?sslmode=disable
//	go run ./scripts/citygen -db city.db -flats 100000
//
// The database is opened through the engine's Open (every migration
// applied) and must hold no data. It prints the rows, time and bytes of
// every table, the database's size, and a few residents' credentials —
// every account's password is the same (one argon2id hash shared by all,
// since hashing a million would take hours), each device has its own
// Bearer token, each intercom its own secret. The same -seed, -flats,
// -calls and -now make the same rows.
//
// With -measure n it loads nothing: it opens the database as intercomd does
// and runs the store calls of each hot path (city.HotPaths: authenticate,
// login, intercom list and view, settings PATCH, ring decision, history
// page) n times, as -residents residents in turn, and prints p50, p99 and
// max of each:
//
//	go run ./scripts/citygen -db city.db -flats 100000 -measure 5000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"intercom"
	"intercom/postgres"
	"intercom/scripts/citygen/city"
	"intercom/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "citygen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("citygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := city.Defaults
	db := fs.String("db", "", "the database: a postgres:// URL or a SQLite file")
	fs.IntVar(&d.Flats, "flats", d.Flats, "flats in the city")
	fs.Int64Var(&d.Seed, "seed", d.Seed, "the seed every row derives from")
	fs.Float64Var(&d.CallsPerFlatWeek, "calls", d.CallsPerFlatWeek, "calls a flat gets a week, on average")
	fs.IntVar(&d.Weeks, "weeks", d.Weeks, "weeks of call history")
	now := fs.String("now", "", "the end of the history, YYYY-MM-DD (default today)")
	measure := fs.Int("measure", 0, "load nothing: run each hot path's store calls `n` times on the city -db holds (made with the same -flats and -seed) and print their latencies")
	clients := fs.Int("clients", 1, "concurrent clients of -measure")
	residents := fs.Int("residents", 200, "residents -measure acts as, in turn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("want -db and no arguments")
	}
	if *now != "" {
		t, err := time.Parse(time.DateOnly, *now)
		if err != nil {
			return fmt.Errorf("-now: %w", err)
		}
		d.Now = t
	}
	if *measure > 0 {
		return measureHotPaths(ctx, *db, d, *measure, *clients, *residents, stdout)
	}
	res, err := city.Load(ctx, *db, d, stdout)
	if err != nil {
		return err
	}
	res.Report(stdout)
	return nil
}

// measureHotPaths opens db through its engine as intercomd does and
// measures the hot paths' store calls on it.
func measureHotPaths(ctx context.Context, db string, cfg city.Config, n, clients, residents int, stdout io.Writer) error {
	c, err := city.New(cfg, "")
	if err != nil {
		return err
	}
	var st intercom.Store
	if city.IsPostgres(db) {
		pg, err := postgres.Open(ctx, db)
		if err != nil {
			return err
		}
		defer pg.Close()
		st = pg
	} else {
		sq, err := sqlite.Open(ctx, db)
		if err != nil {
			return err
		}
		defer sq.Close()
		st = sq
	}
	started := time.Now()
	ls, err := city.Measure(ctx, st, c.Samples(residents), time.Now(), n, clients)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d flats; %d runs of each hot path by %d clients as %d residents in turn, in %s\n",
		cfg.Flats, n, clients, residents, time.Since(started).Round(time.Second))
	city.ReportLatencies(stdout, ls)
	return nil
}
