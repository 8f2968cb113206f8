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
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"intercom/pusher/pusherclient"
	"intercom/scripts/internal/loadkit"
	"intercom/sqlite"
)

func main() {
	sockets := flag.Int("sockets", 5000, "Pusher sockets (one device each) to connect")
	perFlat := flag.Int("per-flat", 5, "devices in each flat: each ring reaches this many")
	rings := flag.Int("rings", 500, "rings to time")
	wsPing := flag.Bool("ws-ping", false, "have every socket send one WebSocket ping frame before the memory is read, as Java-WebSocket (under pusher-java) does every minute")
	addr := flag.String("addr", "127.0.0.1:18190", "address for intercomd")
	flag.Parse()
	if err := run(*sockets, *perFlat, *rings, *addr, *wsPing); err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(1)
	}
}

const (
	appKey, appSecret = "load-key", "load-secret"
)

type device = loadkit.Device

func run(sockets, perFlat, rings int, addr string, wsPing bool) error {
	ctx := context.Background()
	loadkit.RaiseFileLimit()
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
	if err := loadkit.Ring(ctx, base, 1, 1); err != nil {
		return err
	}
	runtime.GC()
	time.Sleep(time.Second)
	before := loadkit.RSSKiB(srv.Process.Pid)
	liveBefore := loadkit.LiveKiB(base, os.Getenv("WSLOAD_VERBOSE") != "")

	fmt.Printf("connecting %d sockets...\n", sockets)
	url := "ws://" + addr + "/ws/app/" + appKey + "?protocol=7&client=wsload"
	err = loadkit.ConnectAll(ctx, len(devices), func(ctx context.Context, i int) error {
		return loadkit.Connect(ctx, url, base, &devices[i])
	})
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		for _, d := range devices {
			if d.Client != nil {
				d.Client.Close()
			}
		}
	}()
	// Every socket reads its events from here on (the reads also take the
	// pongs of -ws-ping).
	clients := make([]*pusherclient.Client, len(devices))
	for i, d := range devices {
		clients[i] = d.Client
	}
	arrivals := loadkit.WatchRings(ctx, clients)
	if wsPing {
		fmt.Println("one WebSocket ping from every socket...")
		if err := loadkit.ConnectAll(ctx, len(devices), func(ctx context.Context, i int) error {
			return devices[i].Client.Conn.Ping(ctx)
		}); err != nil {
			return fmt.Errorf("pinging: %w", err)
		}
	}
	time.Sleep(10 * time.Second) // let the server settle: garbage of the handshakes collected, memory returned
	after := loadkit.RSSKiB(srv.Process.Pid)
	liveAfter := loadkit.LiveKiB(base, os.Getenv("WSLOAD_VERBOSE") != "")

	fmt.Printf("timing %d rings of %d devices each...\n", rings, perFlat)
	flats := (sockets + perFlat - 1) / perFlat
	var took []time.Duration
	for i := 0; i < rings; i++ {
		flat := 1 + (i*7919)%flats
		want := min(perFlat, sockets-(flat-1)*perFlat)
		start := time.Now()
		if err := loadkit.Ring(ctx, base, 1, flat); err != nil {
			return err
		}
		var last time.Time
		for got := 0; got < want; {
			select {
			case a := <-arrivals:
				if f := devices[a.I].Flat; f != flat {
					return fmt.Errorf("flat %d's device got the ring of flat %d", f, flat)
				}
				got++
				last = a.At
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

// provision fills a fresh SQLite file with the load's intercom and devices.
func provision(ctx context.Context, path string, sockets, perFlat int) ([]device, error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return loadkit.Provision(ctx, db, sockets, perFlat, 1, func(int) int { return 1 })
}
