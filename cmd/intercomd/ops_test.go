package main

import (
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"intercom"
	"intercom/sqlite"
)

// startRun runs the server through run() until the test ends and returns
// once it listens.
func startRun(t *testing.T, args ...string) {
	t.Helper()
	startServe(t, nil, append([]string{"--log-level", "error"}, args...)...)
}

// A second intercomd on the same database exits at once, naming the file.
func TestRunRefusesASecondProcessOnTheDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "one.db")
	startRun(t, "--db", db)
	err := run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--db", db}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), db) || !strings.Contains(err.Error(), "in use by another intercomd") {
		t.Fatalf("second run: %v", err)
	}
}

// --demo is refused on a database that holds real data, and nothing is added
// to it; on a new database, or one with only the demo's data, it runs.
func TestDemoRefusesADatabaseInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "real.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(t.Context(), intercom.User{Login: "resident", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	err = run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--db", path, "--demo"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--demo refused") || !strings.Contains(err.Error(), `account "resident"`) {
		t.Fatalf("--demo on a database in use: %v", err)
	}
	db, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.UserByLogin(t.Context(), demoLogin); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Fatalf("the refused demo left its account: %v", err)
	}

	demo, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	if err := checkDemoOnly(t.Context(), demo); err != nil {
		t.Fatalf("a new database: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := provisionDemo(ctx, demo, nil, "http://127.0.0.1:8080", "http://127.0.0.1:9/control", time.Minute, io.Discard); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := checkDemoOnly(t.Context(), demo); err != nil {
		t.Fatalf("a database with only the demo: %v", err)
	}
	if _, err := demo.CreateIntercom(t.Context(), intercom.Intercom{ID: 5, Address: "Gate", SecretHash: []byte("s"), DoorOpenSeconds: 7}); err != nil {
		t.Fatal(err)
	}
	if err := checkDemoOnly(t.Context(), demo); err == nil || !strings.Contains(err.Error(), "intercom 5") {
		t.Fatalf("the demo's database with an intercom added: %v", err)
	}
}

// Each wrong setting is reported by name, with what it should be.
func TestConfigErrorsSayWhatIsWrong(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"env duration", []string{"serve"}, map[string]string{"INTERCOMD_RING_TIMEOUT": "soon"},
			[]string{`INTERCOMD_RING_TIMEOUT="soon"`, "a duration such as 30s"}},
		{"flag duration", []string{"serve", "--token-ttl", "forever"}, nil, []string{"token-ttl", "a duration such as 30s"}},
		{"env number", []string{"serve"}, map[string]string{"INTERCOMD_PUSH_CONCURRENCY": "many"},
			[]string{"INTERCOMD_PUSH_CONCURRENCY", "whole number"}},
		{"each non-positive flag", []string{"serve", "--token-ttl", "0s", "--ring-timeout", "-1s", "--offline-after", "0s", "--control-timeout", "0s"}, nil,
			[]string{"--token-ttl must be positive", "--ring-timeout must be positive", "--offline-after must be positive", "--control-timeout must be positive"}},
		{"one non-positive flag", []string{"serve", "--ring-timeout", "0s"}, nil, []string{"--ring-timeout must be positive, not 0s"}},
		{"log level", []string{"serve", "--log-level", "verbose"}, nil, []string{`--log-level "verbose"`, "debug, info, warn, error"}},
		// The SIP server's API has a credential of its own: the admin token
		// must not open it, nor the SIP secret (which signs the apps' tokens).
		{"sip api token is the admin token", []string{"serve", "--admin-token", "same-token-0123456789abcdefghijklmno", "--sip-api-token", "same-token-0123456789abcdefghijklmno"},
			nil, []string{"--sip-api-token", "--admin-token"}},
		{"sip api token is the sip secret", []string{"serve", "--sip-secret", "same-secret-0123456789", "--sip-api-token", "same-secret-0123456789"},
			nil, []string{"--sip-api-token", "--sip-secret"}},
		// TURN credentials are derived from --turn-secret: one without the
		// other is a mistake.
		{"turn url without secret", []string{"serve", "--turn-url", "stun:turn.example.com,turn:turn.example.com:3478"}, nil,
			[]string{"--turn-url names a TURN server", "--turn-secret is empty"}},
		{"turn secret without url", []string{"serve"}, map[string]string{"INTERCOMD_TURN_SECRET": "turn-secret"},
			[]string{"--turn-secret is set but --turn-url names no TURN server"}},
		{"turn secret with stun alone", []string{"serve", "--turn-url", "stun:stun.example.com:3478", "--turn-secret", "turn-secret"}, nil,
			[]string{"--turn-secret is set but --turn-url names no TURN server"}},
		{"turn url scheme", []string{"serve", "--turn-url", "turn:turn.example.com,https://turn.example.com", "--turn-secret", "s"}, nil,
			[]string{`--turn-url "https://turn.example.com"`, "want turn:, turns:, stun: or stuns:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, tt.env, io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.name == "one non-positive flag" && strings.Contains(err.Error(), "token-ttl") {
				t.Errorf("error %q names a flag that is fine", err)
			}
		})
	}
}

// --help prints the usage on stdout and succeeds; version says which build.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"serve", "-h"}, {"--help"}, {"help"}} {
		var out strings.Builder
		if err := run(t.Context(), args, nil, &out, io.Discard); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "usage: intercomd serve") || !strings.Contains(out.String(), "-ring-timeout") {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
	var out strings.Builder
	if err := run(t.Context(), []string{"version"}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	b := intercom.ReadBuild()
	if !regexp.MustCompile(`^intercomd \S+ \(revision \S+, go[0-9.]+\S*\)\n$`).MatchString(out.String()) ||
		!strings.Contains(out.String(), b.GoVersion) {
		t.Errorf("version printed %q", out.String())
	}
}

// A database the server cannot write stops the start, naming the file.
func TestRunRefusesAnUnwritableDatabase(t *testing.T) {
	err := run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "no", "such", "x.db")},
		nil, io.Discard, io.Discard)
	want := "does not exist"
	if err == nil || !strings.Contains(err.Error(), filepath.Join("no", "such", "x.db")) || !strings.Contains(err.Error(), want) {
		t.Fatalf("run: %v", err)
	}
}
