// Command wsload measures intercomd's real-time path under load, on this
// machine: it provisions an intercom with -sockets devices (-per-flat to a
// flat) straight into a fresh SQLite file, starts the real intercomd on it,
// connects one Pusher socket per device, and prints
//
//   - the server's resident memory per idle socket, and
//
//   - ring → intercom_ring latency (p50, p99, max) over -rings rings, each to
//     one flat, timed from sending POST /api/hw/v1/ring until every rung
//     device's socket has the event.
//
//     go run ./scripts/wsload                  # 5,000 sockets, 500 rings
//     go run ./scripts/wsload -sockets 1000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"intercom"
	"intercom/pusher/pusherclient"
	"intercom/sqlite"
)

func main() {
	sockets := flag.Int("sockets", 5000, "Pusher sockets (one device each) to connect")
	perFlat := flag.Int("per-flat", 5, "devices in each flat: each ring reaches this many")
	rings := flag.Int("rings", 500, "rings to time")
	addr := flag.String("addr", "127.0.0.1:18190", "address for intercomd")
	flag.Parse()
	if err := run(*sockets, *perFlat, *rings, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(1)
	}
}

const (
	appKey, appSecret = "load-key", "load-secret"
	intercomSecret    = "load-intercom-secret"
)

type device struct {
	flat         int
	uuid, secret string
	tokenID      string
	client       *pusherclient.Client
}

func run(sockets, perFlat, rings int, addr string) error {
	ctx := context.Background()
	raiseFileLimit()
	dir, err := os.MkdirTemp("", "wsload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Printf("provisioning %d devices in %d flats...\n", sockets, (sockets+perFlat-1)/perFlat)
	devices, err := provision(ctx, filepath.Join(dir, "load.db"), sockets, perFlat)
	if err != nil {
		return err
	}

	bin := filepath.Join(dir, "intercomd")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/intercomd").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	srv := exec.Command(bin, "serve", "--addr", addr, "--db", filepath.Join(dir, "load.db"), "--log-level", "error",
		"--pusher-app-key", appKey, "--pusher-app-secret", appSecret, "--ring-timeout", "1m")
	srv.Stderr = os.Stderr
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() }()
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		return fmt.Errorf("intercomd did not start: %w", err)
	}
	go io.Copy(io.Discard, stdout)
	base := "http://" + addr

	// Warm up, then take the baseline.
	if err := ring(base, 1); err != nil {
		return err
	}
	runtime.GC()
	time.Sleep(time.Second)
	before := rssKiB(srv.Process.Pid)
	liveBefore := liveKiB(base)

	fmt.Printf("connecting %d sockets...\n", sockets)
	url := "ws://" + addr + "/ws/app/" + appKey + "?protocol=7&client=wsload"
	var wg sync.WaitGroup
	errs := make(chan error, sockets)
	sem := make(chan struct{}, 64)
	for i := range devices {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c, err := pusherclient.Dial(cctx, url)
			if err != nil {
				errs <- err
				return
			}
			ch := "private-token." + devices[i].tokenID
			auth, err := authorize(cctx, base, devices[i], c.SocketID, ch)
			if err != nil {
				errs <- err
				return
			}
			if err := c.Subscribe(cctx, ch, auth); err != nil {
				errs <- err
				return
			}
			devices[i].client = c
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		for _, d := range devices {
			d.client.Close()
		}
	}()
	time.Sleep(10 * time.Second) // let the server settle: garbage of the handshakes collected, memory returned
	after := rssKiB(srv.Process.Pid)
	liveAfter := liveKiB(base)

	// Every socket reads its events from here on.
	type arrival struct {
		flat int
		at   time.Time
	}
	arrivals := make(chan arrival, sockets)
	for _, d := range devices {
		go func() {
			for {
				m, err := d.client.Next(ctx)
				if err != nil {
					return
				}
				if strings.Contains(m.Data, `"type":"intercom_ring"`) {
					arrivals <- arrival{d.flat, time.Now()}
				}
			}
		}()
	}

	fmt.Printf("timing %d rings of %d devices each...\n", rings, perFlat)
	flats := (sockets + perFlat - 1) / perFlat
	var took []time.Duration
	for i := 0; i < rings; i++ {
		flat := 1 + (i*7919)%flats
		want := min(perFlat, sockets-(flat-1)*perFlat)
		start := time.Now()
		if err := ring(base, flat); err != nil {
			return err
		}
		var last time.Time
		for got := 0; got < want; {
			select {
			case a := <-arrivals:
				if a.flat != flat {
					return fmt.Errorf("flat %d's device got the ring of flat %d", a.flat, flat)
				}
				got++
				last = a.at
			case <-time.After(10 * time.Second):
				return fmt.Errorf("ring %d: %d of %d devices got intercom_ring", i, got, want)
			}
		}
		took = append(took, last.Sub(start))
	}
	slices.Sort(took)
	pct := func(p int) time.Duration { return took[min(len(took)-1, len(took)*p/100)] }

	fmt.Printf("\nmachine: %d cores, %s\n", runtime.NumCPU(), runtime.Version())
	fmt.Printf("intercomd RSS: %.1f MiB idle, %.1f MiB with %d sockets\n", float64(before)/1024, float64(after)/1024, sockets)
	fmt.Printf("memory per idle socket: %.1f KiB of RSS (goal <= 20 KiB)\n", float64(after-before)/float64(sockets))
	fmt.Printf("  of which live Go heap and stacks: %.1f KiB (the rest is memory the runtime has not returned yet)\n",
		float64(liveAfter-liveBefore)/float64(sockets))
	fmt.Printf("ring -> intercom_ring on every rung device, %d rings: p50 %v, p99 %v (goal <= 20ms), max %v\n",
		len(took), pct(50).Round(10*time.Microsecond), pct(99).Round(10*time.Microsecond), took[len(took)-1].Round(10*time.Microsecond))
	return nil
}

// provision writes the intercom, one account per flat with perFlat devices,
// and a live token per device; it returns the devices.
func provision(ctx context.Context, path string, sockets, perFlat int) ([]device, error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	now := time.Now()
	if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: 1, Address: "Load st. 1", SecretHash: intercom.HashToken(intercomSecret),
		DoorOpenSeconds: 7, CreatedAt: now}); err != nil {
		return nil, err
	}
	devices := make([]device, sockets)
	var user intercom.User
	for i := range devices {
		flat := i/perFlat + 1
		if i%perFlat == 0 {
			if user, err = db.CreateUser(ctx, intercom.User{Login: "flat" + strconv.Itoa(flat), PasswordHash: "-", CreatedAt: now, UpdatedAt: now}); err != nil {
				return nil, err
			}
			f := int64(flat)
			if _, _, err := db.PutMembership(ctx, intercom.Membership{UserID: user.ID, IntercomID: 1, Flat: &f, Title: "Home",
				Status: intercom.StatusConfirmed}, now); err != nil {
				return nil, err
			}
		}
		uuid := fmt.Sprintf("dev-%d", i)
		secret, tok := intercom.NewAccessToken(user.ID, uuid, "web", now, time.Hour)
		if tok, err = db.CreateAccessToken(ctx, tok); err != nil {
			return nil, err
		}
		devices[i] = device{flat: flat, uuid: uuid, secret: secret, tokenID: tok.PublicID}
	}
	return devices, nil
}

// authorize asks intercomd to sign a subscription, as an app's Pusher client
// does: the server ties the subscription to the device's token.
func authorize(ctx context.Context, base string, d device, socketID, channel string) (string, error) {
	form := url.Values{"socket_id": {socketID}, "channel_name": {channel}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/broadcasting/auth", strings.NewReader(form))
	req.Header.Set("Authorization", "Bearer "+d.secret)
	req.Header.Set("X-Client", "web")
	req.Header.Set("X-UUID", d.uuid)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var v struct {
		Auth string `json:"auth"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("broadcasting/auth: %d %v", res.StatusCode, err)
	}
	return v.Auth, nil
}

func ring(base string, flat int) error {
	req, _ := http.NewRequest("POST", base+"/api/hw/v1/ring", strings.NewReader(`{"flat":`+strconv.Itoa(flat)+`}`))
	req.Header.Set("Authorization", "Bearer "+intercomSecret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 {
		return fmt.Errorf("ring: %d %s", res.StatusCode, body)
	}
	return nil
}

// liveKiB is the server's Go heap in use plus goroutine stacks, from its
// own /metrics, after the garbage the requests left was collected.
func liveKiB(base string) int64 {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	var total float64
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && (f[0] == "go_memstats_heap_inuse_bytes" || f[0] == "go_memstats_stack_inuse_bytes") {
			if os.Getenv("WSLOAD_VERBOSE") != "" {
				fmt.Println("  ", f[0], f[1])
			}
			v, _ := strconv.ParseFloat(f[1], 64)
			total += v
		}
	}
	return int64(total / 1024)
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
