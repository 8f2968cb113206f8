package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The SIP tests run intercomd (through run()) with the shipped
// deploy/kamailio/kamailio.cfg and deploy/rtpengine/rtpengine.conf, each on
// free loopback ports, sipp as the panel and sip.js under Node
// (e2e/sipapp.mjs) as the resident's app over SIP-over-WebSocket.

const (
	sipDomain    = "intercom.test"
	sipSecret    = "sip-e2e-secret"
	sipAPIToken  = "sip-e2e-api-token"
	sipAdmin     = "sip-e2e-admin-token-0123456789abcdef"
	sipRingAfter = 3 * time.Second // intercomd's --ring-timeout and Kamailio's RING_TIMEOUT
	sipGrace     = 4 * time.Second // Kamailio's ANSWER_GRACE
)

// sipTools finds kamailio, sipp, rtpengine and node with e2e's sip.js, or
// skips (fails under CI=true) with one line.
func sipTools(t *testing.T) (kamailio, sipp, rtpengine, node string) {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipped: " + msg)
	}
	look := func(name, pkg string) string {
		t.Helper()
		for _, p := range []string{name, "/usr/sbin/" + name, "/usr/bin/" + name} {
			if path, err := exec.LookPath(p); err == nil {
				return path
			}
		}
		missing(name + " is not installed: this test runs deploy/kamailio with it (.ci/run installs " + pkg + ")")
		return ""
	}
	kamailio = look("kamailio", "kamailio and its module packages")
	sipp = look("sipp", "sip-tester")
	rtpengine = look("rtpengine", "rtpengine-daemon")
	node = look("node", "Node.js")
	if _, err := os.Stat(filepath.Join("..", "..", "e2e", "node_modules", "sip.js")); err != nil {
		missing("sip.js is not installed: run `npm ci` in e2e/ (.ci/run does)")
	}
	return kamailio, sipp, rtpengine, node
}

// sipRig is intercomd, rtpengine and Kamailio, wired as the README says.
type sipRig struct {
	t                         *testing.T
	node                      *node // nil when Kamailio reaches several nodes through a balancer
	kamailio, rtpengine       string
	sipp, nodeJS              string
	sipPort, wsPort           int
	mediaMin, mediaMax        int // rtpengine's ports
	dir                       string
	kamailioLog, rtpengineLog *syncBuffer
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sippMediaPort is a port p for sipp's -mp with p and p+2 free: sipp binds
// its audio and video sockets there, even without -rtp_echo, and exits at
// once when either is taken, so no call is placed. An ephemeral port from
// freeUDPPort leaves p+2 to chance; this takes them from 10000-19999, below
// the kernel's ephemeral ports and rtpengine's test ranges (20000 on).
func sippMediaPort(t *testing.T) int {
	t.Helper()
	for range 500 {
		p := 10000 + 4*rand.IntN(2500)
		a, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		b, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+2))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("no free media ports for sipp in 10000-19999")
	return 0
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	p, _ := strconv.Atoi(lbFreePort(t))
	return p
}

// startSIPRig starts the three; appMedia is Kamailio's APP_MEDIA.
func startSIPRig(t *testing.T, appMedia string) *sipRig {
	t.Helper()
	return startSIPRigRinging(t, appMedia, sipRingAfter)
}

// startSIPRigRinging is startSIPRig with another ring timeout.
func startSIPRigRinging(t *testing.T, appMedia string, ringAfter time.Duration) *sipRig {
	t.Helper()
	return startSIPRigWith(t, appMedia, ringAfter, nil)
}

// startSIPRigWith is startSIPRigRinging with more of intercomd's environment.
func startSIPRigWith(t *testing.T, appMedia string, ringAfter time.Duration, intercomdEnv map[string]string) *sipRig {
	t.Helper()
	r := newSIPRig(t)
	env := r.intercomdEnv(ringAfter)
	maps.Copy(env, intercomdEnv)
	r.node = startSIPNode(t, filepath.Join(r.dir, "intercomd.db"), env)
	r.startSIPServer(appMedia, ringAfter, r.node.url)
	return r
}

// newSIPRig finds the tools and chooses the SIP server's ports; nothing runs yet.
func newSIPRig(t *testing.T) *sipRig {
	t.Helper()
	kamailio, sipp, rtpengine, nodeJS := sipTools(t)
	r := &sipRig{t: t, kamailio: kamailio, rtpengine: rtpengine, sipp: sipp, nodeJS: nodeJS, dir: t.TempDir(),
		kamailioLog: &syncBuffer{}, rtpengineLog: &syncBuffer{}}
	r.sipPort, r.wsPort = freeUDPPort(t), freeTCPPort(t)
	return r
}

// intercomdEnv is the environment of an intercomd that r's Kamailio serves.
func (r *sipRig) intercomdEnv(ringAfter time.Duration) map[string]string {
	return map[string]string{
		"INTERCOMD_ADMIN_TOKEN":   sipAdmin,
		"INTERCOMD_LOG_LEVEL":     "warn",
		"INTERCOMD_RING_TIMEOUT":  ringAfter.String(),
		"INTERCOMD_SIP_SECRET":    sipSecret,
		"INTERCOMD_SIP_HOST":      sipDomain,
		"INTERCOMD_SIP_WS_URL":    fmt.Sprintf("ws://127.0.0.1:%d/sip", r.wsPort),
		"INTERCOMD_SIP_API_TOKEN": sipAPIToken,
	}
}

// startSIPServer starts rtpengine and Kamailio, which reaches intercomd at
// intercomdURL (a node, or a balancer in front of several).
func (r *sipRig) startSIPServer(appMedia string, ringAfter time.Duration, intercomdURL string) {
	t := r.t
	t.Helper()
	// rtpengine: the shipped config, with this test's ports.
	ng := freeUDPPort(t)
	base := 20000 + (ng%400)*100 // a media range of its own, likely free
	r.mediaMin, r.mediaMax = base, base+99
	r.start("rtpengine", r.rtpengineLog, nil, r.rtpengine, "--config-file="+filepath.Join("..", "..", "deploy", "rtpengine", "rtpengine.conf"),
		"--foreground", "--pidfile="+filepath.Join(r.dir, "rtpengine.pid"), fmt.Sprintf("--listen-ng=127.0.0.1:%d", ng),
		fmt.Sprintf("--listen-cli=127.0.0.1:%d", freeTCPPort(t)), "--interface=127.0.0.1",
		fmt.Sprintf("--port-min=%d", base), fmt.Sprintf("--port-max=%d", base+99))
	r.awaitRTPEngine(ng)

	kenv := []string{
		"SIP_SECRET=" + sipSecret, "SIP_DOMAIN=" + sipDomain, "INTERCOMD_URL=" + intercomdURL, "SIP_API_TOKEN=" + sipAPIToken,
		"RING_TIMEOUT=" + strconv.Itoa(int(ringAfter/time.Second)), "ANSWER_GRACE=" + strconv.Itoa(int(sipGrace/time.Second)),
		fmt.Sprintf("RTPENGINE_SOCK=udp:127.0.0.1:%d", ng), "APP_MEDIA=" + appMedia,
		fmt.Sprintf("SIP_LISTEN=udp:127.0.0.1:%d", r.sipPort), fmt.Sprintf("WS_LISTEN=tcp:127.0.0.1:%d", r.wsPort),
	}
	r.start("kamailio", r.kamailioLog, kenv, r.kamailio, "-DD", "-E", "-f", filepath.Join("..", "..", "deploy", "kamailio", "kamailio.cfg"),
		"-Y", r.dir, "-w", r.dir)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.wsPort))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio did not listen in 10 s:\n%s", r.kamailioLog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("SIP_TEST_LOGS") != "" {
			t.Logf("kamailio's log:\n%s\nrtpengine's log:\n%s", r.kamailioLog, r.rtpengineLog)
			if r.node != nil {
				t.Logf("intercomd's log:\n%s", r.node.logs)
			}
		}
	})
}

// gateWithAlice provisions intercom "Gate 1" with resident alice at flat
// 15, logs her phone in and opens its socket.
func (r *sipRig) gateWithAlice(t *testing.T) (panel, *clusterDevice, *socketLog) {
	t.Helper()
	n := r.node
	p := r.provision("Gate 1")
	v := n.want(t, "POST", "/api/admin/v1/users", r.admin(), `{"login":"alice","password":"password-of-alice"}`, 201)
	n.want(t, "PUT", fmt.Sprintf("/api/admin/v1/intercoms/%d/members/%d", p.id, int64(v["id"].(float64))), r.admin(),
		`{"title":"Gate","status":"confirmed","flat":15}`, 200)
	phone := n.login(t, "alice", "alice-phone")
	return p, phone, openSocket(t, t, n, n, phone)
}

// startSIPNode starts intercomd through run() with env as its environment.
func startSIPNode(t *testing.T, db string, env map[string]string) *node {
	t.Helper()
	return runNode(t, t, "sip", env, "serve", "--addr", "127.0.0.1:0", "--db", db)
}

// start runs a daemon until the test ends (SIGTERM by its pid, then wait).
func (r *sipRig) start(name string, log *syncBuffer, env []string, path string, args ...string) {
	r.t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
}

// awaitRTPEngine waits until rtpengine answers an ng ping.
func (r *sipRig) awaitRTPEngine(port int) {
	r.t.Helper()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		r.t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 512)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.Write([]byte("probe d7:command4:pinge"))
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && bytes.Contains(buf[:n], []byte("pong")) {
			return
		}
	}
	r.t.Fatalf("rtpengine did not answer a ping in 10 s:\n%s", r.rtpengineLog)
}

// panel is an intercom provisioned with SIP credentials.
type panel struct {
	id               int64
	secret           string
	username, passwd string
}

func (r *sipRig) admin() map[string]string { return bearer(sipAdmin) }

// provision makes an intercom with resident alice (flat 15) and returns it.
func (r *sipRig) provision(address string) panel {
	t := r.t
	t.Helper()
	v := r.node.want(t, "POST", "/api/admin/v1/intercoms", r.admin(), `{"address":"`+address+`"}`, 201)
	sip := v["sip"].(map[string]any)
	return panel{id: int64(v["id"].(float64)), secret: v["secret"].(string),
		username: sip["username"].(string), passwd: sip["password"].(string)}
}

// sippResult is how one sipp run went.
type sippResult struct {
	err error
	out string
}

// dial runs sipp as panel p INVITEing service with scenario, in the
// background; media runs it with -rtp_echo where g711a.pcap is.
func (r *sipRig) dial(p panel, password, service, scenario string, media bool) <-chan sippResult {
	r.t.Helper()
	return r.dialIn(r.t.TempDir(), p, password, service, scenario, media)
}

// dialIn is dial with sipp working in dir and extra arguments.
func (r *sipRig) dialIn(dir string, p panel, password, service, scenario string, media bool, extra ...string) <-chan sippResult {
	r.t.Helper()
	sf, _ := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	args := []string{fmt.Sprintf("127.0.0.1:%d", r.sipPort), "-sf", sf, "-m", "1", "-p", strconv.Itoa(freeUDPPort(r.t)),
		"-i", "127.0.0.1", "-s", service, "-key", "domain", sipDomain, "-key", "user", p.username,
		"-au", p.username, "-ap", password, "-nostdin", "-timeout", "30", "-timeout_error",
		"-mp", strconv.Itoa(sippMediaPort(r.t))}
	if media {
		args = append(args, "-rtp_echo")
	}
	args = append(args, extra...)
	cmd := exec.Command(r.sipp, args...)
	cmd.Dir = dir
	if media {
		if err := os.Symlink("/usr/share/sip-tester/g711a.pcap", filepath.Join(cmd.Dir, "g711a.pcap")); err != nil {
			r.t.Fatal(err)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	res := make(chan sippResult, 1)
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	var last sippResult
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		last = sippResult{err, out.String()}
		close(done)
		res <- last
	}()
	r.t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if r.t.Failed() {
			r.t.Logf("sipp %s (%v):\n%s", scenario, last.err, lastLines(last.out, 30))
		}
	})
	return res
}

// sippOK waits for a sipp run and fails unless its call went as scripted.
func (r *sipRig) sippOK(res <-chan sippResult, what string) {
	r.t.Helper()
	select {
	case got := <-res:
		if got.err != nil {
			r.t.Fatalf("%s: sipp: %v\n%s", what, got.err, lastLines(got.out, 30))
		}
	case <-time.After(40 * time.Second):
		r.t.Fatalf("%s: sipp did not finish in 40 s", what)
	}
}

// refusal runs sipp as panel p dialling service with refused.xml and
// returns the status line of the 4xx it got (anything else fails).
func (r *sipRig) refusal(p panel, password, service string) string {
	r.t.Helper()
	dir := r.t.TempDir()
	r.sippOK(r.dialIn(dir, p, password, service, "refused.xml", false, "-trace_logs"), "dialling "+service)
	logs, _ := filepath.Glob(filepath.Join(dir, "refused_*_logs.log"))
	for _, name := range logs {
		b, _ := os.ReadFile(name)
		if _, line, ok := strings.Cut(string(b), "final: "); ok {
			return strings.TrimPrefix(strings.TrimSpace(strings.SplitN(line, "\n", 2)[0]), "SIP/2.0 ")
		}
	}
	r.t.Fatalf("dialling %s: sipp logged no final answer (%v)", service, logs)
	return ""
}

// awaitLog waits for Kamailio to log a line holding what, after the first
// skip bytes of its log, and returns where that line ends.
func (r *sipRig) awaitLog(what string, skip int) int {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		log := r.kamailioLog.String()
		if i := strings.Index(log[min(skip, len(log)):], what); i >= 0 {
			return min(skip, len(log)) + i + len(what)
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("kamailio did not log %q in 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// htable is `kamcmd htable.dump name` through Kamailio's ctl socket.
func (r *sipRig) htable(name string) string {
	r.t.Helper()
	kamcmd, err := exec.LookPath("kamcmd")
	if err != nil {
		kamcmd = "/usr/sbin/kamcmd"
	}
	out, err := exec.Command(kamcmd, "-s", "unix:"+filepath.Join(r.dir, "kamailio_ctl"), "htable.dump", name).CombinedOutput()
	if err != nil {
		r.t.Fatalf("kamcmd htable.dump %s: %v\n%s", name, err, out)
	}
	return string(out)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// app is e2e/sipapp.mjs running.
type app struct {
	t      *testing.T
	lines  chan map[string]any
	seen   []map[string]any
	done   chan error
	stderr *syncBuffer
}

func (r *sipRig) app(args ...string) *app {
	r.t.Helper()
	script, _ := filepath.Abs(filepath.Join("..", "..", "e2e", "sipapp.mjs"))
	cmd := exec.Command(r.nodeJS, append([]string{script}, args...)...)
	a := &app{t: r.t, lines: make(chan map[string]any, 64), done: make(chan error, 1), stderr: &syncBuffer{}}
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = a.stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				a.lines <- m
			}
		}
		close(a.lines)
		a.done <- cmd.Wait()
	}()
	return a
}

// await waits for the app's event and returns it.
func (a *app) await(event string) map[string]any {
	a.t.Helper()
	for _, m := range a.seen {
		if m["event"] == event {
			return m
		}
	}
	limit := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-a.lines:
			if !ok {
				a.t.Fatalf("the app exited before %q; it said %v\n%s", event, a.seen, a.stderr)
			}
			a.seen = append(a.seen, m)
			if m["event"] == event {
				return m
			}
		case <-limit:
			a.t.Fatalf("the app: no %q in 30 s; it said %v", event, a.seen)
		}
	}
}

// probe opens a WebSocket at u and returns the HTTP status it got.
func (r *sipRig) probe(u string) int {
	r.t.Helper()
	m := r.app("--probe", u).await("probe")
	status, ok := m["status"].(float64)
	if !ok {
		r.t.Fatalf("probe %s: %v", u, m)
	}
	return int(status)
}

// token signs a token as intercomd does, with any secret, number and expiry.
func token(t *testing.T, secret, number string, exp time.Time) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"call": 1, "user": 1, "device": "x", "sub": number, "iat": time.Now().Unix(), "exp": exp.Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *sipRig) wsURL(tok string) string {
	return fmt.Sprintf("ws://127.0.0.1:%d/sip?token=%s", r.wsPort, url.QueryEscape(tok))
}

// newRing waits for an intercom_ring of a call not in seen, and returns its id.
func newRing(t *testing.T, s *socketLog, seen map[int64]bool) int64 {
	t.Helper()
	e := s.awaitMatch(t, "intercom_ring", "of a new call", func(e event) bool {
		data, _ := e["data"].(map[string]any)
		id, _ := data["call_id"].(float64)
		return id > 0 && !seen[int64(id)]
	})
	id := int64(e["data"].(map[string]any)["call_id"].(float64))
	seen[id] = true
	return id
}

func (r *sipRig) status(d *clusterDevice, id int64) string {
	r.t.Helper()
	v := r.node.want(r.t, "GET", "/api/v1/intercom/calls/"+itoa(id), d.headers(), "", 200)
	return v["status"].(string)
}

// TestSIPCall is the whole story with a real SIP server: a panel dials a
// flat, the app's socket rings, the resident answers, the app joins over
// SIP-over-WebSocket with the answer's token and gets the panel's held
// INVITE, and a BYE ends intercomd's call; then every way it can go wrong.
func TestSIPCall(t *testing.T) {
	r := startSIPRig(t, "webrtc")
	n := r.node
	p := r.provision("Gate 1")
	var user struct{ ID int64 }
	v := n.want(t, "POST", "/api/admin/v1/users", r.admin(), `{"login":"alice","password":"password-of-alice"}`, 201)
	user.ID = int64(v["id"].(float64))
	n.want(t, "PUT", fmt.Sprintf("/api/admin/v1/intercoms/%d/members/%d", p.id, user.ID), r.admin(),
		`{"title":"Gate","status":"confirmed","flat":15}`, 200)
	phone, tablet := n.login(t, "alice", "alice-phone"), n.login(t, "alice", "alice-tablet")
	phoneSock := openSocket(t, t, n, n, phone)
	tabletSock := openSocket(t, t, n, n, tablet)
	seen := map[int64]bool{}

	t.Run("DialAFlat", func(t *testing.T) {
		invite := time.Now()
		panelCall := r.dial(p, p.passwd, "15", "app-hangs-up.xml", false)
		id := newRing(t, phoneSock, seen)
		tabletSock.await(t, "intercom_ring", id)
		var answer struct{ SIP, Number, Host string }
		raw := n.want(t, "POST", callPath(id, "start"), phone.headers(), "", 200)
		b, _ := json.Marshal(raw)
		json.Unmarshal(b, &answer)
		// The device that lost the race gets no answer, so no token.
		n.want(t, "POST", callPath(id, "start"), tablet.headers(), "", 404)

		a := r.app("--sip", answer.SIP, "--number", answer.Number, "--host", answer.Host, "--hangup-after", "1500")
		a.await("registered")
		// Nor can it take the number with the winner's token while the winner holds it.
		if got := r.probe(answer.SIP); got != 403 {
			t.Errorf("a second connection with the answer's token: %d, want 403", got)
		}
		inv := a.await("invite")
		if !strings.Contains(inv["ruri"].(string), "transport=ws") {
			t.Errorf("INVITE %v", inv)
		}
		a.await("answered")
		t.Logf("panel INVITE → app answered: %v", time.Since(invite).Round(time.Millisecond))
		a.await("bye-sent")
		r.sippOK(panelCall, "the panel's call")
		// Kamailio reported the app's BYE before relaying it: intercomd's call
		// ended without the app calling end.
		if got := r.status(phone, id); got != "ended" {
			t.Errorf("call %d after the app's BYE: %s, want ended", id, got)
		}
		phoneSock.none(t, "intercom_cancel", id)
	})

	t.Run("Unanswered", func(t *testing.T) {
		start := time.Now()
		panelCall := r.dial(p, p.passwd, "15", "unanswered.xml", false)
		id := newRing(t, phoneSock, seen)
		r.sippOK(panelCall, "480 after the ring timeout")
		if took := time.Since(start); took < sipRingAfter {
			t.Errorf("480 after %v, before the ring timeout %v", took, sipRingAfter)
		}
		if got := r.status(phone, id); got != "missed" {
			t.Errorf("call %d: %s, want missed", id, got)
		}
	})

	t.Run("VisitorHangsUp", func(t *testing.T) {
		panelCall := r.dial(p, p.passwd, "15", "cancel.xml", false)
		id := newRing(t, phoneSock, seen)
		r.sippOK(panelCall, "CANCEL → 200, 487")
		// Kamailio told intercomd before it answered 487.
		if got := r.status(phone, id); got != "missed" {
			t.Errorf("call %d after CANCEL: %s, want missed", id, got)
		}
		phoneSock.await(t, "intercom_cancel", id)
	})

	t.Run("EveryDeviceDeclines", func(t *testing.T) {
		// Both devices decline: intercomd's call is missed at once, and the
		// panel's held INVITE gets 603 Decline then, not 480 at the ring
		// timeout (the wait below is a failure limit only).
		invite := time.Now()
		panelCall := r.dial(p, p.passwd, "15", "declined.xml", false)
		id := newRing(t, phoneSock, seen)
		tabletSock.await(t, "intercom_ring", id)
		n.want(t, "POST", callPath(id, "cancel"), phone.headers(), "", 204)
		n.want(t, "POST", callPath(id, "cancel"), tablet.headers(), "", 204)
		declined := time.Now()
		r.sippOK(panelCall, "603 once every device declined")
		t.Logf("INVITE → declines %v → 603 at the panel %v", declined.Sub(invite).Round(time.Millisecond),
			time.Since(declined).Round(time.Millisecond))
		if took := time.Since(invite); took >= sipRingAfter {
			t.Errorf("the panel's final answer after %v: not before the ring timeout %v", took, sipRingAfter)
		}
		if got := r.status(phone, id); got != "missed" {
			t.Errorf("call %d: %s, want missed", id, got)
		}
	})

	t.Run("LateRegistrationInGrace", func(t *testing.T) {
		// Answered in intercomd, but the app registers only after the ring
		// timeout, within ANSWER_GRACE: the held INVITE goes on to it, the
		// panel gets 200 and the call connects.
		mark := len(r.kamailioLog.String())
		invite := time.Now()
		panelCall := r.dial(p, p.passwd, "15", "app-hangs-up.xml", false)
		id := newRing(t, phoneSock, seen)
		raw := n.want(t, "POST", callPath(id, "start"), phone.headers(), "", 200)
		number := raw["number"].(string)
		r.awaitLog("number "+number+" answered but not registered yet", mark)
		if took := time.Since(invite); took < sipRingAfter {
			t.Errorf("graced after %v, before the ring timeout %v", took, sipRingAfter)
		}
		a := r.app("--sip", raw["sip"].(string), "--number", number, "--host", sipDomain, "--hangup-after", "300")
		a.await("registered")
		registered := time.Now()
		a.await("ack")
		t.Logf("late registration → the panel's ACK of its 200 OK at the app: %v (INVITE → registration %v)",
			time.Since(registered).Round(time.Millisecond), registered.Sub(invite).Round(time.Millisecond))
		a.await("bye-sent")
		r.sippOK(panelCall, "the panel's call, its app registered in the grace")
		if got := r.status(phone, id); got != "ended" {
			t.Errorf("call %d: %s, want ended", id, got)
		}
	})

	t.Run("AnsweredNeverRegisters", func(t *testing.T) {
		// Answered in intercomd, no app ever registers: 480 once the ring
		// timeout and the grace are over (not tm's 408), the call ended, its
		// dialogs entry gone.
		invite := time.Now()
		panelCall := r.dial(p, p.passwd, "15", "unanswered.xml", false)
		id := newRing(t, phoneSock, seen)
		raw := n.want(t, "POST", callPath(id, "start"), phone.headers(), "", 200)
		r.sippOK(panelCall, "480 after the ring timeout and the grace")
		took := time.Since(invite)
		t.Logf("INVITE → 480 %v", took.Round(time.Millisecond))
		if took < sipRingAfter+sipGrace {
			t.Errorf("480 after %v, before the ring timeout and the grace %v", took, sipRingAfter+sipGrace)
		}
		if got := r.status(phone, id); got != "ended" {
			t.Errorf("call %d: %s, want ended", id, got)
		}
		if dump := r.htable("dialogs"); strings.Contains(dump, raw["number"].(string)) {
			t.Errorf("dialogs still holds number %s:\n%s", raw["number"], dump)
		}
	})

	t.Run("DialledUsers", func(t *testing.T) {
		// What the panel dialled reaches intercomd as a JSON string; it
		// judges it. Leading zeros are ignored; anything not a flat is 404,
		// never a 5xx, and rings nobody.
		anyRing := func(event) bool { return true }
		rings := phoneSock.count("intercom_ring", anyRing)
		panelCall := r.dial(p, p.passwd, "015", "cancel.xml", false)
		newRing(t, phoneSock, seen)
		r.sippOK(panelCall, "015 rings flat 15")
		for _, tt := range []struct{ user, want string }{
			{"071", "480 Nobody To Ring"}, // flat 71: nobody lives there
			{"+7", "404 No Such Flat"},
			{"0", "404 No Such Flat"},
			{"99999999999", "404 No Such Flat"},
			{"1;x", "404 No Such Flat"},
			{"1%22x%5C", "404 No Such Flat"}, // 1"x\ escaped
			{"1%00", "404 No Such Flat"},
			{strings.Repeat("9", 64), "404 No Such Flat"},
		} {
			if got := r.refusal(p, p.passwd, tt.user); got != tt.want {
				t.Errorf("dialled %q: %q, want %q", tt.user, got, tt.want)
			}
		}
		// A panel with the credentials Kamailio derives, unknown to intercomd.
		ghost := panel{username: "intercom999999"}
		mac := hmac.New(sha256.New, []byte(sipSecret))
		mac.Write([]byte("panel:" + ghost.username))
		ghost.passwd = base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		if got := r.refusal(ghost, ghost.passwd, "15"); got != "403 Unknown Panel" {
			t.Errorf("an unknown panel: %q, want 403 Unknown Panel", got)
		}
		if got := phoneSock.count("intercom_ring", anyRing); got != rings+1 {
			t.Errorf("%d rings, want the one of 015", got-rings)
		}
	})

	t.Run("ReconnectAtOnce", func(t *testing.T) {
		// An app's WebSocket closes; a fresh token for the same number
		// connects at once (not 403 Number Taken until the websocket
		// module's delayed clean-up), and then holds the number.
		number := "2999999995"
		fresh := func() string { return r.wsURL(token(t, sipSecret, number, time.Now().Add(time.Minute))) }
		for i := range 3 {
			c, code := wsHandshake(fresh())
			if code != 101 {
				t.Fatalf("connection %d for %s: %d, want 101", i+1, number, code)
			}
			if _, code := wsHandshake(fresh()); code != 403 {
				t.Errorf("a second connection while %d holds %s: %d, want 403", i+1, number, code)
			}
			wsClose(c)
		}
		// A connection that drops (no Close frame: an app killed) frees
		// its number once Kamailio has read the TCP FIN, milliseconds later
		// (nothing outside shows that moment, so the reconnect is retried
		// for up to a second).
		for i := range 3 {
			c, code := wsHandshake(fresh())
			if code != 101 {
				t.Fatalf("connection %d for %s: %d, want 101", i+1, number, code)
			}
			c.Close()
			dropped := time.Now()
			for code = 0; code != 101 && time.Since(dropped) < time.Second; {
				time.Sleep(20 * time.Millisecond)
				c, code = wsHandshake(fresh())
			}
			if code != 101 {
				t.Fatalf("after a drop, a connection for %s: %d for a second, want 101", number, code)
			}
			t.Logf("drop %d → reconnected in %v", i+1, time.Since(dropped).Round(time.Millisecond))
			wsClose(c)
		}
	})

	t.Run("OneConnectionPerNumber", func(t *testing.T) {
		// Several handshakes with one valid token at once, in Kamailio's
		// several TCP workers: exactly one connection may hold the number.
		for round := range 30 {
			number := fmt.Sprintf("29999%05d", round)
			u := r.wsURL(token(t, sipSecret, number, time.Now().Add(time.Minute)))
			const racers = 8
			codes := make(chan int, racers)
			conns := make(chan net.Conn, racers)
			begin := make(chan struct{})
			for range racers {
				go func() {
					<-begin
					c, code := wsHandshake(u)
					conns <- c
					codes <- code
				}()
			}
			close(begin)
			accepted, refused := 0, 0
			for range racers {
				switch code := <-codes; code {
				case 101:
					accepted++
				case 403:
					refused++
				default:
					t.Errorf("number %s: a handshake got %d", number, code)
				}
			}
			for range racers {
				if c := <-conns; c != nil {
					c.Close()
				}
			}
			if accepted != 1 {
				t.Fatalf("number %s: %d of %d simultaneous connections accepted (%d refused), want exactly 1",
					number, accepted, racers, refused)
			}
		}
	})

	t.Run("PanelThatRangOverHTTP", func(t *testing.T) {
		v := n.want(t, "POST", "/api/hw/v1/ring", bearer(p.secret), `{"flat":15}`, 201)
		id, number := int64(v["call_id"].(float64)), v["number"].(string)
		seen[id] = true
		// Another panel may not dial this call's number.
		other := r.provision("Gate 2")
		r.sippOK(r.dial(other, other.passwd, number, "refused-404.xml", false), "another panel dials the number")

		panelCall := r.dial(p, p.passwd, number, "panel-hangs-up.xml", false)
		phoneSock.await(t, "intercom_ring", id)
		raw := n.want(t, "POST", callPath(id, "start"), phone.headers(), "", 200)
		if raw["number"] != number {
			t.Fatalf("answer %v, ring number %s", raw, number)
		}
		a := r.app("--sip", raw["sip"].(string), "--number", number, "--host", sipDomain)
		a.await("bye-received")
		r.sippOK(panelCall, "the panel's call")
		if got := r.status(phone, id); got != "ended" {
			t.Errorf("call %d after the panel's BYE: %s, want ended", id, got)
		}
		phoneSock.await(t, "intercom_cancel", id) // the visitor left: the app is told
	})

	t.Run("WrongPanelCredentials", func(t *testing.T) {
		r.sippOK(r.dial(p, "not-the-password", "15", "refused-403.xml", false), "a wrong password")
		// Another panel's password under this panel's name.
		other := r.provision("Gate 3")
		r.sippOK(r.dial(p, other.passwd, "15", "refused-403.xml", false), "another panel's password")
	})

	t.Run("PanelRegistersOnlyItself", func(t *testing.T) {
		// A panel may register its own address; a call number (or any
		// other address) would take calls meant for the apps.
		r.sippOK(r.dial(p, p.passwd, p.username, "register-200.xml", false), "the panel's own address")
		r.sippOK(r.dial(p, p.passwd, "2999999997", "register-403.xml", false), "a call number")
		other := r.provision("Gate 4")
		r.sippOK(r.dial(p, p.passwd, other.username, "register-403.xml", false), "another panel's address")
	})

	t.Run("Tokens", func(t *testing.T) {
		number := "2999999998"
		for _, tt := range []struct {
			name string
			url  string
			want int
		}{
			{"valid", r.wsURL(token(t, sipSecret, number, time.Now().Add(time.Minute))), 101},
			{"forged", r.wsURL(token(t, "not-the-secret", number, time.Now().Add(time.Minute))), 403},
			{"expired", r.wsURL(token(t, sipSecret, number, time.Now().Add(-time.Second))), 403},
			{"not a call number", r.wsURL(token(t, sipSecret, "15", time.Now().Add(time.Minute))), 403},
			{"none", fmt.Sprintf("ws://127.0.0.1:%d/sip", r.wsPort), 403},
			{"garbage", r.wsURL("a.b.c"), 403},
		} {
			if got := r.probe(tt.url); got != tt.want {
				t.Errorf("%s token: %d, want %d", tt.name, got, tt.want)
			}
		}
		// A valid token for one number does not register another.
		a := r.app("--sip", r.wsURL(token(t, sipSecret, "2999999997", time.Now().Add(time.Minute))),
			"--number", "2999999996", "--host", sipDomain)
		if m := a.await("register-rejected"); m["status"] != float64(403) {
			t.Errorf("REGISTER of another number: %v", m)
		}
	})
}

// wsHandshake opens a SIP WebSocket at u and returns the connection (held
// open; nil on a network error) and the HTTP status of the handshake.
func wsHandshake(u string) (net.Conn, int) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, -1
	}
	c, err := net.DialTimeout("tcp", pu.Host, 5*time.Second)
	if err != nil {
		return nil, -1
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n",
		pu.RequestURI(), pu.Host)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return c, -1
	}
	c.SetDeadline(time.Time{})
	return c, res.StatusCode
}

// wsClose closes a WebSocket as a client does: a Close frame (1000), the
// server's Close and its end of the connection, then ours.
func wsClose(c net.Conn) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8}) // FIN+Close, masked (zero key), 1000
	io.Copy(io.Discard, c)
	c.Close()
}

// none fails if the socket got event typ of call id.
func (s *socketLog) none(t *testing.T, typ string, id int64) {
	t.Helper()
	if s.count(typ, forCall(id)) > 0 {
		t.Errorf("socket %s got %s of call %d: %v", s.id, typ, id, s.all())
	}
}

// TestSIPMedia proves voice flows both ways through rtpengine: the panel
// (sipp) plays sip-tester's g711a.pcap towards the address rtpengine gave it
// and echoes what reaches it; the app, a plain-RTP endpoint (APP_MEDIA=rtp:
// no DTLS in Node), sends its own PCMA frames to the address rtpengine gave
// it. The app must receive the panel's packets (panel → app) and its own
// back (app → panel → app), each leg through rtpengine, never directly.
func TestSIPMedia(t *testing.T) {
	r := startSIPRig(t, "rtp")
	n := r.node
	p, phone, sock := r.gateWithAlice(t)

	panelCall := r.dialIn(t.TempDir(), p, p.passwd, "15", "media.xml", true, "-d", "3000")
	id := newRing(t, sock, map[int64]bool{})
	raw := n.want(t, "POST", callPath(id, "start"), phone.headers(), "", 200)
	a := r.app("--sip", raw["sip"].(string), "--number", raw["number"].(string), "--host", sipDomain, "--media")
	offer := a.await("offer")["media"].(map[string]any)
	media := a.await("media")
	r.sippOK(panelCall, "the panel's call with audio")
	t.Logf("offer to the app %v; the app's counts %v", offer, media)
	if port := int(offer["port"].(float64)); offer["proto"] != "RTP/AVP" || offer["address"] != "127.0.0.1" ||
		port < r.mediaMin || port > r.mediaMax {
		t.Errorf("offer to the app: %v; want plain RTP on one of rtpengine's ports %d–%d", offer, r.mediaMin, r.mediaMax)
	}
	if got := r.status(phone, id); got != "ended" {
		t.Errorf("call %d: %s, want ended", id, got)
	}
	sent, fromPanel, echoed := media["sent"].(float64), media["fromPanel"].(float64), media["echoed"].(float64)
	if sent < 50 || fromPanel < 50 || echoed < 25 {
		t.Errorf("RTP through rtpengine: the app sent %v, got %v of the panel's and %v of its own back; want ≥ 50, ≥ 50, ≥ 25",
			sent, fromPanel, echoed)
	}
}

// TestSIPLongHold: a held INVITE lives until the ring timeout even when
// that is longer than tm's fr_timer (5 s), which once answered the panel
// 408 after 5 s whatever the ring timeout.
func TestSIPLongHold(t *testing.T) {
	const ringAfter = 7 * time.Second
	r := startSIPRigRinging(t, "webrtc", ringAfter)
	p, phone, sock := r.gateWithAlice(t)
	start := time.Now()
	panelCall := r.dial(p, p.passwd, "15", "unanswered.xml", false)
	id := newRing(t, sock, map[int64]bool{})
	r.sippOK(panelCall, "480 after the ring timeout")
	if took := time.Since(start); took < ringAfter {
		t.Errorf("480 after %v, before the ring timeout %v", took, ringAfter)
	}
	if got := r.status(phone, id); got != "missed" {
		t.Errorf("call %d: %s, want missed", id, got)
	}
}

// TestSIPCallLimits: Kamailio reports the voice connected when the app's
// 200 OK passes, and hangs up both legs when intercomd ends a call (here
// its longest call, 4 s); an answered call whose app never comes is ended
// by intercomd's connect deadline (3 s), and the panel hears so at once,
// not at the ring timeout (10 s).
func TestSIPCallLimits(t *testing.T) {
	const (
		ringAfter      = 10 * time.Second
		connectTimeout = 3 * time.Second
		maxDuration    = 4 * time.Second
	)
	r := startSIPRigWith(t, "webrtc", ringAfter, map[string]string{
		"INTERCOMD_ANSWER_CONNECT_TIMEOUT": connectTimeout.String(),
		"INTERCOMD_MAX_CALL_DURATION":      maxDuration.String(),
	})
	n := r.node
	p, phone, sock := r.gateWithAlice(t)
	seen := map[int64]bool{}
	adminCall := func(id int64) map[string]any {
		t.Helper()
		return n.want(t, "GET", "/api/admin/v1/calls/"+itoa(id), r.admin(), "", 200)
	}

	t.Run("ConnectedThenLongest", func(t *testing.T) {
		panelCall := r.dial(p, p.passwd, "15", "app-hangs-up.xml", false) // the panel gets a BYE, answers 200
		id := newRing(t, sock, seen)
		raw := n.want(t, "POST", callPath(id, "start"), phone.headers(), "", 200)
		a := r.app("--sip", raw["sip"].(string), "--number", raw["number"].(string), "--host", sipDomain)
		a.await("answered")
		answered := time.Now()
		a.await("bye-received")
		r.sippOK(panelCall, "the panel's call, hung up by Kamailio")
		took := time.Since(answered)
		t.Logf("the app's 200 OK → BYE at the app %v (the longest call %v)", took.Round(time.Millisecond), maxDuration)
		if took > maxDuration+2*time.Second {
			t.Errorf("BYE %v after the answer, want within 2 s of the longest call %v", took, maxDuration)
		}
		c := adminCall(id)
		if c["status"] != "ended" || c["connected_at"] == nil {
			t.Errorf("call %d: status %v, connected_at %v; want ended, connected", id, c["status"], c["connected_at"])
		}
	})

	t.Run("AnsweredNeverConnects", func(t *testing.T) {
		invite := time.Now()
		panelCall := r.dial(p, p.passwd, "15", "call-over.xml", false)
		id := newRing(t, sock, seen)
		n.want(t, "POST", callPath(id, "start"), phone.headers(), "", 200)
		r.sippOK(panelCall, "480 once intercomd ended the call")
		took := time.Since(invite)
		t.Logf("INVITE → 480 %v (connect deadline %v, ring timeout %v)", took.Round(time.Millisecond), connectTimeout, ringAfter)
		if took >= ringAfter {
			t.Errorf("the panel's 480 after %v: not before the ring timeout %v", took, ringAfter)
		}
		if c := adminCall(id); c["status"] != "ended" || c["connected_at"] != nil {
			t.Errorf("call %d: status %v, connected_at %v; want ended, never connected", id, c["status"], c["connected_at"])
		}
	})
}
