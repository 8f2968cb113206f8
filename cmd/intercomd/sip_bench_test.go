//go:build sipbench

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The SIP figures of BENCHMARKS.md: measurements, not checks, so they are
// built only with -tags sipbench (the test command neither runs nor skips
// them), each then behind an environment variable: INTERCOMD_SIP_LATENCY
// (the set-up latency's distribution), INTERCOMD_SIP_BENCH (the call set-up
// rate) and INTERCOMD_SIP_HELD (what a held call costs).

// benchRig is a rig with intercom "Gate 1", resident alice at flat 15 and
// her phone's socket open.
func benchRig(t *testing.T, appMedia string, ringAfter time.Duration) (*sipRig, panel, *clusterDevice, *socketLog) {
	t.Helper()
	r := startSIPRigRinging(t, appMedia, ringAfter)
	p, phone, sock := r.gateWithAlice(t)
	return r, p, phone, sock
}

// sipp runs sipp as panel p dialling flat 15 with scenario and extra
// arguments, to its end (it stops on its own after -m calls).
func (r *sipRig) sippRun(p panel, scenario string, extra ...string) (string, error) {
	sf, _ := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	args := append([]string{fmt.Sprintf("127.0.0.1:%d", r.sipPort), "-sf", sf, "-p", strconv.Itoa(freeUDPPort(r.t)),
		"-i", "127.0.0.1", "-s", "15", "-key", "domain", sipDomain, "-key", "user", p.username,
		"-au", p.username, "-ap", p.passwd, "-nostdin"}, extra...)
	cmd := exec.Command(r.sipp, args...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// percentiles formats p50/p90/p99/max of ds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s (n=%d)", ms(at(0.50)), ms(at(0.90)), ms(at(0.99)), ms(s[len(s)-1]), len(s))
}

// wsApp is the least SIP-over-WebSocket app there is, for timing without a
// Node process starting: it connects with the answer's URL, registers the
// number, waits for the INVITE and refuses it (603), so the panel's call
// ends at once.
type wsApp struct {
	c      *websocket.Conn
	number string
	callID string
}

func wsAppDial(ctx context.Context, sipURL, number string) (*wsApp, error) {
	c, _, err := websocket.Dial(ctx, sipURL, &websocket.DialOptions{Subprotocols: []string{"sip"}})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	return &wsApp{c: c, number: number, callID: fmt.Sprintf("%x@bench.invalid", rand.Uint64())}, nil
}

func (a *wsApp) send(ctx context.Context, msg string) error {
	return a.c.Write(ctx, websocket.MessageText, []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
}

// next reads SIP messages until one whose first line has prefix.
func (a *wsApp) next(ctx context.Context, prefix string) (string, error) {
	for {
		_, b, err := a.c.Read(ctx)
		if err != nil {
			return "", err
		}
		if m := string(b); strings.HasPrefix(m, prefix) {
			return m, nil
		}
	}
}

func (a *wsApp) register(ctx context.Context) error {
	err := a.send(ctx, fmt.Sprintf(`REGISTER sip:%[2]s SIP/2.0
Via: SIP/2.0/WS bench.invalid;branch=z9hG4bK%[3]x
Max-Forwards: 70
To: <sip:%[1]s@%[2]s>
From: <sip:%[1]s@%[2]s>;tag=%[3]x
Call-ID: %[4]s
CSeq: 1 REGISTER
Contact: <sip:%[1]s@bench.invalid;transport=ws>;expires=60
Content-Length: 0

`, a.number, sipDomain, rand.Uint64(), a.callID))
	if err != nil {
		return err
	}
	reply, err := a.next(ctx, "SIP/2.0 ")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(reply, "SIP/2.0 200") {
		return fmt.Errorf("REGISTER: %s", strings.SplitN(reply, "\r\n", 2)[0])
	}
	return nil
}

// decline answers the INVITE 603, copying the headers a response needs.
func (a *wsApp) decline(ctx context.Context, invite string) error {
	var b strings.Builder
	b.WriteString("SIP/2.0 603 Decline\r\n")
	for _, line := range strings.Split(invite, "\r\n")[1:] {
		if line == "" {
			break
		}
		name := strings.ToLower(strings.TrimSpace(strings.SplitN(line, ":", 2)[0]))
		switch name {
		case "via", "v", "from", "f", "call-id", "i", "cseq", "record-route":
			b.WriteString(line + "\r\n")
		case "to", "t":
			b.WriteString(line + ";tag=bench\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return a.c.Write(ctx, websocket.MessageText, []byte(b.String()))
}

// TestSIPSetupLatency measures, when INTERCOMD_SIP_LATENCY is a number of
// calls, the time from the resident's `start` to the panel's INVITE
// reaching the app (the path its 180/200 takes back is then set up), one
// call at a time: sipp dials flat 15 (latency.xml), the test answers the
// ring with `start` and connects a minimal SIP-over-WebSocket app (no Node
// process to start), which registers the number, takes the held INVITE and
// refuses it (603). Also the panel's authenticated INVITE → 180 (Kamailio
// asked intercomd to ring the flat), from sipp's response times.
func TestSIPSetupLatency(t *testing.T) {
	calls, _ := strconv.Atoi(os.Getenv("INTERCOMD_SIP_LATENCY"))
	if calls <= 0 {
		t.Skip("skipped: set INTERCOMD_SIP_LATENCY=<calls> to measure the SIP set-up latency")
	}
	r, p, phone, sock := benchRig(t, "rtp", 30*time.Second)
	n := r.node
	type sippDone struct {
		out string
		err error
	}
	done := make(chan sippDone, 1)
	go func() {
		out, err := r.sippRun(p, "latency.xml", "-m", strconv.Itoa(calls), "-l", "1", "-r", "20",
			"-timeout", strconv.Itoa(calls*5+30), "-timeout_error", "-trace_rtt", "-rtt_freq", "1")
		done <- sippDone{out, err}
	}()
	var toWS, toRegistered, toInvite, startReq []time.Duration
	seen := map[int64]bool{}
	for range calls {
		id := newRing(t, sock, seen)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		t0 := time.Now()
		raw := n.want(t, "POST", callPath(id, "start"), phone.headers(), "", 200)
		t1 := time.Now()
		a, err := wsAppDial(ctx, raw["sip"].(string), raw["number"].(string))
		if err != nil {
			cancel()
			t.Fatalf("call %d: the app's WebSocket: %v", id, err)
		}
		t2 := time.Now()
		if err := a.register(ctx); err != nil {
			cancel()
			t.Fatalf("call %d: %v", id, err)
		}
		t3 := time.Now()
		invite, err := a.next(ctx, "INVITE ")
		if err != nil {
			cancel()
			t.Fatalf("call %d: no INVITE at the app: %v", id, err)
		}
		t4 := time.Now()
		if err := a.decline(ctx, invite); err != nil {
			t.Fatalf("call %d: %v", id, err)
		}
		startReq = append(startReq, t1.Sub(t0))
		toWS = append(toWS, t2.Sub(t0))
		toRegistered = append(toRegistered, t3.Sub(t0))
		toInvite = append(toInvite, t4.Sub(t0))
		a.c.Close(websocket.StatusNormalClosure, "")
		cancel()
	}
	var res sippDone
	select {
	case res = <-done:
	case <-time.After(time.Duration(calls)*5*time.Second + 60*time.Second):
		t.Fatal("sipp did not finish")
	}
	if res.err != nil {
		t.Errorf("sipp: %v\n%s", res.err, lastLines(res.out, 40))
	}
	t.Logf("%d calls, one at a time; from the resident's start:", calls)
	t.Logf("  start answered           %s", percentiles(startReq))
	t.Logf("  the app's WebSocket open %s", percentiles(toWS))
	t.Logf("  the number registered    %s", percentiles(toRegistered))
	t.Logf("  the INVITE at the app    %s", percentiles(toInvite))
	t.Logf("the panel's authenticated INVITE → 180: %s", percentiles(sippRTT(t, r.dir)))
}

// sippRTT reads the response times sipp's -trace_rtt wrote in dir.
func sippRTT(t *testing.T, dir string) []time.Duration {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	var out []time.Duration
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		col := slices.Index(strings.Split(lines[0], ";"), "response_time_ms")
		if col < 0 {
			t.Fatalf("%s: no response_time_ms column: %q", f, lines[0])
		}
		for _, line := range lines[1:] {
			fields := strings.Split(line, ";")
			if len(fields) <= col {
				continue
			}
			ms, err := strconv.ParseFloat(fields[col], 64)
			if err == nil {
				out = append(out, time.Duration(ms*float64(time.Millisecond)))
			}
		}
	}
	return out
}

// TestSIPSetupRate measures, when INTERCOMD_SIP_BENCH is a rate (calls a
// second) or "step", how many calls Kamailio and intercomd set up together:
// sipp dials flat 15 at the rate, each call to 180 (intercomd rang the flat;
// Kamailio holds the INVITE and polls intercomd), then after 1 s CANCEL →
// 487 (intercomd told: missed). "step" runs 5 s of calls at 100, 200, 300,
// ... a second until a step has failed calls (or 1,000/s), each step after
// the last's calls ended; retransmissions (a reply later than 500 ms) are
// reported, not counted as failures.
func TestSIPSetupRate(t *testing.T) {
	env := os.Getenv("INTERCOMD_SIP_BENCH")
	if env == "" {
		t.Skip("skipped: set INTERCOMD_SIP_BENCH=<calls a second>|step to measure the call set-up rate")
	}
	rates := []int{}
	if env == "step" {
		for rate := 100; rate <= 1000; rate += 100 {
			rates = append(rates, rate)
		}
	} else {
		rate, err := strconv.Atoi(env)
		if err != nil || rate <= 0 {
			t.Fatalf("INTERCOMD_SIP_BENCH=%q: want a rate or step", env)
		}
		rates = append(rates, rate)
	}
	r, p, _, _ := benchRig(t, "webrtc", 30*time.Second)
	for _, rate := range rates {
		calls := rate * 5
		stat := filepath.Join(r.dir, fmt.Sprintf("stat-%d.csv", rate))
		start := time.Now()
		out, err := r.sippRun(p, "cancel.xml", "-m", strconv.Itoa(calls), "-r", strconv.Itoa(rate), "-l", strconv.Itoa(rate*4),
			"-timeout", "120", "-trace_stat", "-stf", stat, "-fd", "1")
		took := time.Since(start)
		failed, retrans := sippStat(t, stat, "FailedCall(C)"), sippStat(t, stat, "Retransmissions(C)")
		achieved := sippStat(t, stat, "CallRate(C)")
		t.Logf("%d calls asked at %d/s: %s calls/s achieved (sipp's cumulative rate), %s failed, %s retransmissions, %v (sipp exit %v)",
			calls, rate, achieved, failed, retrans, took.Round(time.Millisecond), err)
		if err != nil || failed != "0" {
			t.Logf("failures start at %d calls/s:\n%s", rate, lastLines(out, 30))
			break
		}
	}
}

// sippStat is column col of the last line of sipp's -trace_stat file.
func sippStat(t *testing.T, file, col string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		return "?"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return "?"
	}
	head, last := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
	for i, h := range head {
		if h == col && i < len(last) {
			return last[i]
		}
	}
	return "?"
}

// TestSIPHeldCalls measures, when INTERCOMD_SIP_HELD is a number of calls,
// what one node spends per call waiting for its app: sipp dials flat 15
// that many times (hold.xml) and holds each ringing; with all of them
// held, intercomd's goroutines and Go heap (it runs in this process: a
// difference against 0 calls) and Kamailio's shared memory (kamcmd
// core.shmmem through the ctl socket) are compared with the same figures
// before the first call. The calls then CANCEL and sipp stops on its own.
func TestSIPHeldCalls(t *testing.T) {
	held, _ := strconv.Atoi(os.Getenv("INTERCOMD_SIP_HELD"))
	if held <= 0 {
		t.Skip("skipped: set INTERCOMD_SIP_HELD=<calls> to measure what a held call costs")
	}
	kamcmd, err := exec.LookPath("kamcmd")
	if err != nil {
		t.Fatal("kamcmd (package kamailio) is needed")
	}
	r, p, _, sock := benchRig(t, "webrtc", 120*time.Second)
	ctl := "unix:" + filepath.Join(r.dir, "kamailio_ctl")
	shm := func() int64 {
		out, err := exec.Command(kamcmd, "-s", ctl, "core.shmmem").CombinedOutput()
		if err != nil {
			t.Fatalf("kamcmd core.shmmem: %v: %s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "real_used:" {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
		t.Fatalf("kamcmd core.shmmem: %s", out)
		return 0
	}
	goMem := func() (int, uint64) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return runtime.NumGoroutine(), m.HeapAlloc
	}
	// Warm up: one held call, so that first-use allocations are not counted.
	if out, err := r.sippRun(p, "hold.xml", "-m", "1", "-d", "200", "-timeout", "30", "-timeout_error"); err != nil {
		t.Fatalf("warm-up call: %v\n%s", err, lastLines(out, 20))
	}
	time.Sleep(time.Second)
	g0, h0 := goMem()
	s0 := shm()

	holdFor := 20 * time.Second
	type sippDone struct {
		out string
		err error
	}
	done := make(chan sippDone, 1)
	go func() {
		out, err := r.sippRun(p, "hold.xml", "-m", strconv.Itoa(held), "-r", "100", "-l", strconv.Itoa(held),
			"-d", strconv.Itoa(int(holdFor/time.Millisecond)), "-timeout", "120", "-timeout_error", "-trace_err")
		done <- sippDone{out, err}
	}()
	seen := map[int64]bool{}
	for range held {
		newRing(t, sock, seen)
	}
	time.Sleep(2 * time.Second) // the last 180s and retransmissions settle
	g1, h1 := goMem()
	s1 := shm()
	res := <-done
	if res.err != nil {
		errs, _ := filepath.Glob(filepath.Join(r.dir, "*_errors.log"))
		for _, f := range errs {
			b, _ := os.ReadFile(f)
			t.Logf("%s:\n%s", filepath.Base(f), lastLines(string(b), 20))
		}
		t.Errorf("sipp: %v\n%s", res.err, lastLines(res.out, 30))
	}
	per := func(a, b int64) string { return fmt.Sprintf("%.1f", float64(b-a)/float64(held)) }
	t.Logf("%d held calls vs none: intercomd goroutines %d → %d (%s a call), Go heap %d → %d bytes (%s a call); "+
		"Kamailio shared memory in use %d → %d bytes (%s a call)",
		held, g0, g1, per(int64(g0), int64(g1)), h0, h1, per(int64(h0), int64(h1)), s0, s1, per(s0, s1))
}
