package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"intercom/sqlite"
)

const backupUsage = `usage: intercomd backup [--db intercomd.db] --to FILE

Writes a consistent copy of a SQLite database into the new file FILE, while
intercomd serves it: every write intercomd answered before the backup began
is in the copy. FILE must not exist (a backup never overwrites) and is
checked (PRAGMA integrity_check) before it appears; a failed backup leaves
nothing behind. To restore, stop intercomd and put the copy in place of the
database file (and delete its -wal and -shm files).

PostgreSQL is backed up with its own tools: pg_dump, or a base backup with
WAL archiving for point-in-time recovery (README: Backups and upgrades).

`

// backupCommand is `intercomd backup`.
func backupCommand(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intercomd backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse's errors are returned, and printed once
	fs.Usage = func() {
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, backupUsage)
		fs.PrintDefaults()
	}
	db := fs.String("db", dbDefault(env), "the SQLite database file to back up (default $INTERCOMD_DB, else intercomd.db)")
	to := fs.String("to", "", "the backup file to create; it must not exist")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("backup: %w (intercomd backup --help lists the flags)", err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("backup: unexpected arguments: %v", fs.Args())
	case *to == "":
		fs.Usage()
		return errors.New("backup: --to is required: the new file to write the backup into")
	case isPostgres(*db):
		return fmt.Errorf("backup: %s is a PostgreSQL database: back it up with pg_dump, or with a base backup and WAL archiving for point-in-time recovery (README: Backups and upgrades)", dbForLog(*db))
	}
	info, err := sqlite.Backup(ctx, *db, *to)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup: wrote %s (%d bytes, schema %04d, integrity ok)\n", info.Path, info.Bytes, info.Schema)
	return nil
}

// dbDefault is the default of --db of the tools (backup, migrate):
// INTERCOMD_DB when set, as serve reads it, else serve's own default.
func dbDefault(env map[string]string) string {
	if v := env["INTERCOMD_DB"]; v != "" {
		return v
	}
	return "intercomd.db"
}
