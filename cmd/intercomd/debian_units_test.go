package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The SIP server's daemons run under the systemd units of Debian's own
// packages (README, "Running it in production", step 4): kamailio.service,
// rtpengine-daemon.service and coturn.service, each reading its config at
// the path the package gave it, where the operator installs deploy/'s file.
// TestDebianUnits holds that to account without a running systemd.
//
// It reads each unit as the package installed it, checks it with
// `systemd-analyze verify`, and starts its ExecStart as systemd would:
// Environment= and EnvironmentFile= expanded into a clean environment
// ($VAR split into words, ${VAR} kept whole), User= and Group= with the
// user's groups, AmbientCapabilities=, RuntimeDirectory= created for the
// user (and removed after), Type=notify awaited on a NOTIFY_SOCKET and
// Type=forking awaited by the first process's exit and the PIDFile=, and at
// the end SIGTERM to all its processes, each awaited (KillMode=control-group,
// with process groups standing in for the cgroup). The one
// change is the config's path: the unit's /etc/kamailio/kamailio.cfg,
// /etc/rtpengine/rtpengine.conf and /etc/turnserver.conf name a copy of
// deploy/'s file, byte for byte, installed with the modes the README gives.
// /etc/default/kamailio is the package's file with the README's lines
// appended, as the README says. Not applied: LimitNOFILE=, PrivateTmp=,
// InaccessibleDirectories= (limits and sandboxing the configs do not rely
// on), and rtpengine's ExecStartPre=+rtpengine-iptables-setup, which would
// change this host's firewall: the test checks instead that the shipped
// config forwards in userspace (table = -1), for which the script does
// nothing.
//
// The daemons run in a network namespace of their own, whose only
// interfaces are loopback and a veth pair holding the README's public
// address (203.0.113.5): the shipped ports (5060, 2223, 3478…) and
// addresses are used as they are, and nothing on this host is disturbed.
// Each then shows it serves: Kamailio answers OPTIONS over UDP on
// SIP_LISTEN and, over a WebSocket on WS_LISTEN opened with a token signed
// with SIP_SECRET (another secret's token is refused), a REGISTER of the
// token's number; rtpengine answers an ng ping on listen-ng; coturn answers
// a STUN Binding request on 3478 and announces the config's realm.
func TestDebianUnits(t *testing.T) {
	missing := func(msg string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipped: " + msg)
	}
	if os.Geteuid() != 0 {
		missing("not root: the units run their daemons as their own users (User=), which takes root")
	}
	for _, p := range []struct{ unit, pkg string }{
		{"kamailio.service", "kamailio"}, {"rtpengine-daemon.service", "rtpengine-daemon"}, {"coturn.service", "coturn"},
	} {
		if unitPath(p.unit) == "" {
			missing(p.unit + " is not installed: this test runs it with deploy/'s config (.ci/run installs " + p.pkg + ")")
		}
	}
	if _, err := exec.LookPath("ip"); err != nil {
		missing("ip is not installed: this test gives the daemons a network of their own with it (package iproute2)")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	installs := readmeInstalls(t, readme)
	if m := regexp.MustCompile(`(?m)^systemctl enable --now (.+)$`).FindAllSubmatch(readme, -1); !slices.ContainsFunc(m, func(m [][]byte) bool {
		units := strings.Fields(string(m[1]))
		slices.Sort(units)
		return slices.Equal(units, []string{"coturn", "kamailio", "rtpengine-daemon"})
	}) {
		t.Error("README.md has no `systemctl enable --now` line for exactly kamailio, rtpengine-daemon and coturn")
	}
	ns := newNetns(t)

	t.Run("kamailio", func(t *testing.T) {
		cfg := installs.copy(t, "/etc/kamailio/kamailio.cfg", "deploy/kamailio/kamailio.cfg")
		defaults, err := os.ReadFile("/etc/default/kamailio")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		lines := readmeBlock(t, readme, "# /etc/default/kamailio")
		env := filepath.Join(t.TempDir(), "kamailio.defaults")
		if err := os.WriteFile(env, append(defaults, []byte("\n"+strings.Join(lines, "\n")+"\n")...), 0o600); err != nil {
			t.Fatal(err)
		}
		d := startUnit(t, ns, "kamailio.service", map[string]string{
			"/etc/kamailio/kamailio.cfg": cfg, "/etc/default/kamailio": env,
		})
		sipAddr := strings.TrimPrefix(d.env["SIP_LISTEN"], "udp:")
		wsAddr := strings.TrimPrefix(d.env["WS_LISTEN"], "tcp:")
		if sipAddr == d.env["SIP_LISTEN"] || wsAddr == d.env["WS_LISTEN"] {
			t.Fatalf("the README's SIP_LISTEN %q and WS_LISTEN %q: want udp:… and tcp:…", d.env["SIP_LISTEN"], d.env["WS_LISTEN"])
		}

		// OPTIONS over UDP at the panels' address.
		c := ns.dial(t, "udp", sipAddr)
		defer c.Close()
		branch := "z9hG4bK" + randomHex(8)
		options := "OPTIONS sip:" + sipAddr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + c.LocalAddr().String() + ";rport;branch=" + branch + "\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:probe@" + d.env["SIP_DOMAIN"] + ">;tag=" + randomHex(4) + "\r\n" +
			"To: <sip:" + sipAddr + ">\r\nCall-ID: " + randomHex(8) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		reply := askUDP(t, c, []byte(options), func(b []byte) bool { return bytes.Contains(b, []byte(branch)) }, d)
		if !bytes.HasPrefix(reply, []byte("SIP/2.0 200 Keepalive")) {
			t.Errorf("OPTIONS to %s: %q; want 200 Keepalive", sipAddr, firstLine(reply))
		}

		// A WebSocket with a token for a number, as intercomd hands an
		// app, and that number's REGISTER; a token signed with another
		// secret than SIP_SECRET is refused at the handshake.
		number := "2000000042"
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		dialWS := func(tok string) (*websocket.Conn, *http.Response, error) {
			conn := ns.dial(t, "tcp", wsAddr)
			client := &http.Client{Transport: &http.Transport{
				DialContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil },
			}}
			return websocket.Dial(ctx, "ws://"+wsAddr+"/sip?token="+tok,
				&websocket.DialOptions{HTTPClient: client, Subprotocols: []string{"sip"}})
		}
		if ws, res, err := dialWS(token(t, d.env["SIP_SECRET"]+"-not", number, time.Now().Add(time.Minute))); err == nil {
			ws.CloseNow()
			t.Error("a WebSocket with a token signed with another secret: accepted; want 403")
		} else if res == nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("a WebSocket with a token signed with another secret: %v (%v); want 403", err, res)
		}
		ws, res, err := dialWS(token(t, d.env["SIP_SECRET"], number, time.Now().Add(time.Minute)))
		if err != nil {
			t.Fatalf("WebSocket to %s/sip: %v (%v)\n%s", wsAddr, err, res, d.log())
		}
		defer ws.CloseNow()
		register := "REGISTER sip:" + d.env["SIP_DOMAIN"] + " SIP/2.0\r\n" +
			"Via: SIP/2.0/WS probe.invalid;branch=z9hG4bK" + randomHex(8) + "\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:" + number + "@" + d.env["SIP_DOMAIN"] + ">;tag=" + randomHex(4) + "\r\n" +
			"To: <sip:" + number + "@" + d.env["SIP_DOMAIN"] + ">\r\nCall-ID: " + randomHex(8) + "\r\nCSeq: 1 REGISTER\r\n" +
			"Contact: <sip:" + number + "@probe.invalid;transport=ws>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
		if err := ws.Write(ctx, websocket.MessageText, []byte(register)); err != nil {
			t.Fatal(err)
		}
		_, got, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("REGISTER over the WebSocket: %v\n%s", err, d.log())
		}
		if !bytes.HasPrefix(got, []byte("SIP/2.0 200")) {
			t.Errorf("REGISTER of %s over the WebSocket: %q; want 200\n%s", number, firstLine(got), d.log())
		}
	})

	t.Run("rtpengine", func(t *testing.T) {
		shipped := filepath.Join("..", "..", "deploy", "rtpengine", "rtpengine.conf")
		conf := installs.copy(t, "/etc/rtpengine/rtpengine.conf", "deploy/rtpengine/rtpengine.conf")
		if v := iniValue(t, shipped, "table"); v != "-1" {
			t.Errorf("deploy/rtpengine/rtpengine.conf: table = %q; want -1 (userspace: the unit's iptables set-up then does nothing)", v)
		}
		d := startUnit(t, ns, "rtpengine-daemon.service", map[string]string{"/etc/rtpengine/rtpengine.conf": conf})
		ng := iniValue(t, shipped, "listen-ng")
		c := ns.dial(t, "udp", ng)
		defer c.Close()
		cookie := randomHex(6)
		reply := askUDP(t, c, []byte(cookie+" d7:command4:pinge"), func(b []byte) bool { return bytes.HasPrefix(b, []byte(cookie+" ")) }, d)
		if want := cookie + " d6:result4:ponge"; string(reply) != want {
			t.Errorf("ng ping on %s: %q; want %q", ng, reply, want)
		}
	})

	t.Run("coturn", func(t *testing.T) {
		// The config holds static-auth-secret: the README installs it
		// readable by root and the service's group only.
		conf := installs.copy(t, "/etc/turnserver.conf", "deploy/coturn/turnserver.conf")
		d := startUnit(t, ns, "coturn.service", map[string]string{"/etc/turnserver.conf": conf})
		addr := net.JoinHostPort(netnsPublicIP, iniValue(t, filepath.Join("..", "..", "deploy", "coturn", "turnserver.conf"), "listening-port"))
		c := ns.dial(t, "udp", addr)
		defer c.Close()
		req := make([]byte, 20)
		binary.BigEndian.PutUint16(req[0:], 0x0001) // Binding request, no attributes
		binary.BigEndian.PutUint32(req[4:], 0x2112A442)
		rand.Read(req[8:])
		reply := askUDP(t, c, req, func(b []byte) bool { return len(b) >= 20 && bytes.Equal(b[8:20], req[8:20]) }, d)
		if binary.BigEndian.Uint16(reply) != 0x0101 {
			t.Errorf("STUN Binding request to %s: message type %#04x; want 0x0101 (success)", addr, binary.BigEndian.Uint16(reply))
		}
		// coturn serves STUN with its defaults when it cannot read its
		// config: the realm it announces is the config's.
		realm := iniValue(t, filepath.Join("..", "..", "deploy", "coturn", "turnserver.conf"), "realm")
		if log := d.log(); !strings.Contains(log, "Default realm: "+realm+"\n") {
			t.Errorf("coturn did not take the config's realm %s: its log:\n%s", realm, log)
		}
	})
}

// netnsPublicIP is the README's example public address, held by the test
// namespace's veth interface.
const netnsPublicIP = "203.0.113.5"

// netns is a network namespace held by one locked OS thread: what runs
// there (dials, daemons started) lives in it.
type netns struct {
	run chan func()
}

// newNetns makes a namespace with loopback up and a veth pair, one end
// holding netnsPublicIP/24 (coturn wants one address that is not
// loopback), until t ends.
func newNetns(t *testing.T) *netns {
	t.Helper()
	ns := &netns{run: make(chan func())}
	ready := make(chan error)
	go func() {
		// Never unlocked: the thread ends with this goroutine, and its
		// namespace with it, so no other goroutine ever runs there.
		runtime.LockOSThread()
		if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for f := range ns.run {
			f()
		}
	}()
	if err := <-ready; err != nil {
		t.Fatalf("a network namespace: %v", err)
	}
	t.Cleanup(func() { close(ns.run) })
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "pub0", "type", "veth", "peer", "name", "pub1"},
		{"addr", "add", netnsPublicIP + "/24", "dev", "pub0"},
		{"link", "set", "pub1", "up"},
		{"link", "set", "pub0", "up"},
	} {
		var out []byte
		var err error
		ns.do(func() { out, err = exec.Command("ip", args...).CombinedOutput() })
		if err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return ns
}

// do runs f on the namespace's thread and waits for it.
func (ns *netns) do(f func()) {
	done := make(chan struct{})
	ns.run <- func() { defer close(done); f() }
	<-done
}

// dial connects from inside the namespace.
func (ns *netns) dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	ns.do(func() { c, err = net.DialTimeout(network, addr, 5*time.Second) })
	if err != nil {
		t.Fatalf("dialling %s %s: %v", network, addr, err)
	}
	return c
}

// unitPath is where Debian's package installed unit, or "".
func unitPath(unit string) string {
	for _, dir := range []string{"/lib/systemd/system", "/usr/lib/systemd/system"} {
		if _, err := os.Stat(filepath.Join(dir, unit)); err == nil {
			return filepath.Join(dir, unit)
		}
	}
	return ""
}

// readmeInstall is an `install -m MODE [-g GROUP] deploy/… /etc/…` line of
// the README.
type readmeInstall struct {
	src   string
	mode  os.FileMode
	group string
}

// installLines are the README's install lines from deploy/ to /etc/, by
// destination.
type installLines map[string]readmeInstall

// readmeInstalls reads the README's install lines.
func readmeInstalls(t *testing.T, readme []byte) installLines {
	t.Helper()
	in := installLines{}
	for _, m := range regexp.MustCompile(`(?m)^install -m ([0-7]+)(?: -g (\S+))? (deploy/\S+) (/etc/\S+)`).FindAllSubmatch(readme, -1) {
		mode, _ := strconv.ParseUint(string(m[1]), 8, 32)
		group := string(m[2])
		if group == "" {
			group = "root"
		}
		in[string(m[4])] = readmeInstall{src: string(m[3]), mode: os.FileMode(mode), group: group}
	}
	return in
}

// copy installs, as the README's line for dst does, a copy of the file it
// names, which must be src, and returns the copy's path.
func (in installLines) copy(t *testing.T, dst, src string) string {
	t.Helper()
	l, ok := in[dst]
	if !ok || l.src != src {
		t.Fatalf("README.md has no line `install -m … %s %s` (found %+v)", src, dst, l)
	}
	return installCopy(t, filepath.Join("..", "..", filepath.FromSlash(src)), l.mode, l.group)
}

// installCopy copies src byte for byte into a directory the services'
// users can read, owned by root and group, with mode.
func installCopy(t *testing.T, src string, mode os.FileMode, group string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(g.Gid)
	if err := os.Chown(dst, 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
	return dst
}

// readmeBlock is the KEY=VALUE lines of the README's fenced block whose
// first line is first.
func readmeBlock(t *testing.T, readme []byte, first string) []string {
	t.Helper()
	_, after, ok := bytes.Cut(readme, []byte("```sh\n"+first))
	if !ok {
		t.Fatalf("README.md has no ```sh block starting %q", first)
	}
	block, _, _ := bytes.Cut(after, []byte("```"))
	var lines []string
	for _, l := range strings.Split(string(block), "\n")[1:] {
		if l != "" && !strings.HasPrefix(l, "#") {
			// An EnvironmentFile knows no trailing comments: such a line
			// would set a value with the comment in it.
			if !regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=\S*$`).MatchString(l) {
				t.Fatalf("README.md's block %q: %q is not KEY=VALUE", first, l)
			}
			lines = append(lines, l)
		}
	}
	return lines
}

// iniValue is key's value in an ini-style config (key = value or key=value).
func iniValue(t *testing.T, path, key string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s*=\s*(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s sets no %s", path, key)
	}
	return string(m[1])
}

// unitService is the [Service] section of a unit file: each key's values
// in order.
func unitService(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "["):
			section = l
		case section == "[Service]":
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				t.Fatalf("%s: %q", path, l)
			}
			keys[strings.TrimSpace(k)] = append(keys[strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// unquote splits a unit's value into words, honouring '…' and "…".
func unquote(v string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, rune(0)
	for _, r := range v {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '\'' || r == '"'):
			quote, in = r, true
		case quote == 0 && (r == ' ' || r == '\t'):
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// envFile reads a systemd EnvironmentFile into env.
func envFile(t *testing.T, path string, env map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue // systemd ignores such a line too
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
}

// capabilities names the capabilities the units raise.
var capabilities = map[string]uintptr{"CAP_NET_ADMIN": 12, "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_NICE": 23, "CAP_NET_RAW": 13}

// daemon is a unit's service, started.
type daemon struct {
	env      map[string]string
	logPath  string
	uid, gid int // the unit's User= and Group=
}

// runsAs fails t unless pid's real and effective user and group are the
// unit's.
func (d *daemon) runsAs(t *testing.T, unit string, pid int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("Uid:\t%d\t%d\t", d.uid, d.uid), fmt.Sprintf("Gid:\t%d\t%d\t", d.gid, d.gid),
	} {
		if !bytes.Contains(b, []byte("\n"+want)) {
			t.Errorf("%s: process %d does not run as the unit's user and group (%q):\n%s", unit, pid, want, b)
		}
	}
}

// log is what the daemon wrote to stdout and stderr (the journal).
func (d *daemon) log() string {
	b, _ := os.ReadFile(d.logPath)
	return lastLines(string(b), 60)
}

// startUnit starts unit's service in ns as systemd would, with paths
// (the unit's own paths: its config, an EnvironmentFile) read from the
// given files instead, and stops it when t ends. Each path must occur.
func startUnit(t *testing.T, ns *netns, unit string, paths map[string]string) *daemon {
	t.Helper()
	path := unitPath(unit)
	// systemd-analyze verify loads the unit offline, without systemd as
	// PID 1 (man pages are not installed in minimal systems: not checked).
	if out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify %s: %v\n%s", path, err, out)
	}
	svc := unitService(t, path)
	used := map[string]bool{}
	swap := func(s string) string {
		for from, to := range paths {
			if strings.Contains(s, from) {
				used[from] = true
				s = strings.ReplaceAll(s, from, to)
			}
		}
		return s
	}

	// The environment: systemd's own, then Environment=, then the files.
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, v := range svc["Environment"] {
		for _, w := range unquote(swap(v)) {
			k, v, _ := strings.Cut(w, "=")
			env[k] = v
		}
	}
	for _, v := range svc["EnvironmentFile"] {
		optional := strings.HasPrefix(v, "-")
		pattern := swap(strings.TrimPrefix(v, "-"))
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 && !optional {
			t.Fatalf("%s: EnvironmentFile %s is missing", unit, pattern)
		}
		for _, f := range files {
			envFile(t, f, env)
		}
	}
	for k, v := range env {
		env[k] = swap(v)
	}

	// The user, its groups, its runtime directory.
	if len(svc["User"]) != 1 {
		t.Fatalf("%s: User= %q; want one user (root is not what this test checks)", unit, svc["User"])
	}
	u, err := user.Lookup(svc["User"][0])
	if err != nil {
		t.Fatalf("%s: User=%s: %v", unit, svc["User"][0], err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if g := svc["Group"]; len(g) > 0 {
		grp, err := user.LookupGroup(g[0])
		if err != nil {
			t.Fatalf("%s: Group=%s: %v", unit, g[0], err)
		}
		gid, _ = strconv.Atoi(grp.Gid)
	}
	var groups []uint32
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			n, _ := strconv.Atoi(id)
			groups = append(groups, uint32(n))
		}
	}
	env["USER"], env["LOGNAME"], env["HOME"] = u.Username, u.Username, u.HomeDir
	for _, name := range svc["RuntimeDirectory"] {
		dir := filepath.Join("/run", name)
		mode := os.FileMode(0o755)
		if m := svc["RuntimeDirectoryMode"]; len(m) > 0 {
			n, err := strconv.ParseUint(m[0], 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			mode = os.FileMode(n)
		}
		// A runtime directory that holds anything may be a running
		// service's: its PID file and sockets are not this test's to take.
		// An empty one (left by the package's install, or made at boot)
		// is used, and left as it was found.
		entries, err := os.ReadDir(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(dir, mode); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) }) // systemd's RuntimeDirectoryPreserve=no
		case err != nil || len(entries) > 0:
			msg := fmt.Sprintf("%s: %s is not empty (%v): is the service running on this host? This test runs it itself", unit, dir, err)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip("skipped: " + msg)
		default:
			was, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { restoreDir(t, dir, was) })
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		env["RUNTIME_DIRECTORY"] = dir
	}
	var ambient []uintptr
	for _, v := range svc["AmbientCapabilities"] {
		for _, c := range strings.Fields(v) {
			n, ok := capabilities[c]
			if !ok {
				t.Fatalf("%s: AmbientCapabilities %s: unknown to this test", unit, c)
			}
			ambient = append(ambient, n)
		}
	}

	// ExecStart: "$VAR" alone is split into words, "${VAR}" kept whole.
	if len(svc["ExecStart"]) != 1 {
		t.Fatalf("%s: %d ExecStart lines; want 1", unit, len(svc["ExecStart"]))
	}
	var argv []string
	for _, w := range unquote(strings.TrimLeft(svc["ExecStart"][0], "-@:+!")) {
		if m := regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)$`).FindStringSubmatch(w); m != nil {
			argv = append(argv, strings.Fields(env[m[1]])...)
			continue
		}
		w = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).ReplaceAllStringFunc(w, func(s string) string {
			return env[s[2:len(s)-1]]
		})
		argv = append(argv, swap(w))
	}
	for from := range paths {
		if !used[from] {
			t.Fatalf("%s never reads %s: the test would not run the shipped file (ExecStart=%s)", unit, from, svc["ExecStart"][0])
		}
	}

	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	typ := "simple"
	if v := svc["Type"]; len(v) > 0 {
		typ = v[0]
	}
	var notify *net.UnixConn
	if typ == "notify" {
		sock := filepath.Join(dir, "notify")
		notify, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer notify.Close()
		if err := os.Chmod(sock, 0o777); err != nil {
			t.Fatal(err)
		}
		env["NOTIFY_SOCKET"] = sock
	}
	d := &daemon{env: env, logPath: filepath.Join(dir, "journal"), uid: uid, gid: gid}
	logFile, err := os.Create(d.logPath) // a file, not a pipe: a forking daemon's children keep it
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = logFile, logFile
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups},
		AmbientCaps: ambient,
		Setsid:      true,
	}
	t.Logf("%s: %s", unit, strings.Join(argv, " "))
	ns.do(func() { err = cmd.Start() })
	if err != nil {
		t.Fatalf("%s: %v", unit, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	switch typ {
	case "notify":
		t.Cleanup(func() {
			select {
			case err := <-exited:
				exited <- err
				t.Errorf("%s: the main process exited while the test ran: %v\n%s", unit, err, d.log())
			default:
			}
			stopService(t, unit, cmd.Process.Pid)
			<-exited
		})
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 4096)
			var all []string
			for {
				notify.SetReadDeadline(time.Now().Add(20 * time.Second))
				n, err := notify.Read(buf)
				if err != nil {
					got <- "error: " + err.Error() + " after " + strings.Join(all, "|")
					return
				}
				all = append(all, string(buf[:n]))
				if regexp.MustCompile(`(?m)^READY=1$`).Match(buf[:n]) {
					got <- "READY=1"
					return
				}
			}
		}()
		select {
		case s := <-got:
			if s != "READY=1" {
				t.Fatalf("%s: no READY=1 on NOTIFY_SOCKET (%s)\n%s", unit, s, d.log())
			}
		case err := <-exited:
			exited <- err
			t.Fatalf("%s: exited before READY=1: %v\n%s", unit, err, d.log())
		}
		// The main process stays (the unit's -f wins over a config's
		// foreground = false): systemd would take its exit for the
		// service's.
		if !alive(cmd.Process.Pid) {
			t.Fatalf("%s: the main process exited after READY=1\n%s", unit, d.log())
		}
		d.runsAs(t, unit, cmd.Process.Pid)
	case "forking":
		t.Cleanup(func() { cmd.Process.Kill() }) // the start-up process, should it hang
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("%s: the start-up process failed: %v\n%s", unit, err, d.log())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the start-up process did not exit in 20 s\n%s", unit, d.log())
		}
		pidFile := svc["PIDFile"]
		if len(pidFile) == 0 {
			t.Fatalf("%s: Type=forking without PIDFile=", unit)
		}
		// As systemd, wait for the daemon to write it.
		var b []byte
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if b, err = os.ReadFile(pidFile[0]); err == nil && len(bytes.TrimSpace(b)) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: PIDFile %s: %v\n%s", unit, pidFile[0], err, d.log())
			}
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || !alive(pid) {
			t.Fatalf("%s: PIDFile %s holds %q, no live process\n%s", unit, pidFile[0], b, d.log())
		}
		d.runsAs(t, unit, pid)
		t.Cleanup(func() {
			if !alive(pid) {
				t.Errorf("%s: the main process %d exited while the test ran\n%s", unit, pid, d.log())
			}
			// The daemon made a session of its own (setsid): its
			// workers are in its process group.
			pgid, err := syscall.Getpgid(pid)
			if err != nil {
				t.Errorf("%s: the process group of %d: %v", unit, pid, err)
				pgid = pid
			}
			stopService(t, unit, cmd.Process.Pid, pgid)
		})
	default:
		t.Fatalf("%s: Type=%s: this test knows notify and forking", unit, typ)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s's output:\n%s", unit, d.log())
		}
	})
	return d
}

// stopService stops a service as systemd's KillMode=control-group does:
// SIGTERM to every process of the service (here: of its process groups),
// then the wait for all of them to exit, SIGKILL after 15 s.
func stopService(t *testing.T, unit string, pgids ...int) {
	t.Helper()
	for _, g := range pgids {
		syscall.Kill(-g, syscall.SIGTERM)
	}
	killed := false
	for deadline := time.Now().Add(15 * time.Second); len(groupProcesses(pgids...)) > 0; time.Sleep(20 * time.Millisecond) {
		if !killed && time.Now().After(deadline) {
			t.Errorf("%s: processes %v still there 15 s after SIGTERM", unit, groupProcesses(pgids...))
			for _, g := range pgids {
				syscall.Kill(-g, syscall.SIGKILL)
			}
			killed = true
		}
	}
}

// groupProcesses are the processes in the process groups pgids that have
// not exited.
func groupProcesses(pgids ...int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		_, rest, _ := bytes.Cut(b, []byte(") "))
		f := strings.Fields(string(rest)) // state, ppid, pgrp, …
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if pgrp, _ := strconv.Atoi(f[2]); slices.Contains(pgids, pgrp) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive says whether pid is a process that has not exited (a zombie has).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := bytes.Cut(b, []byte(") "))
	return len(rest) > 0 && rest[0] != 'Z' && rest[0] != 'X'
}

// askUDP sends req on c until a datagram for which match holds comes back
// (each try waits 200 ms for it; 10 s in all), and returns it.
func askUDP(t *testing.T, c net.Conn, req []byte, match func([]byte) bool, d *daemon) []byte {
	t.Helper()
	buf := make([]byte, 8192)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, err := c.Read(buf)
			if err != nil {
				break // the next try
			}
			if match(buf[:n]) {
				return bytes.Clone(buf[:n])
			}
		}
	}
	t.Fatalf("no answer from %s in 10 s\n%s", c.RemoteAddr(), d.log())
	return nil
}

// firstLine is b's first line.
func firstLine(b []byte) string {
	l, _, _ := bytes.Cut(b, []byte("\r\n"))
	return string(l)
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// restoreDir empties dir and gives it back the mode and owner it had (was).
func restoreDir(t *testing.T, dir string, was os.FileInfo) {
	defer func() {
		if err := os.Chmod(dir, was.Mode().Perm()); err != nil {
			t.Error(err)
		}
		if st, ok := was.Sys().(*syscall.Stat_t); ok {
			if err := os.Chown(dir, int(st.Uid), int(st.Gid)); err != nil {
				t.Error(err)
			}
		}
	}()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Error(err)
		return
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Error(err)
		}
	}
}
