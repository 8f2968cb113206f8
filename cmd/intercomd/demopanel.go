package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"intercom"
	"intercom/control"
)

// demoPanel is the demo intercom's side of its control URL: a listener on
// loopback that checks each POST's signature as a real panel must (with the
// key it derives from its secret) and prints what it was told — the door
// opening above all — so that the demo shows the whole way of a command.
type demoPanel struct {
	url   string
	close func()
}

// startDemoPanel listens on a free loopback port until ctx ends.
func startDemoPanel(ctx context.Context, out io.Writer) (*demoPanel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	key := intercom.HashToken(demoSecret)
	var mu sync.Mutex // one line at a time on out
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		ts := r.Header.Get("X-Intercomd-Timestamp")
		sent, _ := strconv.ParseInt(ts, 10, 64)
		if err != nil || !hmac.Equal([]byte(r.Header.Get("X-Intercomd-Signature")), []byte(control.Sign(key, ts, body))) ||
			time.Since(time.Unix(sent, 0)).Abs() > time.Minute {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var fields map[string]any
		json.Unmarshal(body, &fields)
		mu.Lock()
		defer mu.Unlock()
		switch event := r.Header.Get("X-Intercomd-Event"); event {
		case intercom.ControlDoorOpen:
			fmt.Fprintf(out, "demo panel: signature checked; the door opens for %v s (user %v, device %v)\n",
				fields["duration"], fields["user_id"], fields["device"])
		default: // a call's events: call.answered, call.missed, call.ended
			fmt.Fprintf(out, "demo panel: signature checked; %s (call %v)\n", event, fields["call_id"])
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	return &demoPanel{url: "http://" + ln.Addr().String() + "/control", close: func() { stop(); srv.Close() }}, nil
}

// watchDemoRenames listens as the demo tablet, as `intercomd listen` does,
// and prints each new title of the demo intercom its account hears of
// (intercom.rename, sent to the account's other devices when the phone
// renames it), until ctx ends.
func watchDemoRenames(ctx context.Context, publicURL, tabletToken string, out io.Writer) {
	r, w := io.Pipe()
	go func() {
		err := listen(ctx, []string{"--url", publicURL, "--uuid", demoTablet, "--token", tabletToken}, nil, w, io.Discard)
		w.CloseWithError(err)
	}()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		// "<time> <channel> <type> <payload>", as listen prints events.
		f := strings.SplitN(sc.Text(), " ", 4)
		if len(f) != 4 || f[2] != "intercom.rename" {
			continue
		}
		var ev struct {
			Intercom struct {
				ID    int64  `json:"id"`
				Title string `json:"title"`
			} `json:"intercom"`
		}
		if json.Unmarshal([]byte(f[3]), &ev) == nil && ev.Intercom.ID == demoIntercom {
			fmt.Fprintf(out, "demo: intercom %d is now called %q (intercom.rename, as the tablet heard it)\n", ev.Intercom.ID, ev.Intercom.Title)
		}
	}
}
