// Command intercomd is the intercom back end: `intercomd serve` runs the API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"intercom"
	"intercom/apns"
	"intercom/calls"
	"intercom/control"
	"intercom/fcm"
	"intercom/hms"
	intercomhttp "intercom/http"
	"intercom/members"
	intercomnode "intercom/node"
	"intercom/postgres"
	"intercom/push"
	"intercom/pusher"
	"intercom/retention"
	"intercom/secrets"
	"intercom/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], environ(os.Environ()), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "intercomd:", err)
		os.Exit(1)
	}
}

// config is everything `intercomd serve` is told by flags or INTERCOMD_*.
type config struct {
	addr           string
	db             string
	bus            string // --bus: empty for LISTEN/NOTIFY, else NATS servers' URLs
	publicURL      string
	adminToken     string
	tokenTTL       time.Duration
	offlineAfter   time.Duration
	beatBatch      time.Duration
	demo           bool
	logLevel       string
	realIPHeader   string
	ringTimeout    time.Duration
	connectTimeout time.Duration
	maxDuration    time.Duration
	appKey         string
	appSecret      string
	sipHost        string
	sipWSURL       string
	sipSecret      string
	sipAPIToken    string
	turnURL        string   // --turn-url as given
	iceURLs        []string // --turn-url's URLs, checked
	turnSecret     string
	apns           apns.Config
	fcm            fcm.Config
	hms            hms.Config
	pushWorkers    int
	controlWait    time.Duration
	controlLoop    bool
	web            bool
	pprofAddr      string
	adminAddr      string // the admin API's private listener; empty: on the public one
	metricsAddr    string // /metrics' private listener; empty: on the public one
	pairing        members.PairingConfig
	sessionsLimit  int
	languagesFlag  string   // --languages as given
	languages      []string // --languages, checked
	retention      intercom.Retention
	secretFiles    map[string]*string // --<secret>-file, by the secret flag's name
	secretKeyFile  string
	secretBox      *secrets.Box // seals the secrets the database keeps; from --secret-key-file
}

const usage = `usage: intercomd serve [flags]
       intercomd listen --url URL --token TOKEN --uuid X-UUID   (print a device's events)
       intercomd copy --from intercomd.db --to postgres://…     (move a SQLite installation to PostgreSQL)
       intercomd backup [--db intercomd.db] --to FILE           (a consistent copy of a live SQLite database)
       intercomd migrate [--dry-run] [--db FILE|URL]             (apply, or list, the migrations the database lacks)
       intercomd secrets forget [--db FILE|URL] FLAG...          (let a secret change: every node stopped)
       intercomd push-test --device ID [--db FILE|URL]          (push to a device's tokens; print what the providers answered)
       intercomd version

Every flag can also be set by its environment twin: --token-ttl is
INTERCOMD_TOKEN_TTL, and so on. A flag given on the command line wins. An
INTERCOMD_* variable that is no flag's twin stops serve at start. Each
secret (--admin-token, --pusher-app-secret, --sip-secret, --sip-api-token,
--turn-secret, --hms-app-secret) can be read from a file instead:
--sip-secret-file or INTERCOMD_SIP_SECRET_FILE, and so on.

`

// errHelp is parseConfig's answer to --help: the usage was asked for.
var errHelp = errors.New("help requested")

// durationFlag is a time.Duration flag whose parse error says what it wants.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 30s, 2m or 1h30m")
	}
	*f.d = d
	return nil
}

// intFlag is an int flag whose parse error says what it wants.
type intFlag struct{ n *int }

func (f intFlag) String() string {
	if f.n == nil {
		return ""
	}
	return strconv.Itoa(*f.n)
}

func (f intFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("want a whole number such as 64")
	}
	*f.n = n
	return nil
}

// retentionFlag is a --retain-<history> flag: an age or forever.
type retentionFlag struct {
	r intercom.Retention
	h intercom.History
}

func (f retentionFlag) String() string {
	if f.r == nil {
		return ""
	}
	return f.r[f.h].String()
}

func (f retentionFlag) Set(s string) error {
	a, err := intercom.ParseRetentionAge(s)
	if err != nil {
		return err
	}
	f.r[f.h] = a
	return nil
}

// logLevels are the values of --log-level.
var logLevels = []string{"debug", "info", "warn", "error"}

// serveFlags defines the flags of `intercomd serve` on c, with their defaults.
func serveFlags(c *config, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("intercomd serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {} // run prints it: on stdout for --help
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.db, "db", "intercomd.db", "SQLite database file, or a postgres:// URL (created or migrated on start)")
	fs.StringVar(&c.bus, "bus", "", "the cluster's real-time bus, with a postgres:// --db: empty for PostgreSQL's LISTEN/NOTIFY, or nats://host:port (several comma-separated) for NATS servers")
	fs.StringVar(&c.publicURL, "public-url", "", "URL the API is reached at, for links (default http://<addr>)")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer token of the admin API, at least 32 characters; empty: the admin API answers 404")
	c.tokenTTL = members.DefaultTokenTTL
	fs.Var(durationFlag{&c.tokenTTL}, "token-ttl", "lifetime of an access token")
	c.offlineAfter = calls.DefaultOfflineAfter
	fs.Var(durationFlag{&c.offlineAfter}, "offline-after", "an intercom silent this long is offline")
	c.beatBatch = time.Second
	fs.Var(durationFlag{&c.beatBatch}, "heartbeat-batch", "on PostgreSQL, refreshes of online intercoms arriving within this are written in one transaction (0: each at once); a heartbeat bringing one online is written at once")
	c.ringTimeout = calls.DefaultRingTimeout
	fs.Var(durationFlag{&c.ringTimeout}, "ring-timeout", "a call nobody answered for this long is missed")
	c.connectTimeout = calls.DefaultAnswerConnectTimeout
	fs.Var(durationFlag{&c.connectTimeout}, "answer-connect-timeout", "an answered call whose voice the SIP server has not reported connected this long after the answer is ended")
	c.maxDuration = calls.DefaultMaxCallDuration
	fs.Var(durationFlag{&c.maxDuration}, "max-call-duration", "a conversation is ended this long after its answer")
	fs.StringVar(&c.appKey, "pusher-app-key", "intercomd", "app key of the Pusher WebSocket endpoint")
	fs.StringVar(&c.appSecret, "pusher-app-secret", "", "secret signing private-channel subscriptions (default: generated once and kept in the database)")
	fs.StringVar(&c.sipHost, "sip-host", "", "SIP domain given to answering apps (default: the public URL's host)")
	fs.StringVar(&c.sipWSURL, "sip-ws-url", "", "SIP-over-WebSocket URL given to answering apps (default: wss://<sip-host>/sip)")
	fs.StringVar(&c.sipSecret, "sip-secret", "", "secret signing the SIP tokens (HS256) the SIP server verifies and deriving the panels' SIP passwords (default: generated once and kept in the database)")
	fs.StringVar(&c.sipAPIToken, "sip-api-token", "", "bearer token of the SIP server's API (/api/sip/v1: rings of panels that dial a flat, calls' SIP ends); empty: that API answers 404")
	fs.StringVar(&c.turnURL, "turn-url", "", "comma-separated turn:, turns:, stun: or stuns: URLs given to answering apps (ice_servers) for their WebRTC leg; turn: and turns: need --turn-secret")
	fs.StringVar(&c.turnSecret, "turn-secret", "", "the TURN server's static-auth-secret (coturn use-auth-secret), from which the apps' TURN credentials are derived")
	pushFlags(fs, c)
	c.pushWorkers = push.DefaultConcurrency
	fs.Var(intFlag{&c.pushWorkers}, "push-concurrency", "push sends in flight per provider")
	c.controlWait = 5 * time.Second
	fs.Var(durationFlag{&c.controlWait}, "control-timeout", "how long an intercom's control URL has to answer (door opening: 504 after)")
	fs.BoolVar(&c.controlLoop, "control-allow-loopback", false, "let intercoms' control URLs reach loopback addresses (development and tests only)")
	fs.BoolVar(&c.web, "web", true, "serve the residents' web app at / (false: / answers 404)")
	c.pairing = members.DefaultPairing
	fs.Var(intFlag{&c.pairing.CodeLength}, "pairing-code-length", "digits of a pairing code (POST /api/v1/intercom)")
	fs.Var(durationFlag{&c.pairing.CodeTTL}, "pairing-code-ttl", "lifetime of a pairing code")
	fs.Var(intFlag{&c.pairing.VisitorCodeLength}, "visitor-code-length", "digits of a visitor code")
	fs.Var(intFlag{&c.pairing.MaxVisitorCodes}, "visitor-codes-max", "visitor codes not yet expired an account may hold")
	fs.Var(intFlag{&c.sessionsLimit}, "sessions-limit", "live sessions an account may hold; a login beyond them is refused (419) until the app ends one (0: no limit)")
	fs.StringVar(&c.languagesFlag, "languages", strings.Join(intercom.DefaultLanguages, ","), "comma-separated languages an account may choose (PUT /api/v1/users/self)")
	fs.BoolVar(&c.demo, "demo", false, "provision a demo account, camera 833 and intercom 180, and print a ready curl")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.realIPHeader, "real-ip-header", "", "header in which a trusted reverse proxy names the client's address (X-Forwarded-For, X-Real-IP)")
	c.retention = intercom.DefaultRetention()
	for _, h := range intercom.Histories {
		fs.Var(retentionFlag{c.retention, h.History}, "retain-"+string(h.History),
			"age past which "+h.What+" are purged, in the background (90d, 36h; forever: never)")
	}
	fs.StringVar(&c.adminAddr, "admin-addr", "", "address of a private listener serving the admin API (/api/admin/v1), which the public --addr then answers 404; empty: the admin API is on --addr")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "address of a private listener serving /metrics, which the public --addr then answers 404 (may equal --admin-addr); empty: /metrics is on --addr")
	fs.StringVar(&c.pprofAddr, "pprof-addr", "", "address of a private listener serving /debug/pprof/ (no authentication: loopback or a private network); empty: off")
	fs.StringVar(&c.secretKeyFile, "secret-key-file", "", "file holding the key (at least 32 bytes: `openssl rand -base64 32`) under which the secrets intercomd generates are sealed in the database; every node needs the same; empty: stored unsealed")
	c.secretFiles = map[string]*string{}
	for _, name := range secretFlags {
		c.secretFiles[name] = fs.String(name+"-file", "", "file holding --"+name+" (its trailing newline dropped), instead of the flag")
	}
	return fs
}

// pushFlags defines the push providers' flags on fs (serve's, and
// push-test's).
func pushFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.apns.KeyFile, "apns-key-file", "", "APNs .p8 signing key; set with the key id, team id and topic to ring iOS devices by VoIP push")
	fs.StringVar(&c.apns.KeyID, "apns-key-id", "", "APNs key id")
	fs.StringVar(&c.apns.TeamID, "apns-team-id", "", "Apple developer team id")
	fs.StringVar(&c.apns.Topic, "apns-topic", "", "the iOS app's bundle id (VoIP pushes go to <topic>.voip)")
	fs.StringVar(&c.apns.Endpoint, "apns-endpoint", "", "APNs endpoint (default production; https://api.sandbox.push.apple.com for development builds)")
	fs.StringVar(&c.fcm.CredentialsFile, "fcm-credentials", "", "Firebase service account JSON key; set to ring Android devices by FCM")
	fs.StringVar(&c.fcm.Endpoint, "fcm-endpoint", "", "FCM endpoint (default https://fcm.googleapis.com)")
	fs.StringVar(&c.hms.AppID, "hms-app-id", "", "Huawei AppGallery app id; set with --hms-app-secret to ring Huawei phones by Push Kit")
	fs.StringVar(&c.hms.AppSecret, "hms-app-secret", "", "Huawei AppGallery app secret")
	fs.StringVar(&c.hms.TokenURL, "hms-token-url", "", "Huawei OAuth token URL (default https://oauth-login.cloud.huawei.com/oauth2/v3/token)")
	fs.StringVar(&c.hms.Endpoint, "hms-endpoint", "", "Push Kit endpoint (default https://push-api.cloud.huawei.com)")
}

// printUsage writes the usage with every flag of serve and its default.
func printUsage(w io.Writer) {
	fmt.Fprint(w, usage)
	fmt.Fprintln(w, "Flags of serve:")
	var c config
	serveFlags(&c, w).PrintDefaults()
}

// parseConfig reads serve's configuration from args and env, and checks it.
func parseConfig(args []string, env map[string]string, stderr io.Writer) (config, error) {
	var c config
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprint(stderr, usage)
		return c, errors.New("the commands are serve, listen, copy, backup, migrate, secrets, push-test and version")
	}
	// The flag package would print its error too: the caller prints it once.
	fs := serveFlags(&c, io.Discard)
	if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		return c, errHelp
	} else if err != nil {
		return c, fmt.Errorf("%w (intercomd serve --help lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := checkVariables(fs, env); err != nil {
		return c, err
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v := env[name]; v != "" && !set[f.Name] {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if err := readSecretFiles(fs, c.secretFiles); err != nil {
		return c, err
	}
	if c.secretKeyFile != "" {
		b, err := os.ReadFile(c.secretKeyFile)
		if err != nil {
			return c, fmt.Errorf("--secret-key-file: %w", err)
		}
		if c.secretBox, err = secrets.NewBox(b); err != nil {
			return c, fmt.Errorf("--secret-key-file %s: %w", c.secretKeyFile, err)
		}
	}
	for _, err := range []error{checkAdminToken(c.adminToken), checkPublicURL(c.publicURL), checkDB(c.db),
		checkSecretKeyFile(c.db, c.secretKeyFile), checkBus(c.bus, c.db)} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"token-ttl", c.tokenTTL}, {"offline-after", c.offlineAfter}, {"ring-timeout", c.ringTimeout}, {"control-timeout", c.controlWait},
		{"answer-connect-timeout", c.connectTimeout}, {"max-call-duration", c.maxDuration}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive, not %s", d.name, d.v))
		}
	}
	if c.beatBatch < 0 || c.beatBatch >= c.offlineAfter {
		errs = append(errs, fmt.Errorf("--heartbeat-batch must be at least 0 and shorter than --offline-after, not %s", c.beatBatch))
	}
	if c.pushWorkers < 1 {
		errs = append(errs, fmt.Errorf("--push-concurrency must be at least 1, not %d", c.pushWorkers))
	}
	if c.sessionsLimit < 0 || c.sessionsLimit > 1000 {
		errs = append(errs, fmt.Errorf("--sessions-limit must be from 0 (no limit) to 1000, not %d", c.sessionsLimit))
	}
	c.languages = nil
	for _, l := range strings.Split(c.languagesFlag, ",") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(c.languages, l) {
			c.languages = append(c.languages, l)
		}
	}
	if len(c.languages) == 0 || slices.ContainsFunc(c.languages, func(l string) bool { return len(l) > 16 }) {
		errs = append(errs, fmt.Errorf("--languages must name at least one language (such as en,ru), each at most 16 characters, not %q", c.languagesFlag))
	}
	if c.pairing.CodeTTL <= 0 {
		errs = append(errs, fmt.Errorf("--pairing-code-ttl must be positive, not %s", c.pairing.CodeTTL))
	}
	for _, n := range []struct {
		name   string
		v, min int
		max    int
	}{{"pairing-code-length", c.pairing.CodeLength, 4, 12}, {"visitor-code-length", c.pairing.VisitorCodeLength, 4, 12},
		{"visitor-codes-max", c.pairing.MaxVisitorCodes, 1, 1000}} {
		if n.v < n.min || n.v > n.max {
			errs = append(errs, fmt.Errorf("--%s must be from %d to %d, not %d", n.name, n.min, n.max, n.v))
		}
	}
	// The SIP server's API is reachable with its own credential only.
	if c.sipAPIToken != "" && c.sipAPIToken == c.adminToken {
		errs = append(errs, errors.New("--sip-api-token must differ from --admin-token: the admin token would open the SIP server's API"))
	}
	if c.sipAPIToken != "" && c.sipAPIToken == c.sipSecret {
		errs = append(errs, errors.New("--sip-api-token must differ from --sip-secret, which signs the apps' SIP tokens and derives the panels' passwords"))
	}
	if c.turnURL != "" {
		var err error
		if c.iceURLs, err = parseICEURLs(c.turnURL); err != nil {
			errs = append(errs, err)
		}
	}
	if slices.ContainsFunc(c.iceURLs, calls.IsTURN) && c.turnSecret == "" {
		errs = append(errs, errors.New("--turn-url names a TURN server (turn: or turns:) but --turn-secret is empty: the apps' TURN credentials are derived from it (coturn's static-auth-secret)"))
	}
	if c.turnSecret != "" && !slices.ContainsFunc(c.iceURLs, calls.IsTURN) {
		errs = append(errs, errors.New("--turn-secret is set but --turn-url names no TURN server (turn: or turns:) to use it with"))
	}
	if !slices.Contains(logLevels, strings.ToLower(c.logLevel)) {
		errs = append(errs, fmt.Errorf("--log-level %q: want one of %s", c.logLevel, strings.Join(logLevels, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if c.sipWSURL != "" {
		if u, err := url.Parse(c.sipWSURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return c, errors.New("--sip-ws-url must be an absolute ws:// or wss:// URL")
		}
	}
	if c.appKey == "" || strings.ContainsAny(c.appKey, "/?#: ") {
		return c, errors.New("--pusher-app-key must be a non-empty word")
	}
	return c, nil
}

// parseICEURLs checks --turn-url: comma-separated URLs, each
// turn:|turns:|stun:|stuns: <host>[:<port>], a TURN one with an optional
// ?transport=udp|tcp (RFC 7064, RFC 7065), as browsers take them.
func parseICEURLs(s string) ([]string, error) {
	var urls []string
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if err := checkICEURL(raw); err != nil {
			return nil, fmt.Errorf("--turn-url %q: %w", raw, err)
		}
		urls = append(urls, raw)
	}
	return urls, nil
}

// checkICEURL says what is wrong with one URL of --turn-url, if anything.
func checkICEURL(raw string) error {
	const want = "want turn:, turns:, stun: or stuns: <host>[:<port>], a TURN URL with an optional ?transport=udp or tcp"
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return errors.New(want)
	}
	switch u.Scheme {
	case "turn", "turns", "stun", "stuns":
	default:
		return errors.New(want)
	}
	host := u.Opaque
	if h, port, err := net.SplitHostPort(u.Opaque); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New(want)
		}
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if host == "" || strings.ContainsAny(host, "/@[]% ") || u.Fragment != "" ||
		(strings.Contains(host, ":") && net.ParseIP(host) == nil) {
		return errors.New(want)
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil || !calls.IsTURN(raw) || len(q) != 1 || len(q["transport"]) != 1 ||
			(q.Get("transport") != "udp" && q.Get("transport") != "tcp") {
			return errors.New(want)
		}
	}
	return nil
}

// run is intercomd's whole life: parse the configuration, open the store,
// serve until ctx is done, then drain requests and close. env is the
// process's environment by name (environ(os.Environ()) in main): serve
// reads its INTERCOMD_* variables and refuses those it does not know.
func run(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "listen":
			return listen(ctx, args[1:], env, stdout, stderr)
		case "copy":
			return copyCommand(ctx, args[1:], stdout, stderr)
		case "backup":
			return backupCommand(ctx, args[1:], env, stdout, stderr)
		case "migrate":
			return migrateCommand(ctx, args[1:], env, stdout, stderr)
		case "secrets":
			return secretsCommand(ctx, args[1:], env, stdout, stderr)
		case "push-test":
			return pushTestCommand(ctx, args[1:], env, stdout, stderr)
		case "version":
			b := intercom.ReadBuild()
			fmt.Fprintf(stdout, "intercomd %s (revision %s, %s)\n", b.Version, b.Revision, b.GoVersion)
			return nil
		case "help", "-h", "-help", "--help":
			printUsage(stdout)
			return nil
		}
	}
	c, err := parseConfig(args, env, stderr)
	if errors.Is(err, errHelp) {
		printUsage(stdout)
		return nil
	} else if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	db, err := openStore(ctx, c.db)
	if err != nil {
		return err
	}
	defer db.Close()
	madeKey := "" // the key file this start made beside the database
	if c.secretBox == nil {
		// SQLite without --secret-key-file: the key file beside the database.
		path, made, err := besideKeyFile(c.db)
		if err != nil {
			return err
		}
		if c.secretBox, err = secrets.NewBox(made.key); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if made.now {
			madeKey = path
		}
	}
	if c.pprofAddr != "" {
		stop, err := servePprof(c.pprofAddr, logger)
		if err != nil {
			return fmt.Errorf("--pprof-addr: %w", err)
		}
		defer stop()
	}
	if c.demo {
		if err := checkDemoOnly(ctx, db); err != nil {
			return err
		}
		// The demo intercom's control URL is the demo panel's, on loopback.
		c.controlLoop = true
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	publicURL := c.publicURL
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	// Every start and every node signs with the same secrets: those not
	// configured are the database's own, and each is checked against the
	// ones the database was used with (package secrets).
	appSecret, sipSecret := &secrets.Secret{Flag: "pusher-app-secret", Value: c.appSecret, Generate: true},
		&secrets.Secret{Flag: "sip-secret", Value: c.sipSecret, Generate: true}
	generated, sealedNow, err := settleSecrets(ctx, db, c.secretBox, []*secrets.Secret{appSecret, sipSecret,
		{Flag: "admin-token", Value: c.adminToken}, {Flag: "sip-api-token", Value: c.sipAPIToken},
		{Flag: "turn-secret", Value: c.turnSecret}, {Flag: "hms-app-secret", Value: c.hms.AppSecret}})
	if err != nil {
		ln.Close()
		if madeKey != "" {
			// A key made for a database sealed under another: not its key.
			os.Remove(madeKey)
		}
		return err
	}
	if madeKey != "" {
		logger.Info("made the secret key file beside the database: back it up apart from the database, which cannot sign "+
			"door commands or give the generated secrets without it", "file", madeKey)
	}
	for _, s := range []*secrets.Secret{appSecret, sipSecret} {
		if generated[s.Flag] {
			logger.Info("secret: the database's own", "flag", "--"+s.Flag, "sealed", c.secretBox.Sealed())
		}
	}
	if sealedNow > 0 {
		logger.Info("sealed the control keys of intercoms provisioned before --secret-key-file", "intercoms", sealedNow)
	}
	if sip := *sipSecret; generated[sip.Flag] && c.sipAPIToken != "" {
		logger.Warn("no --sip-secret: the SIP server cannot verify answer tokens unless it is given the same secret")
	}
	providers, err := pushProviders(c)
	if err != nil {
		ln.Close()
		return err
	}
	cfg := intercomnode.Config{
		PushProviders: providers, PushConcurrency: c.pushWorkers, Controller: newController(c),
		Store: db, Logger: logger, PublicURL: publicURL, AdminToken: c.adminToken,
		TokenTTL: c.tokenTTL, OfflineAfter: c.offlineAfter, RealIPHeader: c.realIPHeader, RingTimeout: c.ringTimeout,
		AnswerConnectTimeout: c.connectTimeout, MaxCallDuration: c.maxDuration,
		Hub:     pusher.New(c.appKey, appSecret.Value, logger),
		SIPHost: c.sipHost, SIPWSURL: c.sipWSURL, SIPSecret: []byte(sipSecret.Value), Pairing: c.pairing, SIPAPIToken: c.sipAPIToken,
		ICEURLs: c.iceURLs, TURNSecret: []byte(c.turnSecret),
		SessionsLimit: c.sessionsLimit, Languages: c.languages,
		PrivateAdmin: c.adminAddr != "", PrivateMetrics: c.metricsAddr != "", SecretBox: c.secretBox,
	}
	if c.web {
		app, err := web.New(web.Config{SIPWSURL: cfg.SIP().WSAddress()})
		if err != nil {
			ln.Close()
			return err
		}
		cfg.Web = app
	}
	if pg, ok := db.(*postgres.DB); ok {
		cluster, stop, err := joinCluster(ctx, pg, c.bus, cfg.Hub, logger)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
		cfg.Cluster, cfg.HeartbeatBatch = cluster, c.beatBatch
	}
	handler := intercomnode.New(cfg)
	defer handler.Close()
	if err := handler.Resume(ctx); err != nil {
		ln.Close()
		return err
	}
	purger := retention.New(retention.Config{Store: db, Ages: c.retention, Logger: logger})
	purger.Start()
	defer purger.Close()
	private, err := listenPrivate(c)
	if err != nil {
		ln.Close()
		return err
	}
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    32 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
	}
	srv := newServer(handler)
	var channels []string
	for _, p := range providers {
		channels = append(channels, p.Channel())
	}
	logStartup(logger, startup{addr: ln.Addr().String(), publicURL: publicURL, db: c.db, bus: c.bus, adminAPI: c.adminToken != "",
		adminAddr: privateAddr(private, intercomhttp.AdminPaths), metricsAddr: privateAddr(private, intercomhttp.MetricsPaths),
		pushChannels: channels, sipAPI: c.sipAPIToken != "", web: c.web,
		iceURLs: c.iceURLs, turn: slices.ContainsFunc(c.iceURLs, calls.IsTURN)})
	fmt.Fprintf(stdout, "intercomd listening on %s\n", publicURL)

	if c.demo {
		panel, err := startDemoPanel(ctx, stdout)
		if err != nil {
			ln.Close()
			closePrivate(private)
			return fmt.Errorf("demo panel: %w", err)
		}
		defer panel.close()
		tablet, err := provisionDemo(ctx, db, c.secretBox, publicURL, panel.url, c.offlineAfter, stdout)
		if err != nil {
			ln.Close()
			closePrivate(private)
			return fmt.Errorf("demo: %w", err)
		}
		go watchDemoRenames(ctx, publicURL, tablet, stdout)
	}

	serveErr := make(chan error, 1+len(private))
	go func() { serveErr <- srv.Serve(ln) }()
	privateSrvs := make([]*http.Server, len(private))
	for i, p := range private {
		privateSrvs[i] = newServer(handler.HTTP.Private(p.paths))
		go func() {
			if err := privateSrvs[i].Serve(p.ln); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("%s: %w", p.flags, err)
			}
		}()
	}
	select {
	case err := <-serveErr:
		for _, p := range privateSrvs {
			p.Close()
		}
		srv.Close()
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, p := range privateSrvs {
		p.Shutdown(shutdownCtx)
	}
	shutdownErr := srv.Shutdown(shutdownCtx) // no new requests; those under way finish
	handler.Close()                          // sockets are hijacked, so Shutdown left them: close them, then background work
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// pushProviders are the push providers c configures, in serve's order.
func pushProviders(c config) ([]intercom.PushProvider, error) {
	var providers []intercom.PushProvider
	if c.apns.KeyFile != "" {
		// VoIP pushes ring iPhones; alert pushes, with the same key, bring
		// their missed-call notifications.
		voip, err := apns.New(c.apns)
		if err != nil {
			return nil, err
		}
		alert, err := apns.NewAlert(c.apns)
		if err != nil {
			return nil, err
		}
		providers = append(providers, voip, alert)
	}
	if c.fcm.CredentialsFile != "" {
		p, err := fcm.New(c.fcm)
		if err != nil {
			return nil, err
		}
		providers = append(providers, p)
	}
	if c.hms.AppID != "" || c.hms.AppSecret != "" {
		p, err := hms.New(c.hms)
		if err != nil {
			return nil, err
		}
		providers = append(providers, p)
	}
	return providers, nil
}

// newController posts to control URLs under the address policy, with
// loopback allowed when asked.
func newController(c config) *control.Client {
	opts := []control.Option{control.Keys(c.secretBox)}
	if c.controlLoop {
		opts = append(opts, control.AllowLoopback())
	}
	return control.New(c.controlWait, time.Now, opts...)
}
