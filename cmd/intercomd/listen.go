package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"intercom/pusher/pusherclient"
)

// listen is `intercomd listen`: it connects to a running intercomd as one
// device, the way an app does (users/self, wsurl, broadcasting/auth, a Pusher
// socket on its private-token and private-user channels), and prints every
// event it gets until ctx ends. Like pusher-js, it pings the server after
// the activity timeout of silence, and reconnects (with backoff, subscribing
// again) when no pong comes or the connection drops.
func listen(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intercomd listen", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // its errors are returned, and printed once
	l := newListener(stdout, stderr)
	fs.StringVar(&l.base, "url", "http://127.0.0.1:8080", "intercomd's URL")
	fs.StringVar(&l.token, "token", env["INTERCOMD_TOKEN"], "the device's access token (or INTERCOMD_TOKEN)")
	fs.StringVar(&l.uuid, "uuid", "", "the device's X-UUID")
	fs.StringVar(&l.client, "client", "ios-cctv", "X-Client")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	} else if err != nil {
		return fmt.Errorf("%w (intercomd listen --help lists the flags)", err)
	}
	if l.token == "" || l.uuid == "" {
		return errors.New("listen needs --token and --uuid")
	}
	return l.run(ctx)
}

// listener is one device listening for its events.
type listener struct {
	base, token, uuid, client string
	stdout, stderr            io.Writer

	// activityTimeout is the silence after which it pings: the server's
	// announced activity_timeout, at most this (pusher-js: 120 s).
	activityTimeout time.Duration
	pongTimeout     time.Duration // how long a ping may go unanswered (pusher-js: 30 s)
	dialTimeout     time.Duration
	minBackoff      time.Duration // first wait before reconnecting; doubled up to maxBackoff
	maxBackoff      time.Duration
	now             func() time.Time
	after           func(time.Duration) <-chan time.Time
}

func newListener(stdout, stderr io.Writer) *listener {
	return &listener{stdout: stdout, stderr: stderr, activityTimeout: 120 * time.Second, pongTimeout: 30 * time.Second,
		dialTimeout: 10 * time.Second, minBackoff: time.Second, maxBackoff: 30 * time.Second, now: time.Now, after: time.After}
}

// apiError is a refusal of the REST API: listening again would not help.
type apiError struct {
	method, path string
	status       int
	body         []byte
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.body)
}

// closedError is a pusher:error in 4000-4099: the server asks not to reconnect.
type closedError struct{ data string }

func (e *closedError) Error() string { return "the server refused the connection: " + e.data }

func (l *listener) api(ctx context.Context, method, path string, body url.Values, out any) error {
	var r io.Reader
	if body != nil {
		r = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(l.base, "/")+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.token)
	req.Header.Set("X-Client", l.client)
	req.Header.Set("X-UUID", l.uuid)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		e := &apiError{method, path, res.StatusCode, b}
		if res.StatusCode >= 500 {
			return errors.New(e.Error()) // the server's trouble: worth another try
		}
		return e
	}
	return json.Unmarshal(b, out)
}

type account struct {
	ID            int64  `json:"id"`
	AccessTokenID string `json:"access_token_id"`
}

type wsInfo struct {
	WSURL  string `json:"ws_url"`
	AppKey string `json:"app_key"`
}

// run listens until ctx ends (nil) or the server refuses the device.
func (l *listener) run(ctx context.Context) error {
	var self account
	if err := l.api(ctx, "GET", "/api/v1/users/self", nil, &self); err != nil {
		return err
	}
	var ws wsInfo
	if err := l.api(ctx, "GET", "/api/v1/wsurl", nil, &ws); err != nil {
		return err
	}
	backoff, first := l.minBackoff, true
	for {
		subscribed, err := l.session(ctx, self, ws, first)
		if ctx.Err() != nil {
			return nil
		}
		var ae *apiError
		var ce *closedError
		if errors.As(err, &ae) || errors.As(err, &ce) {
			return err
		}
		if subscribed {
			first, backoff = false, l.minBackoff
		}
		fmt.Fprintf(l.stderr, "%s connection lost (%v); reconnecting in %s\n", l.now().Format("15:04:05.000"), err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-l.after(backoff):
		}
		backoff = min(2*backoff, l.maxBackoff)
	}
}

// frame is what the reader goroutine hands over.
type frame struct {
	m   pusherclient.Message
	err error
}

// session is one connection: dial, subscribe, then read and keep alive until
// it fails. It reports whether it got as far as subscribing.
func (l *listener) session(ctx context.Context, self account, ws wsInfo, first bool) (bool, error) {
	dctx, cancel := context.WithTimeout(ctx, l.dialTimeout)
	defer cancel()
	c, err := pusherclient.Dial(dctx, ws.WSURL+"/app/"+ws.AppKey+"?protocol=7&client=intercomd-listen")
	if err != nil {
		return false, err
	}
	defer c.Close()
	for _, ch := range []string{"private-token." + self.AccessTokenID, "private-user." + strconv.FormatInt(self.ID, 10)} {
		var auth struct {
			Auth string `json:"auth"`
		}
		if err := l.api(ctx, "POST", "/api/v1/broadcasting/auth", url.Values{"socket_id": {c.SocketID}, "channel_name": {ch}}, &auth); err != nil {
			return false, err
		}
		if err := c.Subscribe(dctx, ch, auth.Auth); err != nil {
			return false, err
		}
	}
	if first {
		fmt.Fprintf(l.stdout, "listening as %s (account %d, socket %s); Ctrl-C to stop\n", l.uuid, self.ID, c.SocketID)
	} else {
		fmt.Fprintf(l.stderr, "%s reconnected (socket %s)\n", l.now().Format("15:04:05.000"), c.SocketID)
	}
	activity := l.activityTimeout
	if c.ActivityTimeout > 0 {
		activity = min(activity, c.ActivityTimeout)
	}

	frames := make(chan frame)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			m, err := c.Next(context.Background()) // ends when the socket is closed
			select {
			case frames <- frame{m, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	waitingPong := false
	timer := l.after(activity)
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case f := <-frames:
			if f.err != nil {
				return true, f.err
			}
			waitingPong, timer = false, l.after(activity) // anything heard is a sign of life
			switch f.m.Event {
			case "pusher:ping":
				if err := c.Send(ctx, "pusher:pong", map[string]any{}); err != nil {
					return true, err
				}
			case "pusher:pong":
			case "pusher:error":
				var e struct {
					Code int `json:"code"`
				}
				json.Unmarshal([]byte(f.m.Data), &e)
				if e.Code >= 4000 && e.Code < 4100 {
					return true, &closedError{f.m.Data}
				}
				fmt.Fprintf(l.stderr, "pusher:error %s\n", f.m.Data)
			default:
				var payload struct {
					Type string `json:"type"`
				}
				json.Unmarshal([]byte(f.m.Data), &payload)
				fmt.Fprintf(l.stdout, "%s %s %s %s\n", l.now().Format("15:04:05.000"), f.m.Channel, payload.Type, f.m.Data)
			}
		case <-timer:
			if waitingPong {
				return true, fmt.Errorf("no pong within %s", l.pongTimeout)
			}
			if err := c.Send(ctx, "pusher:ping", map[string]any{}); err != nil {
				return true, err
			}
			waitingPong, timer = true, l.after(l.pongTimeout)
		}
	}
}
