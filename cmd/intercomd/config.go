package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"intercom/natsbus"
)

// envName is the environment twin of a flag: --ring-timeout is
// INTERCOMD_RING_TIMEOUT.
func envName(flagName string) string {
	return "INTERCOMD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// environ is os.Environ as run takes it: the last of a name wins, as in
// exec.Cmd's Env.
func environ(kvs []string) map[string]string {
	env := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// nonFlagVariables are the INTERCOMD_* variables that are no flag's twin and
// no mistake either, so serve starts with them set: intercomd listen's token,
// the SIP server's and the browser tests' INTERCOMD_URL (deploy/kamailio,
// e2e/), and the knobs of this repository's tests and benchmarks (any
// INTERCOMD_TEST_*, and the SIP benchmarks' three). Any other INTERCOMD_*
// name serve does not know stops it at start.
var nonFlagVariables = []string{
	"INTERCOMD_TOKEN",
	"INTERCOMD_URL",
	"INTERCOMD_TEST_*",
	"INTERCOMD_SIP_BENCH",
	"INTERCOMD_SIP_HELD",
	"INTERCOMD_SIP_LATENCY",
}

// isNonFlagVariable reports whether name is one of nonFlagVariables.
func isNonFlagVariable(name string) bool {
	return slices.ContainsFunc(nonFlagVariables, func(v string) bool {
		if prefix, ok := strings.CutSuffix(v, "*"); ok {
			return strings.HasPrefix(name, prefix)
		}
		return name == v
	})
}

// checkVariables refuses the INTERCOMD_* variables of env that are neither
// a flag's twin in fs nor one of nonFlagVariables: a misspelled name would
// otherwise be ignored. Each error names the variable and the closest known
// name when one is close.
func checkVariables(fs *flag.FlagSet, env map[string]string) error {
	var known []string
	fs.VisitAll(func(f *flag.Flag) { known = append(known, envName(f.Name)) })
	var names []string
	for k := range env {
		if strings.HasPrefix(k, "INTERCOMD_") && !slices.Contains(known, k) && !isNonFlagVariable(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var errs []error
	for _, k := range names {
		if near := closest(k, known, 2); near != "" {
			errs = append(errs, fmt.Errorf("%s is not a setting of intercomd serve: did you mean %s? Rename or unset it", k, near))
		} else {
			errs = append(errs, fmt.Errorf("%s is not a setting of intercomd serve: unset it (intercomd serve --help lists the flags; each flag's variable is INTERCOMD_ and its name in capitals)", k))
		}
	}
	return errors.Join(errs...)
}

// closest is the one of names nearest to s, if at most maxDistance edits
// away; the first of equals wins.
func closest(s string, names []string, maxDistance int) string {
	best, bestDistance := "", maxDistance+1
	for _, n := range names {
		if d := editDistance(s, n); d < bestDistance {
			best, bestDistance = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// secretFlags are the flags that carry a secret. Each has a --<name>-file
// twin (and INTERCOMD_<NAME>_FILE) that reads it from a file, so that no
// secret need sit on a command line or in the environment.
var secretFlags = []string{"admin-token", "pusher-app-secret", "sip-secret", "sip-api-token", "turn-secret", "hms-app-secret"}

// readSecretFiles sets each secret flag of fs whose --<name>-file is given
// (in files, by flag name; a flag not in files is not fs's) from that file, its trailing newline dropped. A
// secret given both ways, an unreadable file or an empty one is an error
// naming the flag.
func readSecretFiles(fs *flag.FlagSet, files map[string]*string) error {
	var errs []error
	for _, name := range secretFlags {
		file, ok := files[name] // a command may define some of them only
		if !ok || *file == "" {
			continue
		}
		path := *file
		if fs.Lookup(name).Value.String() != "" {
			errs = append(errs, fmt.Errorf("--%s (%s) and --%s-file (%s) are both set: set one", name, envName(name), name, envName(name+"-file")))
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s-file: %w", name, err))
			continue
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			errs = append(errs, fmt.Errorf("--%s-file %s is empty: put the %s in it", name, path, strings.ReplaceAll(name, "-", " ")))
			continue
		}
		fs.Set(name, v)
	}
	return errors.Join(errs...)
}

// minAdminToken is the shortest --admin-token taken.
const minAdminToken = 32

// checkAdminToken refuses an admin token shorter than minAdminToken; an
// empty one turns the admin API off.
func checkAdminToken(token string) error {
	if n := utf8.RuneCountInString(token); n > 0 && n < minAdminToken {
		return fmt.Errorf("--admin-token is %d characters long: it must be at least %d (make one with `openssl rand -base64 32`), or empty to turn the admin API off", n, minAdminToken)
	}
	return nil
}

// checkPublicURL refuses a --public-url that is not an absolute http or
// https URL with a host.
func checkPublicURL(s string) error {
	if s == "" {
		return nil
	}
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		example := "https://intercom.example.com"
		if !strings.Contains(s, "://") {
			example = "https://" + strings.TrimLeft(s, "/")
		}
		return fmt.Errorf("--public-url %q must be an absolute http:// or https:// URL with a host, such as %s", s, example)
	}
	return nil
}

// checkDB refuses a --db that looks like a URL (it has "://") of a scheme
// intercomd does not know, rather than take it for a SQLite file's path.
// The error shows the scheme only: the rest may hold a password.
func checkDB(db string) error {
	scheme, _, ok := strings.Cut(db, "://")
	if !ok || isPostgres(db) {
		return nil
	}
	err := fmt.Sprintf("--db has the unknown scheme %q: give a SQLite file's path or a postgres:// or postgresql:// URL", scheme+"://")
	if near := closest(strings.ToLower(scheme), []string{"postgres", "postgresql"}, 2); near != "" {
		err += fmt.Sprintf(" (did you mean %s://?)", near)
	}
	return errors.New(err)
}

// checkBus refuses a --bus that names anything but NATS servers, and a NATS
// bus without a PostgreSQL database: the nodes of a cluster share one, which
// stays their database of record, scheduler and limiter. The error shows no
// password.
func checkBus(bus, db string) error {
	if bus == "" {
		return nil
	}
	for _, s := range strings.Split(bus, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return fmt.Errorf("--bus %q: want nats://host:port, several comma-separated (tls:// for TLS), or empty for PostgreSQL's LISTEN/NOTIFY", natsbus.Redact(bus))
		}
	}
	if !isPostgres(db) {
		return errors.New("--bus names NATS servers but --db is a SQLite file: a NATS bus joins the nodes of a cluster, which share a PostgreSQL database (--db postgres://…) that stays their database of record, scheduler and limiter")
	}
	return nil
}

// startup is what a node runs with, as its start-up block logs it.
type startup struct {
	addr, publicURL string
	db              string
	bus             string // --bus; on PostgreSQL only
	adminAPI        bool
	adminAddr       string // the admin API's private listener; "": on addr
	metricsAddr     string // /metrics' private listener; "": on addr
	pushChannels    []string
	sipAPI          bool
	web             bool
	iceURLs         []string
	turn            bool
}

// logStartup logs, in one block, what is enabled and where. It never logs a
// secret: the database shows its host and name only.
func logStartup(logger *slog.Logger, s startup) {
	logger.Info("listening", "addr", s.addr, "public_url", s.publicURL, "db", dbForLog(s.db))
	logger.Info("engine", engineAttrs(s.db)...)
	switch {
	case !isPostgres(s.db):
	case s.bus == "":
		logger.Info("cluster bus", "bus", "postgres", "how", "LISTEN/NOTIFY")
	default:
		logger.Info("cluster bus", "bus", "nats", "servers", natsbus.Redact(s.bus))
	}
	switch {
	case s.adminAPI && s.adminAddr != "":
		logger.Info("admin API on", "path", "/api/admin/v1", "addr", s.adminAddr, "private", true)
	case s.adminAPI:
		logger.Info("admin API on", "path", "/api/admin/v1", "addr", s.addr)
	case s.adminAddr != "":
		logger.Info("admin API off: no --admin-token, so /api/admin/v1 answers 404, also on its listener", "addr", s.adminAddr)
	default:
		logger.Info("admin API off: no --admin-token, so /api/admin/v1 answers 404")
	}
	if s.metricsAddr != "" {
		logger.Info("metrics on", "path", "/metrics", "addr", s.metricsAddr, "private", true)
	} else {
		logger.Info("metrics on", "path", "/metrics", "addr", s.addr)
	}
	if len(s.pushChannels) > 0 {
		logger.Info("push providers", "channels", s.pushChannels)
	} else {
		logger.Info("push providers: none, so phones ring only over their sockets (--apns-key-file, --fcm-credentials, --hms-app-id)")
	}
	if s.sipAPI {
		logger.Info("SIP API on", "path", "/api/sip/v1", "addr", s.addr)
	} else {
		logger.Info("SIP API off: no --sip-api-token, so /api/sip/v1 answers 404")
	}
	if s.web {
		logger.Info("web app on", "path", "/", "addr", s.addr)
	} else {
		logger.Info("web app off (--web=false)")
	}
	switch {
	case s.turn:
		logger.Info("TURN on", "ice_servers", s.iceURLs)
	case len(s.iceURLs) > 0:
		logger.Info("TURN off: STUN only", "ice_servers", s.iceURLs)
	default:
		logger.Info("TURN off: the answers have no ice_servers (--turn-url)")
	}
}

// engineAttrs says which engine --db names: a SQLite file's path, or a
// PostgreSQL server's host and database (never its user's password).
func engineAttrs(db string) []any {
	if !isPostgres(db) {
		return []any{"engine", "sqlite", "path", db}
	}
	u, err := url.Parse(db)
	if err != nil {
		return []any{"engine", "postgres"}
	}
	host := u.Host
	if host == "" {
		host = u.Query().Get("host")
	}
	return []any{"engine", "postgres", "host", host, "database", strings.TrimPrefix(u.Path, "/")}
}

// checkSecretKeyFile refuses PostgreSQL without --secret-key-file: the
// nodes seal the intercoms' control keys and the generated secrets under
// the same key, which the database must not hold (a copy of it alone must
// not sign door commands). SQLite keeps its key beside the file
// (besideKeyFile).
func checkSecretKeyFile(db, keyFile string) error {
	if keyFile != "" || !isPostgres(db) {
		return nil
	}
	return errors.New("--db postgres://… needs --secret-key-file (or INTERCOMD_SECRET_KEY_FILE), the same file on every node: " +
		"the intercoms' control keys and the generated secrets are sealed under it so that the database alone signs no door " +
		"command; make one with `openssl rand -base64 32 > FILE`, or, for a database copied from SQLite, give the key file that was beside the SQLite file (its name with .key added)")
}

// keyFile is the key besideKeyFile read, and whether it made it now.
type keyFile struct {
	key []byte
	now bool
}

// besideKeyFile reads the secret key file of the SQLite database db, db +
// ".key", making it (32 random bytes, base64, mode 0600) when there is
// none: written and synced under a temporary name, then linked in place
// (never over another) and the directory synced, so that a crash leaves
// either no key file or a whole one. intercomd backup does not copy it: a
// copy of the database alone signs no door command.
func besideKeyFile(db string) (string, keyFile, error) {
	path := db + ".key"
	b, err := os.ReadFile(path)
	if err == nil {
		return path, keyFile{key: b}, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return path, keyFile{}, fmt.Errorf("the secret key file beside the database: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	b = []byte(base64.StdEncoding.EncodeToString(key) + "\n")
	fail := func(err error) (string, keyFile, error) {
		return path, keyFile{}, fmt.Errorf("making the secret key file %s (or give --secret-key-file): %w", path, err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fail(err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fail(err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fail(err)
	}
	if err := os.Link(f.Name(), path); errors.Is(err, fs.ErrExist) {
		return besideKeyFile(db) // made meanwhile: only one process serves a database, but be exact
	} else if err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		os.Remove(path)
		return fail(err)
	}
	return path, keyFile{key: b, now: true}, nil
}

// syncDir makes the entries of directory dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
