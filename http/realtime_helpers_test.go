package http_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"intercom/pusher/pusherclient"
)

// listen starts a real HTTP server for the fixture, once, for WebSockets.
func (f *fixture) listen() *httptest.Server {
	if f.http == nil {
		f.http = httptest.NewServer(f.srv)
		f.t.Cleanup(f.http.Close)
	}
	return f.http
}

// sock is a device's Pusher socket, subscribed to its token and user channels.
type sock struct {
	t *testing.T
	c *pusherclient.Client
}

func (f *fixture) socket(t *testing.T, d device) *sock {
	t.Helper()
	srv := f.listen()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, err := pusherclient.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/app/test-key?protocol=7&client=go")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for _, ch := range []string{"private-token." + d.tokenID, "private-user." + itoa(d.userID)} {
		res := f.auth(d, c.SocketID, ch)
		if res.Code != 200 {
			t.Fatalf("broadcasting/auth %s: %d %s", ch, res.Code, res.Body)
		}
		if err := c.Subscribe(ctx, ch, res.JSON(t)["auth"].(string)); err != nil {
			t.Fatal(err)
		}
	}
	return &sock{t: t, c: c}
}

func (f *fixture) auth(d device, socketID, channel string) *response {
	f.t.Helper()
	h := d.headers()
	h["Content-Type"] = "application/x-www-form-urlencoded"
	return f.do(request{method: "POST", path: "/api/v1/broadcasting/auth", headers: h,
		body: url.Values{"socket_id": {socketID}, "channel_name": {channel}}.Encode()})
}

// drain reads and drops everything the socket gets from now on, as an app
// does: a socket nobody reads is dropped as a slow consumer.
func (s *sock) drain() {
	go func() {
		for {
			if _, _, err := s.c.Conn.Read(context.Background()); err != nil {
				return
			}
		}
	}()
}

// event is a notification as a device receives it.
type event map[string]any

func (e event) data() map[string]any { d, _ := e["data"].(map[string]any); return d }

// expect reads until a notification of type typ arrives.
func (s *sock) expect(typ string) event {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), 5*time.Second)
	defer cancel()
	for {
		m, err := s.c.Next(ctx)
		if err != nil {
			s.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if m.Event != `Illuminate\Notifications\Events\BroadcastNotificationCreated` {
			continue
		}
		var e event
		if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
			s.t.Fatalf("payload %s: %v", m.Data, err)
		}
		if e["type"] == typ {
			return e
		}
	}
}

// none checks that no notification of type typ was sent before now: it
// pings and reads up to the pong.
func (s *sock) none(typ string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), 5*time.Second)
	defer cancel()
	if err := s.c.Send(ctx, "pusher:ping", map[string]any{}); err != nil {
		s.t.Fatal(err)
	}
	for {
		m, err := s.c.Next(ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		if m.Event == "pusher:pong" {
			return
		}
		if strings.Contains(m.Data, `"type":"`+typ+`"`) {
			s.t.Fatalf("got %s: %s", typ, m.Data)
		}
	}
}

// provision makes an intercom through the admin API and returns its id and
// secret.
func (f *fixture) provision(body string) (int64, string) {
	f.t.Helper()
	v := f.want(f.admin("POST", "/api/admin/v1/intercoms", body), 201).JSON(f.t)
	return int64(v["id"].(float64)), v["secret"].(string)
}

func (f *fixture) hw(secret, method, path, body string) *response {
	f.t.Helper()
	return f.do(request{method: method, path: path, body: body, headers: map[string]string{"Authorization": "Bearer " + secret}})
}

func (f *fixture) memberOf(intercomID, userID int64, flat, status string) {
	f.t.Helper()
	f.want(f.admin("PUT", "/api/admin/v1/intercoms/"+itoa(intercomID)+"/members/"+itoa(userID),
		`{"title":"Door of `+itoa(userID)+`","status":"`+status+`","flat":`+flat+`}`), 200)
}
