package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"intercom/postgres/pgtest"
)

// The web app's browser tests: Playwright (e2e/playwright.config.mjs, specs
// in e2e/web/) drives Debian's Chromium against intercomd with the shipped
// Kamailio, rtpengine (APP_MEDIA=webrtc) and coturn, and sipp as the panel.
// TestWebApp starts them and runs `npx playwright test` in e2e/ twice: on
// one node (SQLite) every spec but those tagged @cluster, then those on two
// nodes on PostgreSQL behind the shipped nginx.

const (
	// webRingAfter is intercomd's --ring-timeout and Kamailio's RING_TIMEOUT
	// here: long enough for a browser to load, answer and register.
	webRingAfter = 20 * time.Second
	// webRunLimit bounds one Playwright run (its own timeouts fail first).
	// The one-node run takes 10–12 minutes on two cores under -race while
	// the other packages' tests run beside it.
	webRunLimit = 20 * time.Minute
)

// webTools are the programs the browser tests run.
type webTools struct {
	chromium, turnserver, npx, e2e string
}

// findWebTools finds Chromium, coturn, npx and e2e's Playwright, or skips
// (fails under CI=true) with one line.
func findWebTools(t *testing.T) webTools {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipped: " + msg)
	}
	look := func(names []string, why string) string {
		t.Helper()
		for _, name := range names {
			if name == "" {
				continue
			}
			if path, err := exec.LookPath(name); err == nil {
				return path
			}
		}
		missing(why)
		return ""
	}
	e2e, _ := filepath.Abs(filepath.Join("..", "..", "e2e"))
	w := webTools{
		chromium:   look([]string{os.Getenv("CHROMIUM"), "chromium", "/usr/bin/chromium"}, "chromium is not installed: the web app's tests run Debian's Chromium (.ci/run installs chromium)"),
		turnserver: look([]string{"turnserver", "/usr/bin/turnserver"}, "turnserver is not installed: the relay case runs deploy/coturn with it (.ci/run installs coturn)"),
		npx:        look([]string{"npx"}, "npx is not installed: the web app's tests run Playwright under Node.js"),
		e2e:        e2e,
	}
	if _, err := os.Stat(filepath.Join(e2e, "node_modules", "@playwright", "test")); err != nil {
		missing("@playwright/test is not installed: run `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci` in e2e/ (.ci/run does)")
	}
	return w
}

// TestWebApp runs the Playwright suite of the web app: specs in e2e/web/,
// each on a desktop and a phone viewport. WEB_TEST_ARGS adds arguments to
// both runs, e.g. WEB_TEST_ARGS="web/call.spec.mjs --project desktop"
// (then a run that finds no test passes; a --grep of its own replaces the
// cluster run's @cluster selection); SCREENSHOTS=1 writes
// docs/screenshots/; WEB_TEST_RESULTS=dir keeps Playwright's results there.
func TestWebApp(t *testing.T) {
	w := findWebTools(t)
	turn := startTURN(t, w.turnserver)
	// Open door reaches the specs' own control server on loopback; the
	// login throttle's spec fails logins from an address of its own
	// (X-Forwarded-For, as nginx sets it), so the browser's stays usable.
	// The accounts' limit of sessions is webSessionsLimit, for the login's
	// 419 spec.
	turnEnv := map[string]string{"INTERCOMD_TURN_URL": turn.url, "INTERCOMD_TURN_SECRET": turn.secret,
		"INTERCOMD_CONTROL_ALLOW_LOOPBACK": "true", "INTERCOMD_REAL_IP_HEADER": "X-Forwarded-For",
		"INTERCOMD_SESSIONS_LIMIT": strconv.Itoa(webSessionsLimit)}

	// Every spec runs on one node; those tagged @cluster run again on two.
	t.Run("OneNode", func(t *testing.T) {
		r := startSIPRigWith(t, "webrtc", webRingAfter, turnEnv)
		w.playwright(t, r.webEnv(r.node.url, turn))
	})
	t.Run("Cluster", func(t *testing.T) {
		r, public := startWebCluster(t, turnEnv)
		w.playwright(t, r.webEnv(public, turn), "--grep", "@cluster")
	})
}

// webEnv is what the specs read (e2e/web/fixtures.mjs) of a rig whose API is at url.
func (r *sipRig) webEnv(url string, turn turnServer) map[string]string {
	return map[string]string{
		"INTERCOMD_URL":         url,
		"INTERCOMD_ADMIN_TOKEN": sipAdmin,
		"SIPP":                  r.sipp,
		"SIP_PORT":              strconv.Itoa(r.sipPort),
		"SIP_DOMAIN":            sipDomain,
		"RING_TIMEOUT":          strconv.Itoa(int(webRingAfter / time.Second)),
		"TURN_URL":              turn.url,
		"TURN_SECRET":           turn.secret,
		"SESSIONS_LIMIT":        strconv.Itoa(webSessionsLimit),
	}
}

// webSessionsLimit is --sessions-limit in the web app's rigs: more than any
// spec's account opens but the one that reaches it.
const webSessionsLimit = 8

// startWebCluster is the SIP rig on two intercomd nodes sharing a fresh
// PostgreSQL database behind the shipped nginx (deploy/nginx/intercomd.conf),
// Kamailio reaching intercomd through nginx and the apps reaching Kamailio's
// WebSocket through nginx, as an operator would set it up.
// It returns the rig and nginx's URL, the apps' one address.
func startWebCluster(t *testing.T, intercomdEnv map[string]string) (*sipRig, string) {
	t.Helper()
	nginx := nginxBinary(t)
	r := newSIPRig(t)
	db := pgtest.NewDatabase(t)
	port := lbFreePort(t)
	public := "http://127.0.0.1:" + port
	env := r.intercomdEnv(webRingAfter)
	env["INTERCOMD_PUBLIC_URL"] = public
	env["INTERCOMD_REAL_IP_HEADER"] = "X-Forwarded-For"
	// The apps' SIP WebSocket through nginx too, as in production (wss://<public host>/sip).
	env["INTERCOMD_SIP_WS_URL"] = "ws://127.0.0.1:" + port + "/sip"
	for k, v := range intercomdEnv {
		env[k] = v
	}
	var nodes []*lbNode
	for i := range 2 {
		// A port chosen here: a node announces its public URL (nginx's), not its own address.
		addr := "127.0.0.1:" + lbFreePort(t)
		runNode(t, t, "web "+strconv.Itoa(i+1), env, "serve", "--addr", addr, "--db", db)
		nodes = append(nodes, &lbNode{addr: addr})
	}
	startNginxSIP(t, nginx, port, nodes, fmt.Sprintf("127.0.0.1:%d", r.wsPort))
	r.startSIPServer("webrtc", webRingAfter, public)
	return r, public
}

// playwright runs `npx playwright test args…` in e2e/ with env, fails t
// with Playwright's output when a spec fails, and logs the figures the
// specs recorded (annotations of type "figure" in the JSON report).
func (w webTools) playwright(t *testing.T, env map[string]string, args ...string) {
	t.Helper()
	w.readSpecs(t)
	dir := t.TempDir()
	if keep := os.Getenv("WEB_TEST_RESULTS"); keep != "" {
		dir = filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "-")) // kept: traces and page snapshots of failures
	}
	report := filepath.Join(dir, "report.json")
	ctx, cancel := context.WithTimeout(t.Context(), webRunLimit)
	defer cancel()
	if extra := strings.Fields(os.Getenv("WEB_TEST_ARGS")); len(extra) > 0 {
		args = append(append(args, "--pass-with-no-tests"), extra...)
	}
	cmd := exec.CommandContext(ctx, w.npx, append([]string{"--no-install", "playwright", "test", "--config", "playwright.config.mjs"}, args...)...)
	cmd.Dir = w.e2e
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "CHROMIUM="+w.chromium,
		"PLAYWRIGHT_JSON_REPORT="+report, "PLAYWRIGHT_OUTPUT_DIR="+filepath.Join(dir, "results"), "FORCE_COLOR=0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Its own process group: at the limit, Node and Chromium go together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start).Round(time.Second)
	figures, counts := webReport(report)
	for _, f := range figures {
		t.Log(f)
	}
	if err != nil {
		t.Fatalf("npx playwright test %s: %v after %v (%s)\n%s", strings.Join(args, " "), err, took, counts, out.String())
	}
	t.Logf("playwright %s: %s in %v", strings.Join(args, " "), counts, took)
}

// webReport reads Playwright's JSON report: the figures the specs recorded,
// and how many tests passed, failed and were skipped.
func webReport(file string) (figures []string, counts string) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "no JSON report"
	}
	type annotation struct{ Type, Description string }
	type suite struct {
		Title string
		Specs []struct {
			Title string
			Tests []struct {
				ProjectName string
				Annotations []annotation
				Results     []struct{ Annotations []annotation }
			}
		}
		Suites []suite
	}
	var r struct {
		Suites []suite
		Stats  struct{ Expected, Unexpected, Skipped, Flaky int }
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, "unreadable JSON report: " + err.Error()
	}
	var walk func(prefix string, s suite)
	walk = func(prefix string, s suite) {
		if s.Title != "" && !strings.HasSuffix(s.Title, ".mjs") {
			prefix += s.Title + " › "
		}
		for _, sp := range s.Specs {
			for _, tt := range sp.Tests {
				seen := map[annotation]bool{}
				all := tt.Annotations
				for _, res := range tt.Results {
					all = append(all, res.Annotations...)
				}
				for _, a := range all {
					if a.Type == "figure" && !seen[a] {
						seen[a] = true
						figures = append(figures, fmt.Sprintf("[%s] %s%s: %s", tt.ProjectName, prefix, sp.Title, a.Description))
					}
				}
			}
		}
		for _, sub := range s.Suites {
			walk(prefix, sub)
		}
	}
	for _, s := range r.Suites {
		walk("", s)
	}
	return figures, fmt.Sprintf("%d passed, %d failed, %d flaky, %d skipped",
		r.Stats.Expected, r.Stats.Unexpected, r.Stats.Flaky, r.Stats.Skipped)
}

// turnServer is a running coturn: its URL for browsers and its REST secret.
type turnServer struct {
	url, secret string
}

// startTURN runs coturn with the shipped deploy/coturn/turnserver.conf and
// only the command-line overrides a test on loopback needs, until the test
// ends.
func startTURN(t *testing.T, turnserver string) turnServer {
	t.Helper()
	port := freeUDPPort(t)
	relay := 61000 + (port%44)*100 // a relay range of its own: above rtpengine's (20000-59999) and the kernel's ephemeral ports
	secret := make([]byte, 16)
	rand.Read(secret)
	dir := t.TempDir()
	log := &syncBuffer{}
	cmd := exec.Command(turnserver, "-c", filepath.Join("..", "..", "deploy", "coturn", "turnserver.conf"),
		"--listening-port", strconv.Itoa(port), // a free port, not 3478
		"--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", // the rig lives on loopback
		"--min-port", strconv.Itoa(relay), "--max-port", strconv.Itoa(relay+99),
		"--static-auth-secret", hex.EncodeToString(secret), // the shipped one is a placeholder
		"--realm", sipDomain, // the shipped one is an example
		"--no-tls", "--no-dtls", // the shipped config listens for TLS too but names no certificate
		// The shipped config denies loopback peers (an operator's own
		// networks); here rtpengine is on 127.0.0.1. An allowed-peer-ip
		// wins over a denied-peer-ip.
		"--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1",
		"--pidfile", filepath.Join(dir, "turnserver.pid"), // not /var/run
		"--db", filepath.Join(dir, "turndb"), // its SQLite user database (unused with REST credentials), not /var/lib/turn
		"--log-file", "stdout", // the test's log, never /var/log
	)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("turnserver: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() || os.Getenv("SIP_TEST_LOGS") != "" {
			t.Logf("coturn's log:\n%s", lastLines(log.String(), 60))
		}
	})
	awaitSTUN(t, port, done, log)
	return turnServer{url: fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port), secret: hex.EncodeToString(secret)}
}

// awaitSTUN waits until a STUN Binding request to 127.0.0.1:port is answered.
func awaitSTUN(t *testing.T, port int, exited <-chan struct{}, log *syncBuffer) {
	t.Helper()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := make([]byte, 20)
	binary.BigEndian.PutUint16(req[0:], 0x0001) // Binding request, no attributes
	binary.BigEndian.PutUint32(req[4:], 0x2112A442)
	rand.Read(req[8:])
	buf := make([]byte, 512)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("turnserver exited:\n%s", log)
		default:
		}
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && n >= 20 && binary.BigEndian.Uint16(buf) == 0x0101 && bytes.Equal(buf[8:20], req[8:20]) {
			return
		}
	}
	t.Fatalf("turnserver did not answer a STUN Binding request in 10 s:\n%s", log)
}

// readSpecs reads the Playwright config and every file under e2e/web: go
// test caches a test's result by the files it opened, and the specs are
// read by Node, so without this a changed spec could be answered by a
// stale cached pass.
func (w webTools) readSpecs(t *testing.T) {
	t.Helper()
	files := []string{filepath.Join(w.e2e, "playwright.config.mjs"), filepath.Join(w.e2e, "package-lock.json")}
	err := filepath.WalkDir(filepath.Join(w.e2e, "web"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
}
