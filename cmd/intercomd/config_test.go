package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"intercom/natsbus/natstest"
	"intercom/postgres/pgtest"
)

// TestConfigRefused: a configuration with a mistake stops serve before it
// listens, with an error that names the mistake and says what to do, and
// nothing else printed: main prints the error once.
func TestConfigRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
		not  []string // what the error must not show
	}{
		{"misspelled variable", nil, map[string]string{"INTERCOMD_RING_TIMOUT": "45s"},
			[]string{"INTERCOMD_RING_TIMOUT is not a setting of intercomd serve: did you mean INTERCOMD_RING_TIMEOUT? Rename or unset it"}, nil},
		{"misspelled variable, two edits", nil, map[string]string{"INTERCOMD_SIP_SECRT": "x", "INTERCOMD_ADMINTOKEN": "y"},
			[]string{"INTERCOMD_ADMINTOKEN is not a setting of intercomd serve: did you mean INTERCOMD_ADMIN_TOKEN?",
				"INTERCOMD_SIP_SECRT is not a setting of intercomd serve: did you mean INTERCOMD_SIP_SECRET?"}, []string{`"x"`, `"y"`}},
		{"unknown variable", nil, map[string]string{"INTERCOMD_COLOUR": "blue"},
			[]string{"INTERCOMD_COLOUR is not a setting of intercomd serve: unset it (intercomd serve --help lists the flags"}, []string{"did you mean", "blue"}},
		{"short admin token", []string{"--admin-token", "tiny-admin"}, nil,
			[]string{"--admin-token is 10 characters long: it must be at least 32", "openssl rand -base64 32", "or empty to turn the admin API off"}, []string{"tiny-admin"}},
		{"short admin token from the environment", nil, map[string]string{"INTERCOMD_ADMIN_TOKEN": strings.Repeat("a", 31)},
			[]string{"--admin-token is 31 characters long: it must be at least 32"}, []string{strings.Repeat("a", 31)}},
		{"public url without a scheme", []string{"--public-url", "intercom.example.com"}, nil,
			[]string{`--public-url "intercom.example.com" must be an absolute http:// or https:// URL with a host, such as https://intercom.example.com`}, nil},
		{"public url of another scheme", []string{"--public-url", "ftp://intercom.example.com"}, nil,
			[]string{`--public-url "ftp://intercom.example.com" must be an absolute http:// or https:// URL with a host, such as https://intercom.example.com`}, nil},
		{"public url without a host", nil, map[string]string{"INTERCOMD_PUBLIC_URL": "https:///api"},
			[]string{`--public-url "https:///api" must be an absolute http:// or https:// URL with a host`}, nil},
		{"misspelled postgres", []string{"--db", "postgress://intercomd:db-password@db.example/intercomd"}, nil,
			[]string{`--db has the unknown scheme "postgress://": give a SQLite file's path or a postgres:// or postgresql:// URL (did you mean postgres://?)`},
			[]string{"db-password"}},
		{"mysql", []string{"--db", "mysql://intercomd:db-password@db.example/intercomd"}, nil,
			[]string{`--db has the unknown scheme "mysql://": give a SQLite file's path or a postgres:// or postgresql:// URL`},
			[]string{"db-password", "did you mean"}},
		{"postgres without a secret key file", []string{"--db", "postgres://intercomd:db-password@db.example/intercomd"}, nil,
			[]string{"--db postgres://… needs --secret-key-file (or INTERCOMD_SECRET_KEY_FILE), the same file on every node",
				"openssl rand -base64 32 > FILE"}, []string{"db-password"}},
		{"a NATS bus on SQLite", []string{"--bus", "nats://127.0.0.1:4222"}, nil,
			[]string{"--bus names NATS servers but --db is a SQLite file", "--db postgres://"}, nil},
		{"a bus of another scheme", nil, map[string]string{"INTERCOMD_BUS": "redis://u:bus-password@127.0.0.1:6379"},
			[]string{`--bus "redis://u:xxxxx@127.0.0.1:6379": want nats://host:port, several comma-separated`}, []string{"bus-password"}},
		{"a bus without a host", []string{"--bus", "nats://a:4222,nats://"}, nil,
			[]string{`--bus "nats://a:4222,nats://": want nats://host:port`}, nil},
		{"unknown flag", []string{"--ring-timout", "45s"}, nil,
			[]string{"flag provided but not defined: -ring-timout (intercomd serve --help lists the flags)"}, nil},
		{"bad flag value", []string{"--ring-timeout", "soon"}, nil,
			[]string{`invalid value "soon" for flag -ring-timeout: want a duration such as 30s, 2m or 1h30m (intercomd serve --help lists the flags)`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db")}, tt.args...)
			var stdout, stderr strings.Builder
			// Were it accepted, run would stop at once rather than serve.
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := run(ctx, args, tt.env, &stdout, &stderr)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q shows %q", err, n)
				}
			}
			if stdout.Len()+stderr.Len() > 0 {
				t.Errorf("run printed besides its error:\nstdout %q\nstderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

// TestConfigAccepted: what the checks must let through.
func TestConfigAccepted(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"the non-flag variables", nil, map[string]string{
			"INTERCOMD_TOKEN": "listen's", "INTERCOMD_URL": "http://127.0.0.1:8080",
			"INTERCOMD_TEST_POSTGRES": "postgres://127.0.0.1/test", "INTERCOMD_TEST_DB": "sqlite",
			"INTERCOMD_TEST_CHILD_NODE_ARGS": "[]", "INTERCOMD_TEST_ANYTHING_LATER": "1",
			"INTERCOMD_SIP_BENCH": "step", "INTERCOMD_SIP_HELD": "200", "INTERCOMD_SIP_LATENCY": "50",
			"INTERCOM_RING_TIMOUT": "not ours", "PATH": "/usr/bin"}},
		{"every flag's twin", nil, map[string]string{"INTERCOMD_RING_TIMEOUT": "45s", "INTERCOMD_SIP_SECRET_FILE": ""}},
		{"an empty admin token: the admin API off", []string{"--admin-token", ""}, nil},
		{"an admin token of 32 characters", []string{"--admin-token", strings.Repeat("ж", 32)}, nil},
		{"an http public url", []string{"--public-url", "http://127.0.0.1:8080"}, nil},
		{"an https public url with a path", []string{"--public-url", "https://intercom.example.com/api"}, nil},
		{"a sqlite path", []string{"--db", "/var/lib/intercomd/intercomd.db"}, nil},
		{"a relative sqlite path with a colon", []string{"--db", "data:intercomd.db"}, nil},
		{"a postgresql url", []string{"--db", "postgresql:///intercomd?host=/run/postgresql"}, nil},
		{"NATS servers with a postgresql url", []string{"--db", "postgres://127.0.0.1/intercomd", "--bus", "nats://10.0.0.1:4222, nats://10.0.0.2:4222"}, nil},
		{"a NATS server from the environment", []string{"--db", "postgres://127.0.0.1/intercomd"}, map[string]string{"INTERCOMD_BUS": "tls://nats.example:4222"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseConfig(append([]string{"serve"}, tt.args...), withSecretKey(t, tt.env, tt.args), io.Discard); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// secretFlagTests are the secret flags with what each sets, and the other
// flags each needs to be taken.
var secretFlagTests = []struct {
	name  string
	get   func(config) string
	needs []string
}{
	{"admin-token", func(c config) string { return c.adminToken }, nil},
	{"pusher-app-secret", func(c config) string { return c.appSecret }, nil},
	{"sip-secret", func(c config) string { return c.sipSecret }, nil},
	{"sip-api-token", func(c config) string { return c.sipAPIToken }, nil},
	{"turn-secret", func(c config) string { return c.turnSecret }, []string{"--turn-url", "turn:turn.example.com"}},
	{"hms-app-secret", func(c config) string { return c.hms.AppSecret }, nil},
}

// TestSecretFiles: each secret flag reads from --<name>-file or
// INTERCOMD_<NAME>_FILE, its trailing newline dropped; both ways at once,
// an unreadable file and an empty one are refused, naming the flag.
func TestSecretFiles(t *testing.T) {
	var names []string
	for _, s := range secretFlagTests {
		names = append(names, s.name)
	}
	if diff := cmp.Diff(secretFlags, names); diff != "" {
		t.Fatalf("secret flags untested (-secretFlags +tested):\n%s", diff)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, s := range secretFlagTests {
		t.Run(s.name, func(t *testing.T) {
			secret := "  " + s.name + " from a file 0123456789abcdef0123456789"
			file := write(s.name, secret+"\r\n")
			env := envName(s.name + "-file")
			parse := func(args []string, env map[string]string) (config, error) {
				return parseConfig(append(append([]string{"serve"}, s.needs...), args...), env, io.Discard)
			}
			c, err := parse([]string{"--" + s.name + "-file", file}, nil)
			if err != nil || s.get(c) != secret {
				t.Errorf("--%s-file: %q, %v; want %q", s.name, s.get(c), err, secret)
			}
			c, err = parse(nil, map[string]string{env: file})
			if err != nil || s.get(c) != secret {
				t.Errorf("%s: %q, %v; want %q", env, s.get(c), err, secret)
			}
			for _, tt := range []struct {
				name string
				args []string
				env  map[string]string
				want string
			}{
				{"flag and file", []string{"--" + s.name, "given-0123456789abcdef0123456789abcdef", "--" + s.name + "-file", file}, nil,
					"--" + s.name + " (" + envName(s.name) + ") and --" + s.name + "-file (" + env + ") are both set: set one"},
				{"variable and file", []string{"--" + s.name + "-file", file}, map[string]string{envName(s.name): "given-0123456789abcdef0123456789abcdef"},
					"are both set: set one"},
				{"missing file", []string{"--" + s.name + "-file", filepath.Join(dir, "missing")}, nil,
					"--" + s.name + "-file: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
				{"unreadable file", nil, map[string]string{env: dir},
					"--" + s.name + "-file: read " + dir + ": is a directory"},
				{"empty file", []string{"--" + s.name + "-file", write("empty", "\n")}, nil,
					"--" + s.name + "-file " + filepath.Join(dir, "empty") + " is empty: put the " + strings.ReplaceAll(s.name, "-", " ") + " in it"},
			} {
				_, err := parse(tt.args, tt.env)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
				}
			}
		})
	}
}

// TestStartupLog: start-up logs one block saying what is enabled and
// where, and no secret, whether given by flag, variable or file.
func TestStartupLog(t *testing.T) {
	secrets := map[string]string{
		"admin-token": "admin-token-never-logged-0123456789", "pusher-app-secret": "pusher-secret-never-logged",
		"sip-secret": "sip-secret-never-logged", "sip-api-token": "sip-api-token-never-logged",
		"turn-secret": "turn-secret-never-logged", "hms-app-secret": "hms-secret-never-logged",
	}
	dir := t.TempDir()
	sipSecretFile := filepath.Join(dir, "sip-secret")
	if err := os.WriteFile(sipSecretFile, []byte(secrets["sip-secret"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "on.db")
	on := runNode(t, t, "on", map[string]string{
		"INTERCOMD_ADMIN_TOKEN": secrets["admin-token"], "INTERCOMD_SIP_SECRET_FILE": sipSecretFile,
		"INTERCOMD_TURN_SECRET": secrets["turn-secret"]},
		"serve", "--addr", "127.0.0.1:0", "--db", db, "--public-url", "https://intercom.example.com",
		"--pusher-app-secret", secrets["pusher-app-secret"], "--sip-api-token", secrets["sip-api-token"],
		"--turn-url", "turn:turn.example.com:3478,stun:stun.example.com", "--hms-app-id", "123", "--hms-app-secret", secrets["hms-app-secret"])
	logs := on.logs.String()
	addr, _ := startupLine(t, logs, "listening")["addr"].(string)
	for _, want := range []map[string]any{
		{"msg": "listening", "addr": addr, "public_url": "https://intercom.example.com", "db": db},
		{"msg": "engine", "engine": "sqlite", "path": db},
		{"msg": "admin API on", "path": "/api/admin/v1", "addr": addr},
		{"msg": "push providers", "channels": []any{"hms"}},
		{"msg": "SIP API on", "path": "/api/sip/v1", "addr": addr},
		{"msg": "web app on", "path": "/", "addr": addr},
		{"msg": "TURN on", "ice_servers": []any{"turn:turn.example.com:3478", "stun:stun.example.com"}},
	} {
		got := startupLine(t, logs, want["msg"].(string))
		delete(got, "time")
		delete(got, "level")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("start-up line %q (-want +got):\n%s", want["msg"], diff)
		}
	}
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log shows --%s", name)
		}
	}

	off := runNode(t, t, "off", nil, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "off.db"), "--web=false")
	logs = off.logs.String()
	for _, msg := range []string{
		"admin API off: no --admin-token, so /api/admin/v1 answers 404",
		"push providers: none, so phones ring only over their sockets (--apns-key-file, --fcm-credentials, --hms-app-id)",
		"SIP API off: no --sip-api-token, so /api/sip/v1 answers 404",
		"web app off (--web=false)",
		"TURN off: the answers have no ice_servers (--turn-url)",
	} {
		startupLine(t, logs, msg)
	}
}

// startupLine is the JSON log line of logs with msg; the test fails
// without one.
func startupLine(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	for line := range strings.SplitSeq(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	t.Fatalf("no start-up line %q in:\n%s", msg, logs)
	return nil
}

// TestEngineAttrs: the engine line names PostgreSQL's host and database,
// never the password.
func TestEngineAttrs(t *testing.T) {
	for _, tt := range []struct {
		db   string
		want []any
	}{
		{"intercomd.db", []any{"engine", "sqlite", "path", "intercomd.db"}},
		{"postgres://intercomd:pg-password@db.example:5433/building?sslmode=require", []any{"engine", "postgres", "host", "db.example:5433", "database", "building"}},
		{"postgresql:///intercomd?host=/run/postgresql&password=pg-password", []any{"engine", "postgres", "host", "/run/postgresql", "database", "intercomd"}},
	} {
		if diff := cmp.Diff(tt.want, engineAttrs(tt.db)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.db, diff)
		}
	}
}

// TestEditDistance: the suggestions' measure.
func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"ring_timout", "ring_timeout", 1}, {"kitten", "sitting", 3}, {"postgress", "postgres", 1}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if got := closest("INTERCOMD_WEBB", []string{"INTERCOMD_WEB", "INTERCOMD_DB"}, 2); got != "INTERCOMD_WEB" {
		t.Errorf("closest: %q", got)
	}
}

// TestFlagsInREADME: the README's configuration names every flag of serve.
func TestFlagsInREADME(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var c config
	serveFlags(&c, io.Discard).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(string(b), "`--"+f.Name+"`") {
			t.Errorf("the README does not name `--%s`", f.Name)
		}
	})
}

// TestFlagErrorsPrintOnce: a flag error of any command is returned, for main
// to print once, with where to find the flags; the flag package prints
// nothing of it.
func TestFlagErrorsPrintOnce(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--nope"}, "flag provided but not defined: -nope (intercomd serve --help lists the flags)"},
		{[]string{"listen", "--nope"}, "flag provided but not defined: -nope (intercomd listen --help lists the flags)"},
		{[]string{"copy", "--nope"}, "copy: flag provided but not defined: -nope (intercomd copy --help lists the flags)"},
	} {
		var stdout, stderr strings.Builder
		err := run(t.Context(), tt.args, nil, &stdout, &stderr)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
		if strings.Contains(stdout.String()+stderr.String(), "not defined") {
			t.Errorf("%v printed the error besides returning it:\nstdout %q\nstderr %q", tt.args, stdout.String(), stderr.String())
		}
	}
}

// TestStartupLogPostgres: on PostgreSQL the engine line names the host and
// the database, and no line shows the password of --db.
func TestStartupLogPostgres(t *testing.T) {
	u, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	const password = "pg-password-never-logged"
	u.User = url.UserPassword(u.User.Username(), password)
	n := runNode(t, t, "pg", map[string]string{"INTERCOMD_DB": u.String()}, "serve", "--addr", "127.0.0.1:0")
	logs := n.logs.String()
	got := startupLine(t, logs, "engine")
	want := map[string]any{"engine": "postgres", "host": u.Host, "database": strings.TrimPrefix(u.Path, "/")}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("engine line %v: %s is %v, want %v", got, k, got[k], v)
		}
	}
	if strings.Contains(logs, password) {
		t.Errorf("the log shows the database's password:\n%s", logs)
	}
	if got := startupLine(t, logs, "cluster bus"); got["bus"] != "postgres" || got["how"] != "LISTEN/NOTIFY" {
		t.Errorf("cluster bus line %v, want PostgreSQL's LISTEN/NOTIFY", got)
	}

	// On NATS the line names the servers, without their password.
	const natsPassword = "nats-password-never-logged"
	nu, err := url.Parse(natstest.Start(t).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	nu.User = url.UserPassword("intercomd", natsPassword)
	n = runNode(t, t, "pg-nats", map[string]string{"INTERCOMD_DB": u.String(), "INTERCOMD_BUS": nu.String()}, "serve", "--addr", "127.0.0.1:0")
	logs = n.logs.String()
	if got, want := startupLine(t, logs, "cluster bus"), "nats://intercomd:xxxxx@"+nu.Host; got["bus"] != "nats" || got["servers"] != want {
		t.Errorf("cluster bus line %v, want bus nats, servers %s", got, want)
	}
	if got := startupLine(t, logs, "joined the cluster"); got["bus"] != "nats" {
		t.Errorf("joined the cluster line %v, want bus nats", got)
	}
	if strings.Contains(logs, natsPassword) {
		t.Errorf("the log shows the NATS server's password:\n%s", logs)
	}
}

// A NATS bus that cannot be reached stops serve at start, saying which
// servers it tried (without their password).
func TestBusUnreachableAtStart(t *testing.T) {
	db := pgtest.NewDatabase(t)
	srv := natstest.Start(t)
	u, err := url.Parse(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	u.User = url.UserPassword("intercomd", "nats-password-never-shown")
	var stdout, stderr strings.Builder
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--bus", u.String()}
	err = run(t.Context(), args, withSecretKey(t, nil, args), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "natsbus: connecting to nats://intercomd:xxxxx@"+u.Host) {
		t.Fatalf("serve with its NATS server down: %v, want an error naming the server", err)
	}
	if strings.Contains(err.Error()+stdout.String()+stderr.String(), "nats-password-never-shown") {
		t.Error("the NATS server's password is shown")
	}
	if strings.Contains(stdout.String(), "listening on") {
		t.Error("serve listened without its bus")
	}
}
