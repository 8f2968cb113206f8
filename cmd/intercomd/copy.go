package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"intercom/copydb"
)

const copyUsage = `usage: intercomd copy --from intercomd.db --to postgres://user:password@host/dbname

Copies an installation's SQLite database into a PostgreSQL database: every
table, ids kept, in one transaction, verified by a row count and a checksum
per table before it commits. The SQLite file is only read; stop the intercomd
serving it first. The PostgreSQL database must exist; its tables are created
if need be and must hold no data.

`

// copyCommand is `intercomd copy`.
func copyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intercomd copy", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse's errors are returned, and printed once
	fs.Usage = func() {
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, copyUsage)
		fs.PrintDefaults()
	}
	from := fs.String("from", "", "the SQLite database file to copy (read only)")
	to := fs.String("to", "", "the PostgreSQL database to copy into: postgres://… or postgresql://…")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("copy: %w (intercomd copy --help lists the flags)", err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("copy: unexpected arguments: %v", fs.Args())
	case *from == "" || *to == "":
		fs.Usage()
		return errors.New("copy: --from and --to are both required")
	case isPostgres(*from):
		return errors.New("copy: --from is the SQLite file; copying out of PostgreSQL is not supported")
	case !isPostgres(*to):
		return fmt.Errorf("copy: --to must be a postgres:// or postgresql:// URL, not %q", *to)
	}
	if _, err := copydb.Copy(ctx, *from, *to, stdout); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}
