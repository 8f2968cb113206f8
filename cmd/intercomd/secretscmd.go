package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

const secretsUsage = `usage: intercomd secrets forget [--db intercomd.db|postgres://…] FLAG...

Forgets what the database keeps of each secret named by its flag (e.g.
sip-secret): the generated secret and the check every node's secret is held
to. Run it with every node stopped, to change a secret on purpose: the next
start takes the secret it is given, or generates a new one, and nodes given
the old one are then refused. Panels need their new SIP passwords after the
SIP secret changes; sockets subscribe again after the Pusher secret does.

`

// secretsCommand is `intercomd secrets forget`.
func secretsCommand(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "forget" {
		fmt.Fprint(stderr, secretsUsage)
		return errors.New("secrets: the only command is forget")
	}
	fs := flag.NewFlagSet("intercomd secrets forget", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse's errors are returned, and printed once
	fs.Usage = func() {
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, secretsUsage)
		fs.PrintDefaults()
	}
	db := fs.String("db", dbDefault(env), "SQLite database file, or a postgres:// URL (default $INTERCOMD_DB, else intercomd.db)")
	if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("secrets: %w (intercomd secrets --help lists the flags)", err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("secrets forget: name at least one secret's flag: " + strings.Join(secretFlags, ", "))
	}
	for _, name := range fs.Args() {
		if !slices.Contains(secretFlags, strings.TrimPrefix(name, "--")) {
			return fmt.Errorf("secrets forget: %q is not a secret's flag: give one of %s", name, strings.Join(secretFlags, ", "))
		}
	}
	s, err := openStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("secrets forget: %w", err)
	}
	defer s.Close()
	for _, name := range fs.Args() {
		name = strings.TrimPrefix(name, "--")
		forgot := 0
		for _, row := range []string{"secret:" + name, "check:" + name} {
			gone, err := s.ForgetSecret(ctx, row)
			if err != nil {
				return fmt.Errorf("secrets forget --%s: %w", name, err)
			}
			if gone {
				forgot++
			}
		}
		if forgot == 0 {
			fmt.Fprintf(stdout, "secrets: the database kept nothing of --%s\n", name)
			continue
		}
		fmt.Fprintf(stdout, "secrets: forgot --%s: the next start takes the one it is given, or generates one\n", name)
	}
	return nil
}
