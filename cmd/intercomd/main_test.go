package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"intercom"
	"intercom/postgres/pgtest"
)

// TestRunDemoEndToEnd starts the real server through run() on a random port
// with --demo, runs the curl it prints, and shuts it down as SIGTERM would.
func TestRunDemoEndToEnd(t *testing.T) {
	runDemoEndToEnd(t, filepath.Join(t.TempDir(), "e2e.db"))
}

// TestRunDemoEndToEndPostgres is TestRunDemoEndToEnd with --db postgres://….
func TestRunDemoEndToEndPostgres(t *testing.T) {
	runDemoEndToEnd(t, pgtest.NewDatabase(t))
}

func runDemoEndToEnd(t *testing.T, db string) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	outR, outW := io.Pipe()
	env := map[string]string{"INTERCOMD_ADMIN_TOKEN": "admin-token-from-the-environment-0123", "INTERCOMD_LOG_LEVEL": "warn"}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--demo"}
	env = withSecretKey(t, env, args)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, env, outW, io.Discard)
		outW.Close()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var out strings.Builder
	for line := range lines {
		out.WriteString(line + "\n")
		if strings.Contains(line, "/open-door'") { // the last step the demo prints
			break
		}
	}
	panelSaid, renamed := make(chan string, 1), make(chan string, 10)
	go func() {
		for line := range lines {
			switch {
			case strings.HasPrefix(line, "demo panel: ") && strings.Contains(line, "door"):
				select {
				case panelSaid <- line:
				default:
				}
			case strings.HasPrefix(line, "demo: intercom 180 is now called"):
				renamed <- line
			}
		}
	}()
	text := out.String()
	base := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(text)
	curl := regexp.MustCompile(`(?s)--request PATCH '(\S+)'.*Bearer (\S+)'.*X-Client: (\S+)'.*X-UUID: (\S+)'.*--data-raw '(.*?)'\n`).FindStringSubmatch(text)
	if base == nil || curl == nil {
		t.Fatalf("demo output lacks the address or the curl:\n%s", text)
	}
	req, _ := http.NewRequest("PATCH", curl[1], strings.NewReader(curl[5]))
	req.Header.Set("Authorization", "Bearer "+curl[2])
	req.Header.Set("X-Client", curl[3])
	req.Header.Set("X-UUID", curl[4])
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	json.NewDecoder(res.Body).Decode(&v)
	res.Body.Close()
	if res.StatusCode != 200 || v["id"] != float64(180) || v["title"] != "My intercom" || v["is_online"] != true ||
		v["department"] != float64(100) || v["address"] != "Cameras" || v["camera"].(map[string]any)["id"] != float64(833) {
		t.Fatalf("seed's curl: %d %v", res.StatusCode, v)
	}
	// A call, as the demo's steps go: the phone's timetable is cleared, the
	// phone listens, the intercom rings, the phone gets intercom_ring and
	// answers; the tablet is skipped.
	clear := regexp.MustCompile(`(?m)^  curl -sS -X PATCH '(\S+)'.* -d '(.*)'$`).FindStringSubmatch(text)
	if clear == nil {
		t.Fatalf("demo output lacks step 0:\n%s", text)
	}
	creq, _ := http.NewRequest("PATCH", clear[1], strings.NewReader(clear[2]))
	creq.Header.Set("Authorization", "Bearer "+curl[2])
	creq.Header.Set("X-Client", curl[3])
	creq.Header.Set("X-UUID", curl[4])
	creq.Header.Set("Content-Type", "application/json")
	if cres, err := http.DefaultClient.Do(creq); err != nil || cres.StatusCode != 200 {
		t.Fatalf("step 0: %v %v", cres, err)
	}
	phoneToken := regexp.MustCompile(`--uuid demo-phone --token (\S+)`).FindStringSubmatch(text)
	if phoneToken == nil {
		t.Fatalf("demo output lacks the listen command:\n%s", text)
	}
	lr, lw := io.Pipe()
	listenCtx, stopListen := context.WithCancel(ctx)
	listenDone := make(chan error, 1)
	go func() {
		listenDone <- run(listenCtx, []string{"listen", "--url", base[1], "--uuid", "demo-phone", "--token", phoneToken[1]}, nil, lw, io.Discard)
		lw.Close()
	}()
	heard := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(lr)
		for sc.Scan() {
			heard <- sc.Text()
		}
		close(heard)
	}()
	if line := <-heard; !strings.HasPrefix(line, "listening as demo-phone") {
		t.Fatalf("listen: %q", line)
	}
	rreq, _ := http.NewRequest("POST", base[1]+"/api/hw/v1/ring", strings.NewReader(`{}`))
	rreq.Header.Set("Authorization", "Bearer demo-intercom-secret")
	rreq.Header.Set("Content-Type", "application/json")
	rres, err := http.DefaultClient.Do(rreq)
	if err != nil {
		t.Fatal(err)
	}
	var rung struct {
		CallID  int64                             `json:"call_id"`
		Skipped []struct{ Device, Reason string } `json:"skipped"`
	}
	json.NewDecoder(rres.Body).Decode(&rung)
	rres.Body.Close()
	if rres.StatusCode != 201 || len(rung.Skipped) != 1 || rung.Skipped[0].Reason != "outside_timetable" {
		t.Fatalf("ring: %d %+v", rres.StatusCode, rung)
	}
	for line := range heard {
		if strings.Contains(line, " intercom_ring ") {
			break
		}
	}
	sreq, _ := http.NewRequest("POST", base[1]+"/api/v1/intercom/calls/"+strconv.FormatInt(rung.CallID, 10)+"/start", nil)
	sreq.Header.Set("Authorization", "Bearer "+phoneToken[1])
	sreq.Header.Set("X-Client", "ios-cctv")
	sreq.Header.Set("X-UUID", "demo-phone")
	sres, err := http.DefaultClient.Do(sreq)
	if err != nil || sres.StatusCode != 200 {
		t.Fatalf("answer: %v %v", sres, err)
	}
	sres.Body.Close()
	stopListen()
	if err := <-listenDone; err != nil {
		t.Errorf("listen: %v", err)
	}

	// The demo prints a new title as the demo tablet hears of it: once its
	// socket is open (its session online), a rename from the phone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		sreq, _ := http.NewRequest("GET", base[1]+"/api/v1/sessions", nil)
		sreq.Header.Set("Authorization", "Bearer "+curl[2])
		sreq.Header.Set("X-Client", curl[3])
		sreq.Header.Set("X-UUID", curl[4])
		sres, err := http.DefaultClient.Do(sreq)
		if err != nil {
			t.Fatal(err)
		}
		var sessions []struct {
			Online bool   `json:"online"`
			Client string `json:"client"`
			Agent  string `json:"user_agent"`
		}
		json.NewDecoder(sres.Body).Decode(&sessions)
		sres.Body.Close()
		online := 0
		for _, s := range sessions {
			if s.Online {
				online++
			}
		}
		if online >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo tablet's socket never opened: %+v", sessions)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rn, _ := http.NewRequest("PATCH", curl[1], strings.NewReader(`{"title":"Demo door"}`))
	rn.Header.Set("Authorization", "Bearer "+curl[2])
	rn.Header.Set("X-Client", curl[3])
	rn.Header.Set("X-UUID", curl[4])
	rn.Header.Set("Content-Type", "application/json")
	if rres, err := http.DefaultClient.Do(rn); err != nil || rres.StatusCode != 200 {
		t.Fatalf("rename: %v %v", rres, err)
	}
	// (The step's own rename, "My intercom", may be heard first.)
	for done := false; !done; {
		select {
		case line := <-renamed:
			switch line {
			case `demo: intercom 180 is now called "Demo door" (intercom.rename, as the tablet heard it)`:
				done = true
			case `demo: intercom 180 is now called "My intercom" (intercom.rename, as the tablet heard it)`:
			default:
				t.Fatalf("the demo printed %q", line)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the demo printed no new title")
		}
	}

	// Step 5: the door opens at the demo panel, which checks the command's
	// signature and says so on the demo's output.
	door := regexp.MustCompile(`(?m)^  curl -sS -X POST '(\S+/open-door)'`).FindStringSubmatch(text)
	if door == nil {
		t.Fatalf("demo output lacks step 5:\n%s", text)
	}
	dreq, _ := http.NewRequest("POST", door[1], nil)
	dreq.Header.Set("Authorization", "Bearer "+curl[2])
	dreq.Header.Set("X-Client", curl[3])
	dreq.Header.Set("X-UUID", curl[4])
	dres, err := http.DefaultClient.Do(dreq)
	if err != nil || dres.StatusCode != 204 {
		t.Fatalf("open door: %v %v", dres, err)
	}
	select {
	case line := <-panelSaid:
		if !strings.Contains(line, "signature checked; the door opens for 7 s") || !strings.Contains(line, "device demo-phone") {
			t.Errorf("the demo panel said %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the demo panel said nothing of the door")
	}

	// The admin token came from INTERCOMD_ADMIN_TOKEN.
	areq, _ := http.NewRequest("POST", base[1]+"/api/admin/v1/users", strings.NewReader(`{"login":"e2e","password":"password-e2e"}`))
	areq.Header.Set("Authorization", "Bearer admin-token-from-the-environment-0123")
	areq.Header.Set("Content-Type", "application/json")
	ares, err := http.DefaultClient.Do(areq)
	if err != nil || ares.StatusCode != 201 {
		t.Fatalf("admin with the env token: %v %v", ares, err)
	}
	ares.Body.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestParseConfig(t *testing.T) {
	c, err := parseConfig([]string{"serve", "--token-ttl", "1h"}, map[string]string{
		"INTERCOMD_TOKEN_TTL": "2h", "INTERCOMD_OFFLINE_AFTER": "45s", "INTERCOMD_ADDR": "127.0.0.1:9999"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.tokenTTL != time.Hour || c.offlineAfter != 45*time.Second || c.addr != "127.0.0.1:9999" || c.db != "intercomd.db" {
		t.Errorf("config %+v: flags must win over the environment, which wins over defaults", c)
	}
	for name, tt := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"no command":      {nil, nil},
		"unknown command": {[]string{"start"}, nil},
		"bad flag":        {[]string{"serve", "--nope"}, nil},
		"bad duration":    {[]string{"serve", "--token-ttl", "forever"}, nil},
		"bad env":         {[]string{"serve"}, map[string]string{"INTERCOMD_OFFLINE_AFTER": "soon"}},
		"negative ttl":    {[]string{"serve", "--token-ttl", "-1h"}, nil},
		"stray argument":  {[]string{"serve", "extra"}, nil},
		"bad sip url":     {[]string{"serve", "--sip-ws-url", "https://sip.example/ws"}, nil},
		"bad app key":     {[]string{"serve", "--pusher-app-key", "a/b"}, nil},
		"zero timeout":    {[]string{"serve", "--ring-timeout", "0s"}, nil},
		"no workers":      {[]string{"serve", "--push-concurrency", "0"}, nil},
		"negative limit":  {[]string{"serve", "--sessions-limit", "-1"}, nil},
		"no languages":    {[]string{"serve", "--languages", " , "}, nil},
	} {
		if _, err := parseConfig(tt.args, tt.env, io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The account side: the session limit and the languages, by flag or env.
	c, err = parseConfig([]string{"serve", "--languages", "de, en,de"}, map[string]string{"INTERCOMD_SESSIONS_LIMIT": "3"}, io.Discard)
	if err != nil || c.sessionsLimit != 3 || !slices.Equal(c.languages, []string{"de", "en"}) {
		t.Errorf("--sessions-limit by env, --languages: %d %q, %v", c.sessionsLimit, c.languages, err)
	}
	if c, err := parseConfig([]string{"serve"}, nil, io.Discard); err != nil || c.sessionsLimit != 0 ||
		!slices.Equal(c.languages, intercom.DefaultLanguages) {
		t.Errorf("defaults: limit %d, languages %q, %v", c.sessionsLimit, c.languages, err)
	}
	for _, db := range []string{"postgres://u:p@db.example/intercomd", "postgresql:///intercomd?host=/run/postgresql"} {
		args := []string{"serve", "--db", db}
		if c, err := parseConfig(args, withSecretKey(t, nil, args), io.Discard); err != nil || c.db != db || !c.secretBox.Sealed() {
			t.Errorf("--db %s: %+v, %v", db, c.db, err)
		}
	}
	if got := dbForLog("postgres://u:secret@db.example/intercomd"); strings.Contains(got, "secret") {
		t.Errorf("dbForLog shows the password: %s", got)
	}
}

// A push provider that is half configured stops the start with a clear error.
func TestRunRefusesBadPushConfig(t *testing.T) {
	for _, args := range [][]string{
		{"--apns-key-file", filepath.Join(t.TempDir(), "missing.p8"), "--apns-key-id", "K", "--apns-team-id", "T", "--apns-topic", "a.b"},
		{"--apns-key-file", filepath.Join(t.TempDir(), "x.p8")},
		{"--fcm-credentials", filepath.Join(t.TempDir(), "missing.json")},
		{"--hms-app-id", "123"},
	} {
		args = append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db")}, args...)
		err := run(t.Context(), args, nil, io.Discard, io.Discard)
		if err == nil || !(strings.Contains(err.Error(), "apns") || strings.Contains(err.Error(), "fcm") || strings.Contains(err.Error(), "hms")) {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// --turn-url takes comma-separated TURN and STUN URLs as browsers take
// them, from the flag or INTERCOMD_TURN_URL; anything else stops the start.
func TestTURNFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want []string // nil: refused
	}{
		{"none", nil, nil, []string{}},
		{"flags", []string{"--turn-url", "turn:turn.example.com:3478?transport=udp, turns:turn.example.com:5349?transport=tcp", "--turn-secret", "s"}, nil,
			[]string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"}},
		{"environment", nil, map[string]string{"INTERCOMD_TURN_URL": "stun:203.0.113.5,turn:[2001:db8::1]:3478", "INTERCOMD_TURN_SECRET": "s"},
			[]string{"stun:203.0.113.5", "turn:[2001:db8::1]:3478"}},
		{"stun alone needs no secret", []string{"--turn-url", "stun:stun.example.com:3478,stuns:stun.example.com"}, nil,
			[]string{"stun:stun.example.com:3478", "stuns:stun.example.com"}},
		{"flag wins", []string{"--turn-url", "turn:a.example.com"}, map[string]string{"INTERCOMD_TURN_URL": "turn:b.example.com", "INTERCOMD_TURN_SECRET": "s"},
			[]string{"turn:a.example.com"}},
		{"scheme", []string{"--turn-url", "turn://turn.example.com:3478"}, map[string]string{"INTERCOMD_TURN_SECRET": "s"}, nil},
		{"not a url", []string{"--turn-url", "turn.example.com:3478"}, map[string]string{"INTERCOMD_TURN_SECRET": "s"}, nil},
		{"empty entry", []string{"--turn-url", "turn:turn.example.com,"}, map[string]string{"INTERCOMD_TURN_SECRET": "s"}, nil},
		{"port", []string{"--turn-url", "turn:turn.example.com:99999"}, map[string]string{"INTERCOMD_TURN_SECRET": "s"}, nil},
		{"transport", []string{"--turn-url", "turn:turn.example.com?transport=sctp"}, map[string]string{"INTERCOMD_TURN_SECRET": "s"}, nil},
		{"stun transport", []string{"--turn-url", "stun:stun.example.com?transport=udp"}, nil, nil},
		{"user in url", []string{"--turn-url", "turn:user@turn.example.com"}, map[string]string{"INTERCOMD_TURN_SECRET": "s"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(append([]string{"serve"}, tt.args...), tt.env, io.Discard)
			switch {
			case tt.want == nil && err == nil:
				t.Fatalf("accepted: %q", c.iceURLs)
			case tt.want == nil:
				if !strings.Contains(err.Error(), `--turn-url "`) || !strings.Contains(err.Error(), "want turn:") {
					t.Errorf("error %q does not name the URL and say what it wants", err)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if diff := cmp.Diff(tt.want, c.iceURLs, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("ice URLs (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestControlAllowLoopbackFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want bool
	}{
		{nil, "", false},
		{[]string{"--control-allow-loopback"}, "", true},
		{nil, "true", true},
		{[]string{"--control-allow-loopback=false"}, "true", false},
	} {
		c, err := parseConfig(append([]string{"serve"}, tc.args...), map[string]string{"INTERCOMD_CONTROL_ALLOW_LOOPBACK": tc.env}, io.Discard)
		if err != nil || c.controlLoop != tc.want {
			t.Errorf("args %v, env %q: controlLoop %v (%v), want %v", tc.args, tc.env, c.controlLoop, err, tc.want)
		}
	}
}

// TestWebFlag: the web app is served at / by default, with a policy that
// lets it reach the SIP server's WebSocket; --web=false turns it off.
func TestWebFlag(t *testing.T) {
	env := map[string]string{"INTERCOMD_SIP_WS_URL": "wss://sip.example.com:7443/sip"}
	on := runNode(t, t, "web", env, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "on.db"))
	code, h := on.doHeader(t, "GET", "/", nil, "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "connect-src 'self' wss://sip.example.com:7443;") {
		t.Errorf("GET / by default: %d %q, policy %q", code, h.Get("Content-Type"), h.Get("Content-Security-Policy"))
	}
	off := runNode(t, t, "no-web", env, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "off.db"), "--web=false")
	if code, _ := off.doHeader(t, "GET", "/web/main.js", nil, ""); code != 404 {
		t.Errorf("GET /web/main.js with --web=false: %d, want 404", code)
	}
}
