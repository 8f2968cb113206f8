package natsbus_test

import (
	"bufio"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"intercom"
	"intercom/bustest"
	"intercom/natsbus"
)

// TestShippedNATSConfig runs deploy/nats/nats-server.conf with Debian's
// nats-server: three servers routed to each other, as the file says, on
// loopback ports of their own and with passwords of the test's. A node on
// the first server and a node on the third share events, presence, grants
// and closes across the routes; a wrong password is refused; when its
// server is lost, the first node moves to the other server it was given,
// tells its sockets to reconnect, and goes on.
func TestShippedNATSConfig(t *testing.T) {
	bin := natsServerBinary(t)
	conf, err := os.ReadFile("../deploy/nats/nats-server.conf")
	if err != nil {
		t.Fatal(err)
	}
	clientPassword, routePassword := rand.Text(), rand.Text()
	var clients, routes [3]string
	for i := range 3 {
		clients[i], routes[i] = freePort(t), freePort(t)
	}
	var urls [3]string
	var procs [3]*exec.Cmd
	for i := range 3 {
		r := strings.NewReplacer(
			"listen: 0.0.0.0:4222", "listen: 127.0.0.1:"+clients[i],
			"listen: 0.0.0.0:6222", "listen: 127.0.0.1:"+routes[i],
			"http: 127.0.0.1:8222", "",
			"CHANGE-ME-intercomd", clientPassword,
			"CHANGE-ME-routes", routePassword,
			"nats1.internal:6222", "127.0.0.1:"+routes[0],
			"nats2.internal:6222", "127.0.0.1:"+routes[1],
			"nats3.internal:6222", "127.0.0.1:"+routes[2])
		text := r.Replace(string(conf))
		for line := range strings.Lines(text) {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			for _, left := range []string{"0.0.0.0", "CHANGE-ME", ".internal", "8222"} {
				if strings.Contains(line, left) {
					t.Fatalf("the shipped config changed: %q is left after the test's replacements: %s", left, line)
				}
			}
		}
		path := t.TempDir() + "/nats-server.conf"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		procs[i] = startNATSServer(t, bin, path)
		urls[i] = "nats://intercomd:" + clientPassword + "@127.0.0.1:" + clients[i]
	}

	if _, err := natsbus.New(natsbus.Config{URL: "nats://intercomd:wrong@127.0.0.1:" + clients[0]}, bustest.NewHub()); intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
		t.Fatalf("a wrong password: %v, want refused", err)
	}
	ha, hc := bustest.NewHub(), bustest.NewHub()
	busA, busC := newBus(t, urls[0]+","+urls[1], ha), newBus(t, urls[2], hc)
	const ch = "private-token.shipped"
	<-busC.Subscription(ch, true)
	// The subscription travels the route from the third server to the first.
	bustest.WaitFor(t, "A sees C's subscription across the servers", func() bool { return busA.Subscribed(ch) })
	busA.Publish(ch, "ev", []byte(`{}`), "")
	busA.Authorized(busC.Node()+".1", ch, "shipped", 1, time.Now().Add(time.Hour))
	busA.CloseToken("shipped")
	hc.Await(t, "the event, grant and close on C", func(h *bustest.Hub) bool { return len(h.All()) == 3 })
	if got, want := hc.All(), []string{ch + "|ev|{}|", busC.Node() + ".1|" + ch + "|shipped", "token:shipped"}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("C got %q, want %q", got, want)
	}
	<-busC.Subscription(ch, false)
	bustest.WaitFor(t, "A sees C's unsubscription", func() bool { return !busA.Subscribed(ch) })

	// A's server (the first or the second: a node picks one of its list at
	// random) is lost: A moves to the other.
	lost := slices.IndexFunc(clients[:2], func(port string) bool { return strings.HasSuffix(busA.Server(), ":"+port) })
	if lost < 0 {
		t.Fatalf("A is on %s, none of its servers", busA.Server())
	}
	procs[lost].Process.Kill()
	ha.Await(t, "A's sockets told to reconnect", func(h *bustest.Hub) bool { return h.Reconnects() == 1 })
	<-busC.Subscription(ch, true)
	bustest.WaitFor(t, "A, on another server, sees C's subscription", func() bool { return busA.Subscribed(ch) })
	busA.Publish(ch, "after", []byte(`{}`), "")
	hc.Await(t, "the event after the loss", func(h *bustest.Hub) bool { return len(h.All()) == 4 })
	if got := hc.All()[3]; got != ch+"|after|{}|" {
		t.Fatalf("C got %q after the loss", got)
	}
}

// natsServerBinary is Debian's nats-server, or skips the test (fails it
// under CI).
func natsServerBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil { // outside a user's PATH
		return "/usr/sbin/nats-server"
	}
	msg := "nats-server is not installed: this test runs deploy/nats/nats-server.conf with it (.ci/run installs Debian's)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startNATSServer runs bin with the config at path until t ends, and waits
// until it says it is ready.
func startNATSServer(t *testing.T, bin, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-c", path)
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Server is ready") {
				close(ready)
				break
			}
		}
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("nats-server -c %s did not get ready in 10 s", path)
	}
	return cmd
}

// freePort is a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
