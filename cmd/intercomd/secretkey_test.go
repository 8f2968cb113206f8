package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testSecretKey is the --secret-key-file content of every PostgreSQL node
// the tests start: the same on every node, as in production.
const testSecretKey = "test-secret-key-of-at-least-32-bytes-0123456789\n"

// withSecretKey returns env with INTERCOMD_SECRET_KEY_FILE naming a file
// of testSecretKey when the node of args and env is on PostgreSQL and is
// given no key file, as such a node needs one; env itself otherwise.
func withSecretKey(t testing.TB, env map[string]string, args []string) map[string]string {
	t.Helper()
	db := env["INTERCOMD_DB"]
	for i, a := range args {
		if a == "--secret-key-file" || strings.HasPrefix(a, "--secret-key-file=") {
			return env
		}
		if a == "--db" && i+1 < len(args) {
			db = args[i+1]
		} else if v, ok := strings.CutPrefix(a, "--db="); ok {
			db = v
		}
	}
	if !isPostgres(db) || env["INTERCOMD_SECRET_KEY_FILE"] != "" {
		return env
	}
	path := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(path, []byte(testSecretKey), 0o600); err != nil {
		t.Fatal(err)
	}
	out := maps.Clone(env)
	if out == nil {
		out = map[string]string{}
	}
	out["INTERCOMD_SECRET_KEY_FILE"] = path
	return out
}
