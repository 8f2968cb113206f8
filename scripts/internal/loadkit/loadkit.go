// Package loadkit is what intercomd's load scripts (scripts/wsload,
// scripts/clusterload) share: provisioning an intercom with many devices
// straight into a store, asking intercomd to sign subscriptions and to ring,
// and reading a server's memory.
package loadkit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

	"intercom"
	"intercom/pusher/pusherclient"
)

// IntercomSecret is the bearer of load intercom id.
func IntercomSecret(id int) string { return "load-intercom-secret-" + strconv.Itoa(id) }

// Device is one provisioned device of the load: a web client, which rings
// over its socket.
type Device struct {
	Flat         int
	UUID, Secret string
	TokenID      string
	Client       *pusherclient.Client
}

// Provision writes intercoms 1 to intercoms, one account per flat (each
// flat at intercom intercomOf(flat)) with perFlat devices each and a live
// token per device, and returns the devices.
func Provision(ctx context.Context, db intercom.Store, sockets, perFlat, intercoms int, intercomOf func(flat int) int) ([]Device, error) {
	now := time.Now()
	for id := 1; id <= intercoms; id++ {
		if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: int64(id), Address: fmt.Sprintf("Load st. %d", id),
			SecretHash: intercom.IntercomSecretHash(IntercomSecret(id)), DoorOpenSeconds: 7, CreatedAt: now}); err != nil {
			return nil, err
		}
	}
	devices := make([]Device, sockets)
	var user intercom.User
	var err error
	for i := range devices {
		flat := i/perFlat + 1
		if i%perFlat == 0 {
			if user, err = db.CreateUser(ctx, intercom.User{Login: "flat" + strconv.Itoa(flat), PasswordHash: "-", CreatedAt: now, UpdatedAt: now}); err != nil {
				return nil, err
			}
			f := int64(flat)
			if _, err := db.PutMembership(ctx, intercom.Membership{UserID: user.ID, IntercomID: int64(intercomOf(flat)), Flat: &f, Title: "Home",
				Status: intercom.StatusConfirmed}, now); err != nil {
				return nil, err
			}
		}
		uuid := fmt.Sprintf("dev-%d", i)
		secret, tok := intercom.NewAccessToken(user.ID, uuid, "web", now, time.Hour)
		if tok, err = db.CreateAccessToken(ctx, tok); err != nil {
			return nil, err
		}
		devices[i] = Device{Flat: flat, UUID: uuid, Secret: secret, TokenID: tok.PublicID}
	}
	return devices, nil
}

// Authorize asks intercomd at base to sign a subscription, as an app's
// Pusher client does: the server ties the subscription to the device's token.
func Authorize(ctx context.Context, base string, d Device, socketID, channel string) (string, error) {
	form := url.Values{"socket_id": {socketID}, "channel_name": {channel}}.Encode()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/broadcasting/auth", strings.NewReader(form))
	req.Header.Set("Authorization", "Bearer "+d.Secret)
	req.Header.Set("X-Client", "web")
	req.Header.Set("X-UUID", d.UUID)
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

// panelClient is the panels' HTTP client: a panel holds its connection to
// the node it rings through, as the intercoms' own clients keep theirs
// alive, rather than net/http's default of two idle connections a host,
// which makes every panel past the second dial anew for each ring.
var panelClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}

// Ring rings a flat from load intercom id through intercomd at base.
func Ring(ctx context.Context, base string, id, flat int) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/hw/v1/ring", strings.NewReader(`{"flat":`+strconv.Itoa(flat)+`}`))
	req.Header.Set("Authorization", "Bearer "+IntercomSecret(id))
	req.Header.Set("Content-Type", "application/json")
	res, err := panelClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("ring: %d %s", res.StatusCode, body)
	}
	return nil
}

// LiveKiB is the Go heap in use plus goroutine stacks of intercomd at base,
// from its own /metrics; verbose prints both.
func LiveKiB(base string, verbose bool) int64 {
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
			if verbose {
				fmt.Println("  ", f[0], f[1])
			}
			v, _ := strconv.ParseFloat(f[1], 64)
			total += v
		}
	}
	return int64(total / 1024)
}

// RSSKiB is the resident memory of process pid.
func RSSKiB(pid int) int64 {
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

// RaiseFileLimit lifts this process's open-file limit to its maximum: each
// socket is a file on both ends.
func RaiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// Connect opens d's Pusher socket at wsURL (ws://host/ws/app/{key}?…), has
// intercomd at authBase sign its subscription to d's token channel and
// subscribes. d.Client is set once the socket is open.
func Connect(ctx context.Context, wsURL, authBase string, d *Device) error {
	c, err := pusherclient.Dial(ctx, wsURL)
	if err != nil {
		return err
	}
	d.Client = c
	ch := "private-token." + d.TokenID
	auth, err := Authorize(ctx, authBase, *d, c.SocketID, ch)
	if err != nil {
		return err
	}
	return c.Subscribe(ctx, ch, auth)
}

// ConnectAll runs connect for 0 … n-1, 64 at a time, each within 30 s, and
// returns the first error.
func ConnectAll(ctx context.Context, n int, connect func(ctx context.Context, i int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := connect(cctx, i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// Arrival is an intercom_ring reaching the I-th socket at At.
type Arrival struct {
	I  int
	At time.Time
}

// WatchRings reads every client's socket from now on, until it closes or
// ctx ends, and sends each intercom_ring it gets to the channel it returns
// (buffered for one per client). Reading also takes in the pongs of pings
// the clients send.
func WatchRings(ctx context.Context, clients []*pusherclient.Client) <-chan Arrival {
	arrivals := make(chan Arrival, len(clients))
	for i, c := range clients {
		go func() {
			for {
				m, err := c.Next(ctx)
				if err != nil {
					return
				}
				if strings.Contains(m.Data, `"type":"intercom_ring"`) {
					arrivals <- Arrival{i, time.Now()}
				}
			}
		}()
	}
	return arrivals
}

// CPUTime is the CPU time, user and system, process pid has used; 0 when
// it cannot be read (the process is gone, or on another machine).
func CPUTime(pid int) time.Duration { return cpuTime(procFS, pid) }

// procFS is this machine's /proc; its zero value, when /proc is not there,
// reads nothing.
var procFS, _ = procfs.NewDefaultFS()

// cpuTime is CPUTime of the process pid of fs.
func cpuTime(fs procfs.FS, pid int) time.Duration {
	p, err := fs.Proc(pid)
	if err != nil {
		return 0
	}
	st, err := p.Stat()
	if err != nil {
		return 0
	}
	return seconds(st.CPUTime())
}

// Cmdline is process pid's command line, its arguments joined by spaces
// (a PostgreSQL process's is its title: "postgres: …"); "" when it cannot
// be read.
func Cmdline(pid int) string {
	p, err := procFS.Proc(pid)
	if err != nil {
		return ""
	}
	args, err := p.CmdLine()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.Join(args, " "))
}

// MachineCPUTime is the CPU time all the machine's cores have spent busy
// (user, nice, system, interrupts; not idle, waiting for I/O or stolen by
// the host), summed; 0 when it cannot be read.
func MachineCPUTime() time.Duration {
	st, err := procFS.Stat()
	if err != nil {
		return 0
	}
	c := st.CPUTotal
	return seconds(c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ)
}

// seconds is s seconds as a Duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// SelfCPUTime is the CPU time, user and system, this process has used.
func SelfCPUTime() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
