package pusher_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// FuzzClientMessage sends arbitrary text messages on a socket: the server
// answers each with an error, a pong or a subscription result, or closes the
// socket; either way it still serves a ping afterwards, on this socket or a
// new one.
func FuzzClientMessage(f *testing.F) {
	for _, s := range []string{`{"event":"pusher:ping","data":{}}`, `{"event":"pusher:subscribe","data":{"channel":"private-x","auth":"k:s"}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"private-x\"}"}`, `{"event":"pusher:unsubscribe","data":{"channel":"x"}}`,
		`{"event":"client-x","channel":"private-x","data":{}}`, `{}`, `[]`, `null`, `"`, `{"event":1}`, strings.Repeat("{", 1000)} {
		f.Add(s)
	}
	_, srv := newServer(f)
	f.Fuzz(func(t *testing.T, msg string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := connect(t, srv)
		if err := c.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			return
		}
		if err := c.conn.Write(ctx, websocket.MessageText, []byte(`{"event":"pusher:ping"}`)); err != nil {
			c = connect(t, srv) // closed for the message: the server must still take a new socket
			c.write(`{"event":"pusher:ping"}`)
		}
		for {
			_, b, err := c.conn.Read(ctx)
			if err != nil {
				// Closed because of the message (too big): a new socket works.
				d := connect(t, srv)
				d.write(`{"event":"pusher:ping"}`)
				if m := d.read(); m.Event != "pusher:pong" {
					t.Fatalf("after %q: %+v", msg, m)
				}
				return
			}
			if strings.Contains(string(b), `"pusher:pong"`) {
				c.conn.CloseNow()
				return
			}
		}
	})
}
