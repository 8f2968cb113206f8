package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"intercom/postgres/pgtest"
	"intercom/pusher"
	"intercom/pusher/pusherclient"
)

// The markers deploy/nginx/intercomd.conf carries on the lines a test (or an
// operator's template) substitutes.
const (
	nginxNodeMarker   = "# intercomd node"
	nginxListenMarker = "# public listener"
	nginxSIPMarker    = "# kamailio websocket"
	nginxAdminToken   = "nginx-e2e-admin-token-0123456789abc"
)

// TestNginxCluster runs the shipped nginx config in front of three nodes on
// one PostgreSQL database and drives a whole call through it: provisioning
// over the admin API, a web device's login and sockets, broadcasting/auth, a
// ring from the intercom, the answer with SIP credentials and the hang-up.
// Round-robin spreads the requests and the sockets over the nodes, so the
// ring reaches sockets on nodes other than the one that took it. It also
// holds the config to what it promises: operator paths refused from other
// addresses, the client's address passed on (login throttles count per
// client, cluster-wide), X-Request-ID carried through, bodies capped.
// It runs on each bus.
func TestNginxCluster(t *testing.T) { onEachBus(t, 3, nginxCluster) }

func nginxCluster(t *testing.T, busArgs []string, checkBus func(*testing.T)) {
	nginx := nginxBinary(t)
	db := pgtest.NewDatabase(t)
	port := lbFreePort(t)
	public := "http://127.0.0.1:" + port
	nodes := make([]*lbNode, 3)
	for i := range nodes {
		nodes[i] = startLBNode(t, db, public, busArgs...)
	}
	checkBus(t)
	startNginx(t, nginx, port, nodes)
	c := &lbClient{t: t, base: public, client: &http.Client{Timeout: 20 * time.Second}}

	// Provisioning, from this host: allowed.
	var user struct{ ID int64 }
	c.wantJSON(c.do("POST", "/api/admin/v1/users", `{"login":"resident","password":"resident-password"}`, lbAdminHeaders()), 201, &user)
	var ic struct {
		ID     int64
		Secret string
	}
	c.wantJSON(c.do("POST", "/api/admin/v1/intercoms", `{"address":"Gate 1"}`, lbAdminHeaders()), 201, &ic)
	c.wantJSON(c.do("PUT", fmt.Sprintf("/api/admin/v1/intercoms/%d/members/%d", ic.ID, user.ID),
		`{"title":"Gate","status":"confirmed"}`, lbAdminHeaders()), 200, nil)

	// A web device logs in and connects as the apps do.
	loginHeaders := map[string]string{"X-Client": "web", "X-UUID": "resident-web", "Content-Type": "application/json"}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	c.wantJSON(c.do("POST", "/api/v1/token", `{"login":"resident","password":"resident-password"}`, loginHeaders), 200, &login)
	device := map[string]string{"X-Client": "web", "X-UUID": "resident-web", "Authorization": "Bearer " + login.AccessToken}
	var self struct {
		ID            int64  `json:"id"`
		AccessTokenID string `json:"access_token_id"`
	}
	c.wantJSON(c.do("GET", "/api/v1/users/self", "", device), 200, &self)
	var ws struct {
		WSURL  string `json:"ws_url"`
		AppKey string `json:"app_key"`
	}
	c.wantJSON(c.do("GET", "/api/v1/wsurl", "", device), 200, &ws)
	if want := "ws://127.0.0.1:" + port + "/ws"; ws.WSURL != want {
		t.Fatalf("wsurl %q, want the balancer's %q", ws.WSURL, want)
	}

	// The device connects three times, as an app reconnecting would, and
	// keeps every socket: round-robin puts them on different nodes, so the
	// ring below must cross nodes to reach them all. Each subscription is
	// signed by whichever node serves broadcasting/auth.
	channel := "private-token." + self.AccessTokenID
	form := map[string]string{"X-Client": "web", "X-UUID": "resident-web", "Authorization": device["Authorization"],
		"Content-Type": "application/x-www-form-urlencoded"}
	var sockets []*pusherclient.Client
	for range 3 {
		s := c.dialSocket(ws.WSURL + "/app/" + ws.AppKey + "?protocol=7&client=nginx-e2e")
		sockets = append(sockets, s)
		var auth struct{ Auth string }
		body := url.Values{"socket_id": {s.SocketID}, "channel_name": {channel}}.Encode()
		c.wantJSON(c.do("POST", "/api/v1/broadcasting/auth", body, form), 200, &auth)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := s.Subscribe(ctx, channel, auth.Auth)
		cancel()
		if err != nil {
			t.Fatalf("subscribing through nginx: %v", err)
		}
	}
	perNode := lbSocketsPerNode(t, nodes, len(sockets))
	if spread := lbCountNonZero(perNode); spread < 2 {
		t.Fatalf("sockets per node %v: round-robin should have spread them over at least 2 nodes", perNode)
	}

	// The visitor rings; every socket hears it.
	var rung struct {
		CallID     int64  `json:"call_id"`
		Number     string `json:"number"`
		Recipients []any  `json:"recipients"`
	}
	c.wantJSON(c.do("POST", "/api/hw/v1/ring", `{}`, map[string]string{"Authorization": "Bearer " + ic.Secret,
		"Content-Type": "application/json"}), 201, &rung)
	if len(rung.Recipients) != 1 {
		t.Fatalf("ring: recipients %v, want the web device", rung.Recipients)
	}
	for i, s := range sockets {
		lbWaitRing(t, s, rung.CallID, fmt.Sprintf("socket %d", i+1))
	}

	// The device answers: SIP credentials; then hangs up: the call ended.
	var answer struct{ SIP, Number, Host string }
	c.wantJSON(c.do("POST", fmt.Sprintf("/api/v1/intercom/calls/%d/start", rung.CallID), "", device), 200, &answer)
	if answer.SIP == "" || answer.Number != rung.Number || rung.Number == "" || answer.Host != "127.0.0.1" {
		t.Errorf("answer %+v: want a SIP token, the call's number and the public URL's host", answer)
	}
	c.wantJSON(c.do("POST", fmt.Sprintf("/api/v1/intercom/calls/%d/end", rung.CallID), "", device), 204, nil)
	var call struct{ Status string }
	c.wantJSON(c.do("GET", fmt.Sprintf("/api/v1/intercom/calls/%d", rung.CallID), "", device), 200, &call)
	if call.Status != "ended" {
		t.Errorf("call after the hang-up: status %q, want ended", call.Status)
	}

	// From an address outside the allowed ones (127.0.0.2 is loopback but
	// not 127.0.0.1), operator paths are refused by nginx; the rest answers.
	stranger := &lbClient{t: t, base: public, client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}}
	stranger.wantJSON(stranger.do("GET", "/metrics", "", nil), 403, nil)
	stranger.wantJSON(stranger.do("GET", "/api/sip/v1/calls/2999999999", "", nil), 403, nil)
	stranger.wantJSON(stranger.do("POST", "/api/admin/v1/users", `{"login":"x","password":"password-x"}`, lbAdminHeaders()), 403, nil)
	stranger.wantJSON(stranger.do("GET", "/readyz", "", nil), 200, nil)

	// nginx passes the client's address on: ten wrong passwords from the
	// stranger, spread over the nodes, throttle the stranger everywhere
	// and not the resident, who logs in from another address.
	guesser := map[string]string{"X-Client": "web", "X-UUID": "guesser-web", "Content-Type": "application/json"}
	for i := range 10 {
		stranger.wantJSON(stranger.do("POST", "/api/v1/token", fmt.Sprintf(`{"login":"guess-%d","password":"wrong-password"}`, i), guesser), 422, nil)
	}
	stranger.wantJSON(stranger.do("POST", "/api/v1/token", `{"login":"guess-10","password":"wrong-password"}`, guesser), 429, nil)
	c.wantJSON(c.do("POST", "/api/v1/token", `{"login":"resident","password":"resident-password"}`, loginHeaders), 200, nil)

	// A body over 64 KiB stops at nginx.
	big := `{"login":"` + strings.Repeat("x", 65<<10) + `"}`
	c.wantJSON(c.do("POST", "/api/v1/token", big, loginHeaders), 413, nil)

	// Without an X-Request-ID, nginx gives its own, which the node keeps.
	res, err := http.Get(public + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if id := res.Header.Get("X-Request-ID"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("X-Request-ID %q: want nginx's $request_id", id)
	}

	// Every request that reached a node was served by exactly one, and
	// each node served some: the node logs hold their request ids.
	for _, s := range sockets {
		s.Conn.Close(websocket.StatusNormalClosure, "")
	}
	served := make([]int, len(nodes))
	for _, id := range append(c.proxied(), stranger.proxied()...) {
		node := -1
		for i, n := range nodes {
			if n.log.served(id) {
				if node >= 0 {
					t.Errorf("request %s served by nodes %d and %d", id, node+1, i+1)
				}
				node = i
			}
		}
		if node < 0 {
			node = lbWaitServed(t, nodes, id)
		}
		served[node]++
	}
	for i, n := range served {
		if n == 0 {
			t.Errorf("node %d served none of the requests (per node: %v)", i+1, served)
		}
	}
	t.Logf("requests per node %v, sockets per node %v", served, perNode)
}

// nginxBinary is the nginx to run, or skips the test (fails it under CI).
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil { // Debian's, outside a user's PATH
		return "/usr/sbin/nginx"
	}
	msg := "nginx is not installed: this test runs deploy/nginx/intercomd.conf in front of 3 nodes (.ci/run installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// lbFreePort is a TCP port free on 127.0.0.1 a moment ago.
func lbFreePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// lbNode is one intercomd started through run().
type lbNode struct {
	addr string
	// adminAddr and metricsAddr are where it serves the admin API and
	// /metrics: addr, or its private listeners'.
	adminAddr, metricsAddr string
	log                    *lbNodeLog
}

// startLBNode starts a node on db behind the balancer at public, as the
// README's "Running several nodes" says, with the flags of extra besides,
// and stops it when the test ends.
func startLBNode(t *testing.T, db, public string, extra ...string) *lbNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := newLBNodeLog()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--public-url", public,
		"--real-ip-header", "X-Forwarded-For", "--admin-token", nginxAdminToken, "--log-level", "debug"}
	args = append(args, extra...)
	done := make(chan error, 1)
	env := withSecretKey(t, nil, args)
	go func() { done <- run(ctx, args, env, io.Discard, log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("node: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("a node did not stop within 20 s")
		}
	})
	listening := log.wait(t, done, "the node to listen", func(m map[string]any) bool { return m["msg"] == "listening" })
	admin := log.wait(t, done, "the admin API's start-up line", func(m map[string]any) bool { return m["msg"] == "admin API on" })
	metrics := log.wait(t, done, "the metrics' start-up line", func(m map[string]any) bool { return m["msg"] == "metrics on" })
	return &lbNode{addr: listening["addr"].(string), adminAddr: admin["addr"].(string), metricsAddr: metrics["addr"].(string), log: log}
}

// startNginx renders deploy/nginx/intercomd.conf for nodes and port into a
// temporary prefix and runs nginx on it, in plain HTTP, until the test ends.
func startNginx(t *testing.T, nginx, port string, nodes []*lbNode) {
	t.Helper()
	startNginxSIP(t, nginx, port, nodes, "")
}

// startNginxSIP is startNginx with /sip proxied to Kamailio's TCP listener
// at kamailio (host:port; empty: the shipped address).
func startNginxSIP(t *testing.T, nginx, port string, nodes []*lbNode, kamailio string) {
	t.Helper()
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr
	}
	startNginxSite(t, nginx, nginxSite{nodes: addrs, listen: "127.0.0.1:" + port, kamailio: kamailio})
}

// nginxSite is what a test puts into the shipped site.
type nginxSite struct {
	nodes    []string // the nodes' addresses
	listen   string   // the public listener's address
	redirect string   // the plain-HTTP redirect listener's address; "": a free port
	// adminNodes are the nodes' admin listeners (nil: the shipped
	// placeholders, which nothing reaches), admin the admin server's
	// address ("": a free port).
	adminNodes []string
	admin      string
	kamailio   string // /sip's upstream (host:port); "": the shipped address
	// cert and key are the TLS certificate's and key's files; "": plain HTTP.
	cert, key string
}

// startNginxSite renders deploy/nginx/intercomd.conf with site into a
// temporary prefix and runs nginx on it until the test ends.
func startNginxSite(t *testing.T, nginx string, site nginxSite) {
	t.Helper()
	shipped, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "intercomd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if site.redirect == "" {
		site.redirect = "127.0.0.1:" + lbFreePort(t)
	}
	if site.admin == "" {
		site.admin = "127.0.0.1:" + lbFreePort(t)
	}
	rendered, err := renderNginxSite(string(shipped), site)
	if err != nil {
		t.Fatalf("deploy/nginx/intercomd.conf: %v", err)
	}
	_, port, _ := net.SplitHostPort(site.listen)
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers may then use the temporary directory, which only its owner may enter
	}
	conf := fmt.Sprintf(`# The test's own nginx.conf: Debian's http block, reduced to what the site needs.
%s
worker_processes 2;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 256; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/intercomd.conf;
}
`, user, dir)
	for name, text := range map[string]string{"nginx.conf": conf, "intercomd.conf": rendered} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(nginx, "-e", filepath.Join(dir, "error.log"), "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed when nginx has exited, with its error in exitErr:
	// both the wait below and the clean-up may read it.
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	errorLog := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return out.String() + string(b)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // fast shutdown
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Error("nginx did not stop within 10 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("nginx's error log:\n%s", errorLog())
		}
	})
	deadline := time.Now().Add(10 * time.Second) // a bound on failure, not a pause
	for {
		if conn, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			conn.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("nginx exited (%v):\n%s", exitErr, errorLog())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on port %s within 10 s:\n%s", port, errorLog())
		}
	}
}

// The markers of the TLS lines and of the redirect listener.
const (
	nginxTLSMarker       = "# tls"
	nginxCertMarker      = "# tls certificate"
	nginxKeyMarker       = "# tls key"
	nginxRedirectMarker  = "# redirect listener"
	nginxAdminNodeMarker = "# intercomd admin node"
	nginxAdminMarker     = "# admin listener"
)

// renderNginxSite substitutes site into the shipped config: the first line
// marked "# intercomd node" is repeated once per node with its address, the
// other marked lines are dropped; the line marked "# public listener"
// listens on site.listen and the one marked "# redirect listener" on
// site.redirect; the first line marked "# intercomd admin node" is repeated
// once per site.adminNodes (unless there are none: then they stay), and the
// line marked "# admin listener" listens on site.admin; the one marked
// "# kamailio websocket" names site.kamailio
// (unless empty); the lines marked "# tls certificate" and "# tls key" name
// site's files. Without them (plain HTTP), every line marked "# tls" is
// dropped, and the public listener's "ssl" and "http2" with them. Nothing
// else changes.
func renderNginxSite(shipped string, site nginxSite) (string, error) {
	serverAddr := regexp.MustCompile(`^(\s*server\s+)[^;\s]+`)
	listenAddr := regexp.MustCompile(`^(\s*listen\s+)[^;\s]+`)
	fileArg := regexp.MustCompile(`^(\s*ssl_certificate(?:_key)?\s+)[^;\s]+`)
	tls := site.cert != ""
	var out []string
	nodeLines, listenLines, redirectLines, sipLines, certLines, keyLines := 0, 0, 0, 0, 0, 0
	adminNodeLines, adminLines := 0, 0
	for _, line := range strings.Split(shipped, "\n") {
		comment := strings.HasPrefix(strings.TrimSpace(line), "#")
		switch {
		case comment:
			out = append(out, line)
		case strings.Contains(line, nginxNodeMarker):
			if !serverAddr.MatchString(line) {
				return "", fmt.Errorf("a line marked %q is not a server line: %q", nginxNodeMarker, line)
			}
			if nodeLines++; nodeLines == 1 {
				for _, n := range site.nodes {
					out = append(out, serverAddr.ReplaceAllString(line, "${1}"+n))
				}
			}
		case strings.Contains(line, nginxAdminNodeMarker):
			if !serverAddr.MatchString(line) {
				return "", fmt.Errorf("a line marked %q is not a server line: %q", nginxAdminNodeMarker, line)
			}
			adminNodeLines++
			switch {
			case len(site.adminNodes) == 0:
				out = append(out, line)
			case adminNodeLines == 1:
				for _, n := range site.adminNodes {
					out = append(out, serverAddr.ReplaceAllString(line, "${1}"+n))
				}
			}
		case strings.Contains(line, nginxAdminMarker):
			if !listenAddr.MatchString(line) {
				return "", fmt.Errorf("the line marked %q is not a listen line: %q", nginxAdminMarker, line)
			}
			adminLines++
			out = append(out, listenAddr.ReplaceAllString(line, "${1}"+site.admin))
		case strings.Contains(line, nginxSIPMarker):
			if !serverAddr.MatchString(line) {
				return "", fmt.Errorf("the line marked %q is not a server line: %q", nginxSIPMarker, line)
			}
			sipLines++
			if site.kamailio != "" {
				line = serverAddr.ReplaceAllString(line, "${1}"+site.kamailio)
			}
			out = append(out, line)
		case strings.Contains(line, nginxListenMarker):
			if !listenAddr.MatchString(line) {
				return "", fmt.Errorf("the line marked %q is not a listen line: %q", nginxListenMarker, line)
			}
			listenLines++
			line = listenAddr.ReplaceAllString(line, "${1}"+site.listen)
			if !tls {
				line = regexp.MustCompile(`\s+(ssl|http2)\b`).ReplaceAllString(line, "")
			}
			out = append(out, line)
		case strings.Contains(line, nginxRedirectMarker):
			if !listenAddr.MatchString(line) {
				return "", fmt.Errorf("the line marked %q is not a listen line: %q", nginxRedirectMarker, line)
			}
			redirectLines++
			out = append(out, listenAddr.ReplaceAllString(line, "${1}"+site.redirect))
		case strings.Contains(line, nginxCertMarker), strings.Contains(line, nginxKeyMarker):
			if !fileArg.MatchString(line) {
				return "", fmt.Errorf("a line marked %q is not an ssl_certificate or ssl_certificate_key line: %q", nginxTLSMarker, line)
			}
			file := site.cert
			if strings.Contains(line, nginxKeyMarker) {
				keyLines++
				file = site.key
			} else {
				certLines++
			}
			if tls {
				out = append(out, fileArg.ReplaceAllString(line, "${1}"+file))
			}
		case strings.Contains(line, nginxTLSMarker):
			if tls {
				out = append(out, line)
			}
		default:
			out = append(out, line)
		}
	}
	if adminNodeLines == 0 || adminLines != 1 {
		return "", fmt.Errorf("want server lines marked %q and one listen line marked %q; found %d and %d",
			nginxAdminNodeMarker, nginxAdminMarker, adminNodeLines, adminLines)
	}
	if nodeLines == 0 || listenLines != 1 || redirectLines != 1 || sipLines != 1 || certLines != 1 || keyLines != 1 {
		return "", fmt.Errorf("want server lines marked %q, one listen line marked %q, one marked %q, one server line marked %q, "+
			"one ssl_certificate line marked %q and one ssl_certificate_key line marked %q; found %d, %d, %d, %d, %d and %d",
			nginxNodeMarker, nginxListenMarker, nginxRedirectMarker, nginxSIPMarker, nginxCertMarker, nginxKeyMarker,
			nodeLines, listenLines, redirectLines, sipLines, certLines, keyLines)
	}
	return strings.Join(out, "\n"), nil
}

// lbNodeLog is a node's JSON log, kept for the test to read.
type lbNodeLog struct {
	mu      sync.Mutex
	lines   []map[string]any
	partial []byte
	changed chan struct{} // closed at every new line
}

func newLBNodeLog() *lbNodeLog { return &lbNodeLog{changed: make(chan struct{})} }

func (l *lbNodeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		var m map[string]any
		if json.Unmarshal(l.partial[:i], &m) == nil {
			l.lines = append(l.lines, m)
		}
		l.partial = l.partial[i+1:]
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// find returns the first line that matches, and a channel closed when
// another line is written.
func (l *lbNodeLog) find(match func(map[string]any) bool) (map[string]any, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.lines {
		if match(m) {
			return m, nil
		}
	}
	return nil, l.changed
}

// wait returns the first line that matches, failing the test after 20 s or
// when the node stops (done).
func (l *lbNodeLog) wait(t *testing.T, done <-chan error, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		m, changed := l.find(match)
		if m != nil {
			return m
		}
		select {
		case <-changed:
		case err := <-done:
			t.Fatalf("the node stopped waiting for %s: %v", what, err)
		case <-timeout:
			t.Fatalf("no %s within 20 s", what)
		}
	}
}

// served reports whether the node logged the request with this id.
func (l *lbNodeLog) served(id string) bool {
	m, _ := l.find(func(m map[string]any) bool { return m["msg"] == "request" && m["request_id"] == id })
	return m != nil
}

// lbWaitServed waits for one node to log request id (a socket's request is
// logged when the socket closes) and returns its index.
func lbWaitServed(t *testing.T, nodes []*lbNode, id string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // a bound on failure, not a pause
	for {
		for i, n := range nodes {
			if n.log.served(id) {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no node logged request %s within 20 s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lbSocketsPerNode reads intercomd_sockets_open from every node's own address
// until they add up to want.
func lbSocketsPerNode(t *testing.T, nodes []*lbNode, want int) []int {
	t.Helper()
	gauge := regexp.MustCompile(`(?m)^intercomd_sockets_open (\d+)$`)
	deadline := time.Now().Add(20 * time.Second) // a bound on failure, not a pause
	for {
		counts, sum := make([]int, len(nodes)), 0
		for i, n := range nodes {
			res, err := http.Get("http://" + n.addr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			m := gauge.FindSubmatch(b)
			if m == nil {
				t.Fatalf("node %d's metrics lack intercomd_sockets_open", i+1)
			}
			counts[i], _ = strconv.Atoi(string(m[1]))
			sum += counts[i]
		}
		if sum == want {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("sockets per node %v, want %d in all", counts, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lbCountNonZero(ns []int) int {
	n := 0
	for _, v := range ns {
		if v > 0 {
			n++
		}
	}
	return n
}

// lbWaitRing reads s until the intercom_ring of call, failing after 20 s.
func lbWaitRing(t *testing.T, s *pusherclient.Client, call int64, which string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		m, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("%s: no intercom_ring of call %d: %v", which, call, err)
		}
		var p struct {
			Type string
			Data struct {
				CallID int64 `json:"call_id"`
			}
		}
		if json.Unmarshal([]byte(m.Data), &p) == nil && p.Type == "intercom_ring" && p.Data.CallID == call {
			return
		}
	}
}

func lbAdminHeaders() map[string]string {
	return map[string]string{"Authorization": "Bearer " + nginxAdminToken, "Content-Type": "application/json"}
}

// lbClient makes requests through the balancer, each with an X-Request-ID
// of its own, and remembers those that reached a node.
type lbClient struct {
	t      *testing.T
	base   string
	client *http.Client
	seq    int
	ids    []string
}

// lbResponse is a response read whole.
type lbResponse struct {
	what     string
	status   int
	body     []byte
	fromNode bool // a node answered (it echoed the request's id), not nginx itself
}

func (c *lbClient) nextID() string {
	c.seq++
	return fmt.Sprintf("nginx-e2e-%p-%d", c, c.seq)
}

func (c *lbClient) do(method, path, body string, headers map[string]string) lbResponse {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	id := c.nextID()
	req.Header.Set("X-Request-ID", id)
	res, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	// A response from a node echoes the id; nginx's own refusals do not.
	fromNode := res.Header.Get("X-Request-ID") == id
	if fromNode {
		c.ids = append(c.ids, id)
	}
	return lbResponse{what: method + " " + path, status: res.StatusCode, body: b, fromNode: fromNode}
}

// wantJSON fails the test unless r has status, and decodes its body into v.
// 403 and 413 must be nginx's own refusals; anything else a node's answer.
func (c *lbClient) wantJSON(r lbResponse, status int, v any) {
	c.t.Helper()
	if r.status != status {
		c.t.Fatalf("%s: %d %s, want %d", r.what, r.status, r.body, status)
	}
	if r.status == http.StatusForbidden || r.status == http.StatusRequestEntityTooLarge {
		if r.fromNode {
			c.t.Fatalf("%s: %d from a node, want nginx's own refusal", r.what, r.status)
		}
	} else if !r.fromNode {
		c.t.Fatalf("%s: %d without the request's X-Request-ID: not from a node", r.what, r.status)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			c.t.Fatalf("%s: %v in %s", r.what, err, r.body)
		}
	}
}

// dialSocket opens a Pusher socket through the balancer.
func (c *lbClient) dialSocket(u string) *pusherclient.Client {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	id := c.nextID()
	conn, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled,
		HTTPHeader: http.Header{"X-Request-ID": {id}}, HTTPClient: c.client})
	if err != nil {
		c.t.Fatalf("WebSocket through nginx: %v", err)
	}
	if res.Header.Get("X-Request-ID") != id {
		c.t.Errorf("the upgrade's X-Request-ID %q, want %q", res.Header.Get("X-Request-ID"), id)
	}
	c.ids = append(c.ids, id)
	c.t.Cleanup(func() { conn.CloseNow() })
	s := &pusherclient.Client{Conn: conn}
	m, err := s.Next(ctx)
	if err != nil || m.Event != "pusher:connection_established" {
		c.t.Fatalf("first frame through nginx: %+v %v", m, err)
	}
	var est struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal([]byte(m.Data), &est); err != nil || est.SocketID == "" {
		c.t.Fatalf("connection_established %s: %v", m.Data, err)
	}
	s.SocketID = est.SocketID
	return s
}

// proxied is the ids of the requests that reached a node.
func (c *lbClient) proxied() []string { return c.ids }

// TestNginxSocketTimeouts holds the shipped config's socket location to the
// activity timeout intercomd announces: a quiet socket carries a ping only
// every pusher.ActivityTimeout, and a proxy that gives up sooner cuts healthy
// sockets. (The end-to-end test cannot wait minutes to show it.)
func TestNginxSocketTimeouts(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "intercomd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)\n\s*location ~ \^/\(ws/\)\?app/ \{(.*?)\n\s*\}`).FindSubmatch(shipped)
	if block == nil {
		t.Fatal("deploy/nginx/intercomd.conf: no location for /ws/app/ and /app/")
	}
	for _, directive := range []string{"proxy_read_timeout", "proxy_send_timeout", "send_timeout"} {
		m := regexp.MustCompile(`(?m)^\s*` + directive + `\s+(\d+)s;`).FindSubmatch(block[1])
		if m == nil {
			t.Errorf("the socket location sets no %s in seconds", directive)
			continue
		}
		n, _ := strconv.Atoi(string(m[1]))
		if got := time.Duration(n) * time.Second; got <= pusher.ActivityTimeout {
			t.Errorf("the socket location's %s is %s: want more than the activity timeout, %s", directive, got, pusher.ActivityTimeout)
		}
	}
}
