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
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"intercom/scripts/citygen/city"
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
	res, err := city.Load(ctx, *db, d, stdout)
	if err != nil {
		return err
	}
	res.Report(stdout)
	return nil
}
