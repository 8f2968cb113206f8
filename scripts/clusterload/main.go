// Command clusterload measures ring → intercom_ring latency across the nodes
// of a cluster, on this machine: it creates a fresh PostgreSQL database,
// provisions intercoms with -sockets web devices (-per-flat to a flat)
// straight into it, starts -nodes real intercomd processes on it (the built
// binary, --db postgres://…, ports from -port), connects one Pusher socket per
// device, spread over the nodes (device i on node i mod -nodes, so every flat
// has devices on several nodes), each subscribed through broadcasting/auth on
// some node (often another one: its grant then crosses the bus, as behind a
// load balancer), then rings -rings flats through node 1, one after the
// other, and prints, for every rung socket, the time from sending
// POST /api/hw/v1/ring until that socket had intercom_ring — separately for
// sockets on node 1 (the ringing node) and on the others — with each node's
// resident memory and how long it took every subscription to reach
// bus_presence (until then the other nodes do not know of the socket).
//
// With -bus nats the nodes' bus is NATS (--bus), on a NATS server this
// command runs inside itself on a free port; it then also prints the messages
// that server delivered to each node during the rings, per ring. -ring-on all
// rings through every node in turn, as behind a balancer, instead of node 1.
// -panels rings from that many panels at once (each sends its next ring once
// its last is answered), and -rate releases the rings on a schedule, so many
// a second: a burst, or a sustained rate. The flats are dealt out to
// -intercoms intercoms (one a panel unless set) in the order they are rung,
// and each ring comes from its flat's: a panel has one visitor at a time, so
// rings sent one after the other are at different intercoms (-intercoms 1,
// as before it was a flag, sends every ring from one, whose row each call's
// insert then locks).
//
// Just before the timed rings, each node is rung from -panels panels at once
// at flats no device is in, so that the timed rings meet a cluster in
// service: each panel's connection to each node open, each node's
// connections to the database open (and the statements of a ring's first
// reads and of its call prepared on them); -warm-up=false
// times a cluster just started instead (each node asked /readyz, node 1 rung
// once).
//
// It also prints the CPU time each part used during the timed rings, per
// ring: the nodes, PostgreSQL's processes (when the server is on this
// machine), this command and the whole machine; /proc counts in hundredths
// of a second, so a short burst's figures are rough. -node-procs and -pool
// set each node's GOMAXPROCS and pool_max_conns: nodes sharing a machine's
// cores, as they do here, run as they would in containers each given its
// share.
//
// It is bounded: every ring waits at most 10 s, the whole run at most
// -timeout, and the database is dropped and the nodes stopped at the end.
//
//	go run ./scripts/clusterload                       # 3 nodes, 3,000 sockets, 300 rings
//	go run ./scripts/clusterload -sockets 6000 -rings 1000
//	go run ./scripts/clusterload -pg postgres://user@host:5432/postgres
//	go run ./scripts/clusterload -bus nats -nodes 8 -sockets 15000 -ring-on all
//	go run ./scripts/clusterload -bus nats -rings 200 -panels 20 -ring-on all   # a burst
//	go run ./scripts/clusterload -bus nats -rings 200 -panels 20 -ring-on all -node-procs 1 -pool 2
//	go run ./scripts/clusterload -bus nats -rings 3000 -panels 64 -rate 300 -ring-on all
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/sync/errgroup"

	"intercom/postgres"
	"intercom/pusher/pusherclient"
	"intercom/scripts/internal/loadkit"
)

func main() {
	nodes := flag.Int("nodes", 3, "intercomd nodes on the one database")
	sockets := flag.Int("sockets", 3000, "Pusher sockets (one web device each), spread over the nodes")
	perFlat := flag.Int("per-flat", 3, "devices in each flat: each ring reaches this many (one per node with the default 3)")
	rings := flag.Int("rings", 300, "rings to time, all through node 1")
	port := flag.Int("port", 18200, "node k listens on 127.0.0.1:port+k-1")
	pg := flag.String("pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"a PostgreSQL server's maintenance database: the run creates a database of its own there and drops it")
	beatBatch := flag.Duration("heartbeat-batch", time.Second, "--heartbeat-batch of the nodes")
	timeout := flag.Duration("timeout", 5*time.Minute, "the whole run stops after this")
	bus := flag.String("bus", "", `the nodes' bus: "" for LISTEN/NOTIFY, "nats" for a NATS server run by this command, or nats://… servers`)
	ringOn := flag.String("ring-on", "1", `"1": every ring through node 1; "all": through each node in turn`)
	panels := flag.Int("panels", 1, "panels ringing at once: each sends its next ring as soon as its last is answered (201)")
	rate := flag.Float64("rate", 0, "rings a second, released on a schedule whatever the answers (0: as fast as -panels go)")
	intercoms := flag.Int("intercoms", 0, "intercoms the flats are dealt out to in ring order, each ring coming from its flat's (0: one a panel)")
	warm := flag.Bool("warm-up", true, "just before timing, ring each node from -panels panels at once, at flats no device is in")
	var tune nodeTuning
	flag.IntVar(&tune.procs, "node-procs", 0, "each node's GOMAXPROCS (0: Go's default, the machine's cores or its cgroup's share)")
	flag.IntVar(&tune.pool, "pool", 0, "each node's pool_max_conns (0: pgx's default, 4 or the machine's cores if more)")
	flag.Parse()
	if *ringOn != "1" && *ringOn != "all" {
		fmt.Fprintln(os.Stderr, `clusterload: -ring-on is "1" or "all"`)
		os.Exit(2)
	}
	if *nodes < 1 || *sockets < 1 || *perFlat < 1 || *rings < 1 || tune.procs < 0 || tune.pool < 0 || *intercoms < 0 {
		fmt.Fprintln(os.Stderr, "clusterload: -nodes, -sockets, -per-flat and -rings must be positive, -node-procs, -pool and -intercoms not negative")
		os.Exit(2)
	}
	if *intercoms == 0 {
		*intercoms = max(1, *panels)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	err := run(ctx, *nodes, *sockets, *perFlat, *rings, *port, *pg, *beatBatch, *bus, *ringOn == "all", max(1, *panels), *intercoms, *rate, *warm, tune)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterload:", err)
		os.Exit(1)
	}
}

const (
	appKey, appSecret = "load-key", "load-secret"
)

// nodeTuning is how each node is run beyond its flags; zero: as it comes.
type nodeTuning struct {
	procs int // GOMAXPROCS
	pool  int // pool_max_conns
}

// String is the tuning for the report.
func (t nodeTuning) String() string {
	var out []string
	if t.procs > 0 {
		out = append(out, "GOMAXPROCS="+strconv.Itoa(t.procs))
	}
	if t.pool > 0 {
		out = append(out, "pool_max_conns="+strconv.Itoa(t.pool))
	}
	if out == nil {
		return "defaults"
	}
	return strings.Join(out, ", ")
}

// device is a load device and the node its socket is on.
type device struct {
	loadkit.Device
	node int
}

func run(ctx context.Context, nodes, sockets, perFlat, rings, port int, pg string, beatBatch time.Duration, bus string, ringAll bool,
	panels, intercoms int, rate float64, warm bool, tune nodeTuning) error {
	loadkit.RaiseFileLimit()
	var natsServer *server.Server
	if bus == "nats" {
		var err error
		if natsServer, err = server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}); err != nil {
			return err
		}
		go natsServer.Start()
		defer natsServer.Shutdown()
		if !natsServer.ReadyForConnections(10 * time.Second) {
			return fmt.Errorf("the NATS server did not start")
		}
		bus = natsServer.ClientURL()
	}
	dir, err := os.MkdirTemp("", "clusterload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	keyFile := filepath.Join(dir, "secret.key") // the same on every node, as PostgreSQL nodes need
	if err := os.WriteFile(keyFile, []byte(rand.Text()+rand.Text()), 0o600); err != nil {
		return err
	}

	dbURL, drop, err := createDatabase(ctx, pg)
	if err != nil {
		return err
	}
	defer drop()

	flats := (sockets + perFlat - 1) / perFlat
	if flats < 2 {
		return fmt.Errorf("-sockets / -per-flat must make at least 2 flats")
	}
	if rings > flats-1 {
		return fmt.Errorf("-rings %d: at most %d, a flat each (flat 1 rang first, before the sockets)", rings, flats-1)
	}
	// The i-th timed ring is at flat ringFlat(i), from intercom at[flat].
	ringFlat := func(i int) int { return 2 + (i*7919)%(flats-1) } // flat 1 rang first and still rings
	at := make([]int, flats+1)
	at[1] = 1
	for i := range flats - 1 {
		at[ringFlat(i)] = i%intercoms + 1
	}
	if slices.Contains(at[1:], 0) { // 7919 is prime: only its multiples
		return fmt.Errorf("-sockets / -per-flat: %d flats, one more than a multiple of 7919, are not all rung", flats)
	}
	fmt.Printf("provisioning %d devices in %d flats of %d intercoms...\n", sockets, flats, intercoms)
	devices, err := provision(ctx, dbURL, sockets, perFlat, nodes, intercoms, func(flat int) int { return at[flat] })
	if err != nil {
		return err
	}

	bin := filepath.Join(dir, "intercomd")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/intercomd").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			p.Wait()
		}
	}()
	nodeURL := dbURL
	if tune.pool > 0 {
		u, err := url.Parse(dbURL)
		if err != nil {
			return err
		}
		q := u.Query()
		q.Set("pool_max_conns", strconv.Itoa(tune.pool))
		u.RawQuery = q.Encode()
		nodeURL = u.String()
	}
	bases := make([]string, nodes)
	for k := range nodes {
		addr := "127.0.0.1:" + strconv.Itoa(port+k)
		// Not tied to ctx: the nodes are stopped by SIGTERM above, after the
		// sockets are closed.
		srv := exec.Command(bin, "serve", "--addr", addr, "--db", nodeURL, "--secret-key-file", keyFile, "--log-level", "error",
			"--pusher-app-key", appKey, "--pusher-app-secret", appSecret, "--ring-timeout", "10m",
			"--heartbeat-batch", beatBatch.String(), "--bus", bus)
		srv.Stderr = os.Stderr
		if tune.procs > 0 {
			srv.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(tune.procs))
		}
		stdout, _ := srv.StdoutPipe()
		if err := srv.Start(); err != nil {
			return err
		}
		procs = append(procs, srv)
		if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
			return fmt.Errorf("node %d did not start: %w", k+1, err)
		}
		go io.Copy(io.Discard, stdout)
		bases[k] = "http://" + addr
	}
	busName := "LISTEN/NOTIFY"
	if bus != "" {
		busName = "NATS " + bus
	}
	fmt.Printf("%d nodes on %s, bus %s, nodes tuned: %v\n", nodes, redact(dbURL), busName, tune)

	// Every node ready, flat 1 rung once through node 1, then the baselines.
	for k := range nodes {
		if _, err := get(ctx, bases[k]+"/readyz"); err != nil {
			return fmt.Errorf("node %d: %w", k+1, err)
		}
	}
	if err := loadkit.Ring(ctx, bases[0], 1, 1); err != nil {
		return err
	}
	time.Sleep(time.Second)
	before := make([]int64, nodes)
	for k, p := range procs {
		before[k] = loadkit.RSSKiB(p.Process.Pid)
	}

	fmt.Printf("connecting %d sockets...\n", sockets)
	connectStart := time.Now()
	err = loadkit.ConnectAll(ctx, len(devices), func(ctx context.Context, i int) error {
		d := &devices[i]
		// Authorized on some node, not always the socket's: as behind a
		// round-robin load balancer, the grant then crosses the bus.
		wsURL := "ws" + strings.TrimPrefix(bases[d.node], "http") + "/ws/app/" + appKey + "?protocol=7&client=clusterload"
		if err := loadkit.Connect(ctx, wsURL, bases[(i/nodes)%nodes], &d.Device); err != nil {
			return fmt.Errorf("socket on node %d: %w", d.node+1, err)
		}
		return nil
	})
	defer func() {
		for _, d := range devices {
			if d.Client != nil {
				d.Client.Close()
			}
		}
	}()
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	connected := time.Since(connectStart)
	// Each node records its subscribed channels in bus_presence, one commit
	// and one NOTIFY each, from one goroutine: until then the other nodes do
	// not know the socket is there. Wait (at most a minute) until every
	// subscription is recorded.
	// On NATS a subscription is confirmed to its client once the NATS server
	// has it: nothing to wait for.
	var recorded time.Duration
	for deadline := time.Now().Add(time.Minute); bus == ""; time.Sleep(50 * time.Millisecond) {
		rows, err := presenceRows(ctx, dbURL)
		if err != nil {
			return err
		}
		total := 0
		for _, n := range rows {
			total += n
		}
		if total >= sockets {
			recorded = time.Since(connectStart)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("a minute after connecting, bus_presence holds %d of %d subscriptions", total, sockets)
		}
	}
	// Let the handshakes' garbage be collected.
	time.Sleep(5 * time.Second)
	after := make([]int64, nodes)
	for k, p := range procs {
		after[k] = loadkit.RSSKiB(p.Process.Pid)
	}
	// Each node records its subscribed channels in bus_presence (and tells
	// the others); one that fell behind shows fewer rows than it has sockets.
	var presence []int
	if bus == "" {
		if presence, err = presenceRows(ctx, dbURL); err != nil {
			return err
		}
	}

	if warm {
		// A cluster in service: each panel has a connection to each node,
		// and each node its pool's connections to the database. Flats past
		// the provisioned ones have no device: each ring is decided and
		// written, and rings nobody.
		if err := warmUp(ctx, bases, panels, intercoms); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	clients := make([]*pusherclient.Client, len(devices))
	for i, d := range devices {
		clients[i] = d.Client
	}
	arrivals := loadkit.WatchRings(ctx, clients)

	through := "node 1"
	if ringAll {
		through = "each node in turn"
	}
	msgsBefore := delivered(natsServer)
	meter, err := newCPUMeter(ctx, dbURL, procs)
	if err != nil {
		return err
	}
	defer meter.close()
	cpuBefore, err := meter.read(ctx)
	if err != nil {
		return err
	}
	pace := "as fast as they are answered"
	if rate > 0 {
		pace = fmt.Sprintf("at %g rings/s", rate)
	}
	fmt.Printf("timing %d rings of %d devices each, through %s, from %d panels %s...\n", rings, perFlat, through, panels, pace)
	// A ring in flight, by its flat (each ring rings another flat).
	type inFlight struct {
		start     time.Time
		from      int
		want, got int
	}
	var (
		mu                   sync.Mutex
		flying               = map[int]*inFlight{}
		local, remote, whole []time.Duration
		done                 = make(chan struct{}, rings)
		failed               = make(chan error, rings+1)
	)
	go func() { // every arrival, matched to its ring by the device's flat
		for {
			select {
			case a := <-arrivals:
				d := devices[a.I]
				mu.Lock()
				r := flying[d.Flat]
				if r == nil {
					mu.Unlock()
					failed <- fmt.Errorf("flat %d's device got a ring not in flight", d.Flat)
					return
				}
				took := a.At.Sub(r.start)
				if d.node == r.from {
					local = append(local, took)
				} else {
					remote = append(remote, took)
				}
				if r.got++; r.got == r.want {
					whole = append(whole, took)
					delete(flying, d.Flat)
					done <- struct{}{}
				}
				mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	// Rings are taken by the panels in order, each released at its instant
	// when -rate is set, else as soon as a panel is free.
	next := make(chan int)
	go func() {
		defer close(next)
		began := time.Now()
		for i := range rings {
			if rate > 0 {
				if wait := time.Until(began.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
					time.Sleep(wait)
				}
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	began := time.Now()
	var ringers sync.WaitGroup
	for range panels {
		ringers.Add(1)
		go func() {
			defer ringers.Done()
			for i := range next {
				flat := ringFlat(i)
				from := 0
				if ringAll {
					from = i % nodes
				}
				mu.Lock()
				flying[flat] = &inFlight{start: time.Now(), from: from, want: min(perFlat, sockets-(flat-1)*perFlat)}
				mu.Unlock()
				if err := loadkit.Ring(ctx, bases[from], at[flat], flat); err != nil {
					failed <- err
					return
				}
			}
		}()
	}
	ringers.Wait()
	sent := time.Since(began)
	for range rings {
		select {
		case <-done:
		case err := <-failed:
			return err
		case <-time.After(10 * time.Second):
			mu.Lock()
			defer mu.Unlock()
			return fmt.Errorf("%d rings still without every device's intercom_ring after 10 s", len(flying))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	took := time.Since(began)
	cpuAfter, err := meter.read(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%d rings sent in %v (%.0f rings/s), every device's intercom_ring in %v\n", rings, sent.Round(time.Millisecond),
		float64(rings)/sent.Seconds(), took.Round(time.Millisecond))
	selfParts := "panels, sockets"
	if natsServer != nil {
		selfParts += ", the NATS server"
	}
	perRing := func(d time.Duration) string {
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)/float64(rings))
	}
	db := perRing(cpuAfter.db - cpuBefore.db)
	if !meter.local {
		db = "not on this machine"
	}
	fmt.Printf("CPU per ring meanwhile: nodes %s, PostgreSQL %s, this command %s (%s); the machine %s, %.0f%% of its %d cores\n",
		perRing(cpuAfter.nodes-cpuBefore.nodes), db, perRing(cpuAfter.self-cpuBefore.self),
		selfParts, perRing(cpuAfter.machine-cpuBefore.machine),
		100*float64(cpuAfter.machine-cpuBefore.machine)/float64(took)/float64(runtime.NumCPU()), runtime.NumCPU())

	msgsAfter := delivered(natsServer)
	fmt.Printf("\nmachine: %d cores, %s; %d nodes (%v), %d sockets, %d rings of %d devices from %d intercoms through %s; bus %s\n",
		runtime.NumCPU(), runtime.Version(), nodes, tune, sockets, rings, perFlat, intercoms, through, busName)
	for k := range nodes {
		n := 0
		for _, d := range devices {
			if d.node == k {
				n++
			}
		}
		fmt.Printf("node %d RSS: %.1f MiB idle, %.1f MiB with %d sockets (%.1f KiB a socket)\n",
			k+1, float64(before[k])/1024, float64(after[k])/1024, n, float64(after[k]-before[k])/float64(n))
	}
	if bus == "" {
		fmt.Printf("%d sockets connected and subscribed in %v; every subscription in bus_presence after %v\n",
			sockets, connected.Round(10*time.Millisecond), recorded.Round(10*time.Millisecond))
		fmt.Printf("bus_presence rows per node (each node has %v sockets, one channel each): %v\n", perNode(devices, nodes), presence)
	} else {
		fmt.Printf("%d sockets connected and subscribed in %v (each node has %v)\n", sockets, connected.Round(10*time.Millisecond), perNode(devices, nodes))
	}
	if natsServer != nil {
		var total, most int64
		var per []string
		for id, n := range msgsAfter {
			d := n - msgsBefore[id]
			total += d
			most = max(most, d)
			per = append(per, fmt.Sprintf("%.2f", float64(d)/float64(rings)))
		}
		slices.Sort(per)
		fmt.Printf("messages the NATS server delivered to the nodes during the rings, per ring: %.2f in all, %.2f a node on average, %.2f at most; per node %v\n",
			float64(total)/float64(rings), float64(total)/float64(nodes)/float64(rings), float64(most)/float64(rings), per)
	}
	report := func(what string, took []time.Duration) {
		if len(took) == 0 {
			return
		}
		slices.Sort(took)
		pct := func(p int) time.Duration { return took[min(len(took)-1, len(took)*p/100)].Round(10 * time.Microsecond) }
		fmt.Printf("%-48s n=%-5d p50 %-9v p90 %-9v p99 %-9v max %v\n", what, len(took), pct(50), pct(90), pct(99),
			took[len(took)-1].Round(10*time.Microsecond))
	}
	fmt.Println("ring -> intercom_ring, per socket:")
	report("  sockets on the ringing node", local)
	report("  sockets on the other nodes (across the bus)", remote)
	report("  every rung socket of a ring (the ring's last)", whole)
	fmt.Println("goal: p99 <= 20ms across nodes")
	return nil
}

// delivered is the messages srv has delivered to each of its connections,
// by connection id (nil without a server).
func delivered(srv *server.Server) map[uint64]int64 {
	if srv == nil {
		return nil
	}
	c, err := srv.Connz(&server.ConnzOptions{Limit: 1000})
	if err != nil {
		return nil
	}
	out := map[uint64]int64{}
	for _, ci := range c.Conns {
		out[ci.Cid] = ci.OutMsgs
	}
	return out
}

// presenceRows counts the rows of bus_presence of each node, most first.
func presenceRows(ctx context.Context, dbURL string) ([]int, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT count(*) FROM bus_presence GROUP BY node ORDER BY 1 DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

// cpuUse is the CPU time the parts of a run have used.
type cpuUse struct{ nodes, db, self, machine time.Duration }

// cpuMeter reads the CPU time of the nodes, of the database server's
// processes serving the run (those pg_stat_activity lists for its database,
// and the server's own: WAL writer, checkpointer, …; read from /proc, so
// only when the server is on this machine, and only those alive at a read),
// of this command and of the whole machine.
type cpuMeter struct {
	conn  *pgx.Conn
	nodes []*exec.Cmd
	local bool                  // the database server's processes are this machine's
	db    map[int]time.Duration // each database process's CPU time at the last read
}

func newCPUMeter(ctx context.Context, dbURL string, nodes []*exec.Cmd) (*cpuMeter, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	// The server is this machine's when the meter's own backend is a
	// process here, titled as one of the run's database.
	m := &cpuMeter{conn: conn, nodes: nodes, db: map[int]time.Duration{}}
	var pid int32
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	title := loadkit.Cmdline(int(pid))
	m.local = strings.HasPrefix(title, "postgres:") && strings.Contains(title, conn.Config().Database)
	return m, nil
}

func (m *cpuMeter) close() { m.conn.Close(context.Background()) }

// read returns the CPU time used so far. A database process that started
// since the last read counts from its start; one that ended since counts
// what it had used by the last read.
func (m *cpuMeter) read(ctx context.Context) (cpuUse, error) {
	var u cpuUse
	for _, p := range m.nodes {
		u.nodes += loadkit.CPUTime(p.Process.Pid)
	}
	u.self, u.machine = loadkit.SelfCPUTime(), loadkit.MachineCPUTime()
	if !m.local {
		return u, nil
	}
	rows, err := m.conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL`)
	if err != nil {
		return u, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return u, err
	}
	for _, pid := range pids {
		if !strings.HasPrefix(loadkit.Cmdline(int(pid)), "postgres:") {
			continue // gone since, or not a PostgreSQL process
		}
		if t := loadkit.CPUTime(int(pid)); t > 0 {
			m.db[int(pid)] = t
		}
	}
	for _, t := range m.db {
		u.db += t
	}
	return u, nil
}

func perNode(devices []device, nodes int) []int {
	n := make([]int, nodes)
	for _, d := range devices {
		n[d.node]++
	}
	return n
}

// createDatabase makes a fresh database on the server of maint and returns
// its URL and what drops it.
func createDatabase(ctx context.Context, maint string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, maint)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL at %s: %w", redact(maint), err)
	}
	defer conn.Close(ctx)
	name := "clusterload_" + strings.ToLower(rand.Text()[:12])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, _ := url.Parse(maint)
	u.Path = "/" + name
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(dctx, maint)
		if err == nil {
			_, err = c.Exec(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(dctx)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "clusterload: dropping database %s: %v\n", name, err)
		}
	}
	return u.String(), drop, nil
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "postgres://…"
	}
	return p.Redacted()
}

func get(ctx context.Context, u string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %d %s", u, res.StatusCode, body)
	}
	return string(body), nil
}

// provision fills the cluster's fresh database with the load's intercom and
// devices, spread over the nodes.
func provision(ctx context.Context, dbURL string, sockets, perFlat, nodes, intercoms int, intercomOf func(flat int) int) ([]device, error) {
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ds, err := loadkit.Provision(ctx, db, sockets, perFlat, intercoms, intercomOf)
	if err != nil {
		return nil, err
	}
	devices := make([]device, len(ds))
	for i, d := range ds {
		devices[i] = device{Device: d, node: i % nodes}
	}
	return devices, nil
}

// warmUp rings each node in bases in turn from panels panels at once, each
// ring at a flat past the provisioned ones, from intercoms 1 to intercoms
// in turn.
func warmUp(ctx context.Context, bases []string, panels, intercoms int) error {
	for k, base := range bases {
		var g errgroup.Group
		for i := range panels {
			n := k*panels + i
			g.Go(func() error { return loadkit.Ring(ctx, base, n%intercoms+1, 1_000_000+n) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}
