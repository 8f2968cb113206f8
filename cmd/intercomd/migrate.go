package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"intercom"
	"intercom/postgres"
	"intercom/sqlite"
)

const migrateUsage = `usage: intercomd migrate [--dry-run] [--db intercomd.db|postgres://…]

Applies the migrations the database lacks, as serve does when it starts,
and exits: for operators who migrate before they roll nodes onto a new
release. With --dry-run it lists them and changes nothing. Migrations are
forward-only; a database newer than this intercomd is refused.

`

// migrateCommand is `intercomd migrate`.
func migrateCommand(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intercomd migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse's errors are returned, and printed once
	fs.Usage = func() {
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, migrateUsage)
		fs.PrintDefaults()
	}
	db := fs.String("db", dbDefault(env), "SQLite database file, or a postgres:// URL (default $INTERCOMD_DB, else intercomd.db)")
	dryRun := fs.Bool("dry-run", false, "list the migrations that would run, and change nothing")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("migrate: %w (intercomd migrate --help lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected arguments: %v", fs.Args())
	}
	plan, err := schemaPlan(ctx, *db)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(plan.Pending) == 0 {
		fmt.Fprintf(stdout, "migrate: %s is up to date (schema %04d)\n", dbForLog(*db), plan.At)
		return nil
	}
	verb := "applied"
	if *dryRun {
		verb = "would apply"
	}
	if !*dryRun {
		s, err := openStore(ctx, *db)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := s.Close(); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	fmt.Fprintf(stdout, "migrate: %s at schema %04d, this intercomd knows up to %04d; %s:\n", dbForLog(*db), plan.At, plan.Known, verb)
	for _, name := range plan.Pending {
		fmt.Fprintf(stdout, "  %s\n", name)
	}
	return nil
}

// schemaPlan is what migrating the database --db names would do.
func schemaPlan(ctx context.Context, db string) (intercom.SchemaPlan, error) {
	if isPostgres(db) {
		return postgres.Plan(ctx, db)
	}
	return sqlite.Plan(ctx, db)
}
