package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"intercom/natsbus/natstest"
	"intercom/postgres/pgtest"
	"intercom/pusher/pusherclient"
)

// TestClusterCallFlow starts three nodes through run() on one PostgreSQL
// database and drives a whole call flow across them (API.md §3 and §6, issue
// 8 §3): every request, socket and signature of a device is on a different
// node, an answer race runs on two nodes, and the node that rang dies before
// the call times out. It runs on each bus: PostgreSQL's LISTEN/NOTIFY, and
// NATS (a server in the test's process).
func TestClusterCallFlow(t *testing.T) { onEachBus(t, 3, clusterCallFlow) }

// onEachBus runs test as a subtest on each bus a cluster may use:
// PostgreSQL's LISTEN/NOTIFY, and NATS (a server in the test's process).
// test starts its nodes with busArgs among their flags, and calls check
// once they are started: it fails unless all nodes of them use the bus.
func onEachBus(t *testing.T, nodes int, test func(t *testing.T, busArgs []string, check func(*testing.T))) {
	t.Run("postgres", func(t *testing.T) { test(t, nil, func(*testing.T) {}) })
	t.Run("nats", func(t *testing.T) {
		srv := natstest.Start(t)
		test(t, []string{"--bus", srv.ClientURL()}, func(t *testing.T) {
			t.Helper()
			if n := srv.NumClients(); n != nodes {
				t.Fatalf("the NATS server has %d clients, want the %d nodes", n, nodes)
			}
		})
	})
}

func clusterCallFlow(t *testing.T, busArgs []string, checkBus func(*testing.T)) {
	db := pgtest.NewDatabase(t)
	panel := newControlPanel(t)
	nodes := []*node{startNode(t, t, db, "1", busArgs...), startNode(t, t, db, "2", busArgs...), startNode(t, t, db, "3", busArgs...)}
	checkBus(t)
	top := t // sockets and nodes opened in a step live until the whole test ends

	var (
		intercomID int64
		secret     string
		alice      = map[string]*clusterDevice{}
		devA, devB *clusterDevice // A: login on 2, socket on 3, signed on 1; B: login on 3, socket on 2, signed on 1
		sockA      *socketLog
		sockB      *socketLog
		call1      int64 // answered, then ended
		call2      int64 // rang when node 1 died
	)

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"provision on one node, sockets and signatures on others", func(t *testing.T) {
			admin := map[string]string{"Authorization": "Bearer " + clusterAdminToken}
			user := nodes[0].want(t, "POST", "/api/admin/v1/users", admin, `{"login":"alice","password":"password-of-alice"}`, 201)
			userID := int64(user["id"].(float64))
			ic := nodes[0].want(t, "POST", "/api/admin/v1/intercoms", admin, `{"address":"Lenina 1","control_url":"`+panel.url+`/control"}`, 201)
			intercomID, secret = int64(ic["id"].(float64)), ic["secret"].(string)
			nodes[0].want(t, "PUT", "/api/admin/v1/intercoms/"+itoa(intercomID)+"/members/"+itoa(userID), admin,
				`{"title":"Home","status":"confirmed"}`, 200)

			devA = nodes[1].login(t, "alice", "alice-browser-a")
			devB = nodes[2].login(t, "alice", "alice-browser-b")
			alice[devA.uuid], alice[devB.uuid] = devA, devB
			sockA = openSocket(t, top, nodes[2], nodes[0], devA)
			sockB = openSocket(t, top, nodes[1], nodes[0], devB)
			nodes[2].want(t, "POST", "/api/hw/v1/heartbeat", bearer(secret), "", 204)
		}},
		{"a ring on node 1 reaches sockets on nodes 2 and 3", func(t *testing.T) {
			res := nodes[0].want(t, "POST", "/api/hw/v1/ring", bearer(secret), `{}`, 201)
			call1 = int64(res["call_id"].(float64))
			if res["status"] != "ring" {
				t.Fatalf("ring: %v", res)
			}
			recipients, _ := res["recipients"].([]any)
			seen := map[string]bool{}
			for _, r := range recipients {
				r := r.(map[string]any)
				uuid, _ := r["device"].(string)
				if alice[uuid] == nil || fmt.Sprint(r["channels"]) != "[ws]" || seen[uuid] {
					t.Errorf("recipient %v", r)
				}
				seen[uuid] = true
			}
			if len(seen) != 2 || len(res["skipped"].([]any)) != 0 {
				t.Fatalf("ring: want both devices rung over their sockets, on nodes 2 and 3: %v", res)
			}
			sockA.await(t, "intercom_ring", call1)
			sockB.await(t, "intercom_ring", call1)
		}},
		{"answer race on nodes 2 and 3: one wins, the other stops ringing", func(t *testing.T) {
			go1 := make(chan struct{})
			codes := make([]int, 2)
			var wg sync.WaitGroup
			for i, d := range []struct {
				n   *node
				dev *clusterDevice
			}{{nodes[1], devA}, {nodes[2], devB}} {
				wg.Go(func() {
					<-go1
					codes[i], _ = d.n.do(t, "POST", callPath(call1, "start"), d.dev.headers(), "")
				})
			}
			close(go1)
			wg.Wait()
			winner, loser, loserSock := devA, devB, sockB
			switch {
			case codes[0] == 200 && codes[1] == 404:
			case codes[0] == 404 && codes[1] == 200:
				winner, loser, loserSock = devB, devA, sockA
			default:
				t.Fatalf("start from A on node 2 and B on node 3: %v, want one 200 and one 404", codes)
			}
			if e := loserSock.await(t, "intercom_cancel", call1); e["reason"] != "answered_elsewhere" {
				t.Errorf("loser %s got %v", loser.uuid, e)
			}
			panel.await(t, "call.answered", call1)
			// The winner hangs up through the node neither of them answered on.
			nodes[0].want(t, "POST", callPath(call1, "end"), winner.headers(), "", 204)
			panel.await(t, "call.ended", call1)
			if got := nodes[2].want(t, "GET", "/api/v1/intercom/calls/"+itoa(call1), loser.headers(), "", 200); got["status"] != "ended" {
				t.Errorf("call after end: %v", got)
			}
		}},
		{"X-Socket-ID spares a socket on another node", func(t *testing.T) {
			h := devA.headers()
			h["X-Socket-ID"] = sockA.id
			nodes[1].want(t, "PATCH", "/api/v1/intercom/"+itoa(intercomID), h, `{"title":"Renamed once"}`, 200)
			sockB.awaitRename(t, "Renamed once")
			// A later rename reaches A's socket: the first one was withheld, not late.
			nodes[0].want(t, "PATCH", "/api/v1/intercom/"+itoa(intercomID), devB.headers(), `{"title":"Renamed twice"}`, 200)
			sockA.awaitRename(t, "Renamed twice")
			sockB.awaitRename(t, "Renamed twice")
			// Each node's cache of the view hears of the rename.
			for _, n := range nodes {
				seenBy(t, n, "the rename", func() bool {
					_, v := n.do(t, "GET", "/api/v1/intercom/"+itoa(intercomID), devA.headers(), "")
					return v["title"] == "Renamed twice"
				})
			}
			if n := sockA.count("intercom.rename", func(e event) bool { return renamedTo(e) == "Renamed once" }); n != 0 {
				t.Errorf("the socket of X-Socket-ID got its own rename %d times", n)
			}
		}},
		{"the ringing node dies: another node times the call out, once", func(t *testing.T) {
			rang := time.Now()
			res := nodes[0].want(t, "POST", "/api/hw/v1/ring", bearer(secret), `{}`, 201)
			call2 = int64(res["call_id"].(float64))
			sockA.await(t, "intercom_ring", call2)
			sockB.await(t, "intercom_ring", call2)
			nodes[0].stop(t)
			if d := nodes[0].stopped.Sub(rang); d >= clusterRingTimeout {
				t.Fatalf("node 1 took %s to ring and stop, longer than the ring timeout (%s): it may have timed the call out itself", d, clusterRingTimeout)
			}
			for _, s := range []*socketLog{sockA, sockB} {
				if e := s.await(t, "intercom_cancel", call2); e["reason"] != "timeout" {
					t.Errorf("cancel %v", e)
				}
			}
			panel.await(t, "call.missed", call2)
			if got := nodes[1].want(t, "GET", "/api/v1/intercom/calls/"+itoa(call2), devA.headers(), "", 200); got["status"] != "missed" {
				t.Errorf("call after the timeout: %v", got)
			}
			// Anything after this rename was sent after the miss: no second cancel came before it.
			nodes[1].want(t, "PATCH", "/api/v1/intercom/"+itoa(intercomID), devA.headers(), `{"title":"After the miss"}`, 200)
			for _, s := range []*socketLog{sockA, sockB} {
				s.awaitRename(t, "After the miss")
				if n := s.count("intercom_cancel", forCall(call2)); n != 1 {
					t.Errorf("socket %s: %d intercom_cancel of the missed call, want 1", s.id, n)
				}
			}
			// Node 1 comes back for the rest.
			nodes[0] = startNode(t, top, db, "1 again", busArgs...)
		}},
		{"login throttle counts on every node", func(t *testing.T) {
			guess := func(n *node, password string) (int, http.Header) {
				return n.doHeader(t, "POST", "/api/v1/token", map[string]string{"X-Client": "web", "X-UUID": "guesser"},
					`{"login":"alice","password":"`+password+`"}`)
			}
			for i := range 10 {
				if code, _ := guess(nodes[i%3], "wrong-"+strconv.Itoa(i)); code != 422 {
					t.Fatalf("wrong password %d on node %s: %d, want 422", i+1, nodes[i%3].name, code)
				}
			}
			for _, n := range nodes {
				for _, pw := range []string{"wrong-again", "password-of-alice"} {
					if code, h := guess(n, pw); code != 429 || h.Get("Retry-After") == "" {
						t.Errorf("attempt 11+ on node %s: %d (Retry-After %q), want 429", n.name, code, h.Get("Retry-After"))
					}
				}
			}
		}},
		{"logout on one node closes the socket on another", func(t *testing.T) {
			nodes[0].want(t, "POST", "/api/v1/logout", devA.headers(), "", 204)
			if code := sockA.awaitClosed(t); code != 4009 {
				t.Errorf("socket of the logged-out token: pusher:error %d, want 4009", code)
			}
			// Every node refuses the token from then on, its cached session
			// told of the logout.
			for _, n := range nodes {
				seenBy(t, n, "the logout", func() bool {
					code, _ := n.do(t, "GET", "/api/v1/intercom/"+itoa(intercomID), devA.headers(), "")
					return code == 401
				})
			}
			// The other device's socket lives on.
			nodes[1].want(t, "PATCH", "/api/v1/intercom/"+itoa(intercomID), devB.headers(), `{"title":"Still here"}`, 200)
			sockB.awaitRename(t, "Still here")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			return
		}
	}

	// Every node stopped, nothing is under way: the intercom heard of each
	// call's end once.
	for _, n := range nodes {
		n.stop(t)
	}
	for _, want := range []struct {
		event string
		call  int64
	}{{"call.answered", call1}, {"call.ended", call1}, {"call.missed", call2}} {
		if n := panel.count(want.event, want.call); n != 1 {
			t.Errorf("control URL got %s of call %d %d times, want 1", want.event, want.call, n)
		}
	}
	if n := len(panel.all()); n != 3 {
		t.Errorf("control URL got %d POSTs, want 3: %v", n, panel.all())
	}
	if n := sockA.count("intercom_cancel", forCall(call1)) + sockB.count("intercom_cancel", forCall(call1)); n != 1 {
		t.Errorf("%d intercom_cancel of the answered call, want 1 (to the loser)", n)
	}
}

// The cluster's admin token and ring timeout.
const (
	clusterAdminToken  = "cluster-admin-token-0123456789abcdef"
	clusterRingTimeout = 2 * time.Second
)

// node is one intercomd process of the cluster, run through run().
type node struct {
	name    string
	url     string
	cancel  context.CancelFunc
	done    chan error
	stopped time.Time
	logs    *syncBuffer
	client  *http.Client
}

// startNode starts a node on db, on a random port, with the flags of extra
// besides the cluster's, and waits until it listens. It is stopped when
// owner ends, if not before.
func startNode(t, owner *testing.T, db, name string, extra ...string) *node {
	t.Helper()
	env := map[string]string{"INTERCOMD_ADMIN_TOKEN": clusterAdminToken, "INTERCOMD_LOG_LEVEL": "warn"}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", db,
		"--ring-timeout", clusterRingTimeout.String(), "--control-allow-loopback"}
	return runNode(t, owner, name, env, append(args, extra...)...)
}

// runNode runs intercomd through run() with args and env, and waits until
// it listens (args must give a random port). It is stopped, and its log
// shown if owner failed, when owner ends, if not before.
func runNode(t, owner *testing.T, name string, env map[string]string, args ...string) *node {
	t.Helper()
	env = withSecretKey(t, env, args)
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	n := &node{name: name, cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{},
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
	go func() {
		n.done <- run(ctx, args, env, outW, n.logs)
		outW.Close()
	}()
	select {
	case u, ok := <-listening(outR):
		if !ok {
			cancel()
			t.Fatalf("node %s did not start: %v\n%s", name, <-n.done, n.logs)
		}
		n.url = u
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("node %s did not listen in 20 s\n%s", name, n.logs)
	}
	owner.Cleanup(func() {
		n.stop(owner)
		if owner.Failed() {
			owner.Logf("node %s's log:\n%s", name, n.logs)
		}
	})
	return n
}

// listening reads a node's output for the address it listens on: the
// channel gets it, or is closed when the output ends first.
func listening(out io.Reader) <-chan string {
	ch := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "intercomd listening on "); ok {
				ch <- u
			}
		}
		close(ch)
	}()
	return ch
}

// stop ends the node as SIGTERM would and waits for run to return.
func (n *node) stop(t *testing.T) {
	t.Helper()
	if !n.stopped.IsZero() {
		return
	}
	n.cancel()
	n.client.CloseIdleConnections()
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("node %s: run: %v", n.name, err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("node %s did not stop in 20 s", n.name)
	}
	n.stopped = time.Now()
}

// doHeader sends a request to the node and returns the status and the
// response's headers; do returns the status and the decoded JSON body.
func (n *node) doHeader(t *testing.T, method, path string, headers map[string]string, body string) (int, http.Header) {
	t.Helper()
	code, _, h := n.request(t, method, path, headers, body)
	return code, h
}

func (n *node) do(t *testing.T, method, path string, headers map[string]string, body string) (int, map[string]any) {
	t.Helper()
	code, v, _ := n.request(t, method, path, headers, body)
	return code, v
}

func (n *node) request(t *testing.T, method, path string, headers map[string]string, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" && headers["Content-Type"] == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := n.client.Do(req)
	if err != nil {
		t.Errorf("%s %s on node %s: %v", method, path, n.name, err)
		return 0, nil, nil
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var v map[string]any
	json.Unmarshal(raw, &v)
	if v == nil && len(raw) > 0 {
		v = map[string]any{"body": string(raw)}
	}
	return res.StatusCode, v, res.Header
}

// want sends a request and fails the test unless it answers code.
func (n *node) want(t *testing.T, method, path string, headers map[string]string, body string, code int) map[string]any {
	t.Helper()
	got, v := n.do(t, method, path, headers, body)
	if got != code {
		t.Fatalf("%s %s on node %s: %d %v, want %d", method, path, n.name, got, v, code)
	}
	return v
}

// clusterDevice is a signed-in web app.
type clusterDevice struct {
	uuid, token, tokenID string
	userID               int64
}

func (d *clusterDevice) headers() map[string]string {
	return map[string]string{"Authorization": "Bearer " + d.token, "X-Client": "web", "X-UUID": d.uuid}
}

// login signs a web app in through the node.
func (n *node) login(t *testing.T, login, uuid string) *clusterDevice {
	t.Helper()
	v := n.want(t, "POST", "/api/v1/token", map[string]string{"X-Client": "web", "X-UUID": uuid},
		`{"login":"`+login+`","password":"password-of-`+login+`"}`, 200)
	user := v["user"].(map[string]any)
	return &clusterDevice{uuid: uuid, token: v["access_token"].(string), tokenID: user["access_token_id"].(string),
		userID: int64(user["id"].(float64))}
}

func bearer(secret string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + secret}
}

func callPath(id int64, action string) string {
	return "/api/v1/intercom/calls/" + itoa(id) + "/" + action
}

// event is a notification a socket got, or a pusher:error (type
// "pusher:error", with its code).
type event map[string]any

func forCall(id int64) func(event) bool {
	return func(e event) bool {
		data, _ := e["data"].(map[string]any)
		return data["call_id"] == float64(id)
	}
}

// seenBy waits until node n shows what another node wrote (seen), at most
// the age past which no node serves a cached session or view (10 s); the
// notification brings it in milliseconds (BENCHMARKS.md), and the log shows
// at which read it was seen.
func seenBy(t *testing.T, n *node, what string, seen func() bool) {
	t.Helper()
	start := time.Now()
	reads := 1
	for ; !seen(); reads++ {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("node %s did not see %s in 10 s", n.name, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("node %s saw %s at read %d, after %s", n.name, what, reads, time.Since(start).Round(time.Millisecond))
}

func renamedTo(e event) string {
	ic, _ := e["intercom"].(map[string]any)
	title, _ := ic["title"].(string)
	return title
}

// socketLog is a device's Pusher socket, read from the moment it is
// subscribed: everything it gets is kept, to be waited for and counted.
type socketLog struct {
	id string

	mu      sync.Mutex
	events  []event
	closed  bool
	changed chan struct{} // closed and replaced at each change
}

// openSocket opens d's socket on sockNode, has both its channels signed by
// broadcasting/auth on authNode, subscribes and starts reading. It is closed
// when owner ends.
func openSocket(t, owner *testing.T, sockNode, authNode *node, d *clusterDevice) *socketLog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pusherclient.Dial(ctx, "ws"+strings.TrimPrefix(sockNode.url, "http")+"/ws/app/intercomd?protocol=7&client=go")
	if err != nil {
		t.Fatal(err)
	}
	owner.Cleanup(c.Close)
	for _, ch := range []string{"private-token." + d.tokenID, "private-user." + itoa(d.userID)} {
		h := d.headers()
		h["Content-Type"] = "application/x-www-form-urlencoded"
		v := authNode.want(t, "POST", "/api/v1/broadcasting/auth", h, url.Values{"socket_id": {c.SocketID}, "channel_name": {ch}}.Encode(), 200)
		if err := c.Subscribe(ctx, ch, v["auth"].(string)); err != nil {
			t.Fatalf("subscribing on node %s to %s signed on node %s: %v", sockNode.name, ch, authNode.name, err)
		}
	}
	s := &socketLog{id: c.SocketID, changed: make(chan struct{})}
	go s.read(c)
	return s
}

func (s *socketLog) read(c *pusherclient.Client) {
	for {
		m, err := c.Next(context.Background())
		var e event
		switch {
		case err != nil:
		case m.Event == "pusher:error":
			var d struct{ Code float64 }
			json.Unmarshal([]byte(m.Data), &d)
			e = event{"type": "pusher:error", "code": d.Code}
		case m.Event == `Illuminate\Notifications\Events\BroadcastNotificationCreated`:
			if json.Unmarshal([]byte(m.Data), &e) != nil {
				e = event{"type": "undecodable", "data": m.Data}
			}
		default:
			continue
		}
		s.mu.Lock()
		if e != nil {
			s.events = append(s.events, e)
		}
		if err != nil && !s.closed {
			s.closed = true
			s.events = append(s.events, event{"type": "closed", "error": err.Error()})
		}
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// find returns the first event of type typ that match accepts, a channel
// closed at the next change, and whether the socket is closed.
func (s *socketLog) find(typ string, match func(event) bool) (event, <-chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e["type"] == typ && match(e) {
			return e, nil, s.closed
		}
	}
	return nil, s.changed, s.closed
}

// awaitMatch waits (10 s at most) for an event of type typ that match accepts.
func (s *socketLog) awaitMatch(t *testing.T, typ, what string, match func(event) bool) event {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		e, changed, closed := s.find(typ, match)
		switch {
		case e != nil:
			return e
		case closed:
			t.Fatalf("socket %s closed before %s %s came: %v", s.id, typ, what, s.all())
		}
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("socket %s: no %s %s in 10 s; got %v", s.id, typ, what, s.all())
		}
	}
}

// await waits for the call event typ of call id.
func (s *socketLog) await(t *testing.T, typ string, id int64) event {
	t.Helper()
	return s.awaitMatch(t, typ, "of call "+itoa(id), forCall(id))
}

// awaitRename waits for intercom.rename to title.
func (s *socketLog) awaitRename(t *testing.T, title string) {
	t.Helper()
	s.awaitMatch(t, "intercom.rename", "to "+strconv.Quote(title), func(e event) bool { return renamedTo(e) == title })
}

// awaitClosed waits for the socket's pusher:error and the end of the
// connection, and returns the error's code.
func (s *socketLog) awaitClosed(t *testing.T) int {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		e, changed, closed := s.find("pusher:error", func(event) bool { return true })
		if closed {
			if e == nil {
				t.Fatalf("socket %s closed without pusher:error", s.id)
			}
			return int(e["code"].(float64))
		}
		if changed == nil { // the error came; the close follows
			s.mu.Lock()
			changed = s.changed
			s.mu.Unlock()
		}
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("socket %s still open after 10 s; got %v", s.id, s.all())
		}
	}
}

func (s *socketLog) count(typ string, match func(event) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if e["type"] == typ && match(e) {
			n++
		}
	}
	return n
}

func (s *socketLog) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		b, _ := json.Marshal(e)
		out = append(out, string(b))
	}
	return out
}

// controlPanel is the intercom behind its control URL: it records the
// events intercomd POSTs.
type controlPanel struct {
	url string

	mu      sync.Mutex
	events  []map[string]any
	changed chan struct{}
}

func newControlPanel(t *testing.T) *controlPanel {
	p := &controlPanel{changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" { // the check at provisioning
			return
		}
		var e map[string]any
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			e = map[string]any{"event": "undecodable"}
		}
		p.mu.Lock()
		p.events = append(p.events, e)
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *controlPanel) count(event string, call int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if e["event"] == event && e["call_id"] == float64(call) {
			n++
		}
	}
	return n
}

func (p *controlPanel) all() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.events...)
}

// await waits (10 s at most) for event about call.
func (p *controlPanel) await(t *testing.T, event string, call int64) {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		changed := p.changed
		p.mu.Unlock()
		if p.count(event, call) > 0 {
			return
		}
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("control URL: no %s of call %d in 10 s; got %v", event, call, p.all())
		}
	}
}

// syncBuffer is a node's log, written by its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
