// Package pusherclient is a minimal Pusher protocol client for tests, tools and
// load: connect, subscribe with an auth signature, read events.
package pusherclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// Client is one socket.
type Client struct {
	Conn     *websocket.Conn
	SocketID string
	// ActivityTimeout is the silence after which the server expects a
	// pusher:ping, as it announced (zero when it did not).
	ActivityTimeout time.Duration
}

// Message is a frame from the server; Data is the payload with one level of
// JSON-string wrapping removed, as events carry it.
type Message struct {
	Event   string
	Channel string
	Data    string
}

// Dial connects to url (ws://host/ws/app/{key}?protocol=7) and waits for
// pusher:connection_established.
func Dial(ctx context.Context, url string) (*Client, error) {
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	c := &Client{Conn: conn}
	m, err := c.Next(ctx)
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	if m.Event != "pusher:connection_established" {
		conn.CloseNow()
		return nil, fmt.Errorf("pusherclient: first message %q: %s", m.Event, m.Data)
	}
	var est struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(m.Data), &est); err != nil || est.SocketID == "" {
		conn.CloseNow()
		return nil, fmt.Errorf("pusherclient: connection_established %s: %v", m.Data, err)
	}
	c.SocketID, c.ActivityTimeout = est.SocketID, time.Duration(est.ActivityTimeout)*time.Second
	return c, nil
}

// Next reads the next frame.
func (c *Client) Next(ctx context.Context) (Message, error) {
	_, b, err := c.Conn.Read(ctx)
	if err != nil {
		return Message{}, err
	}
	var raw struct {
		Event   string          `json:"event"`
		Channel string          `json:"channel"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Message{}, fmt.Errorf("pusherclient: %s: %w", b, err)
	}
	m := Message{Event: raw.Event, Channel: raw.Channel, Data: string(raw.Data)}
	var s string
	if json.Unmarshal(raw.Data, &s) == nil {
		m.Data = s
	}
	return m, nil
}

// Send writes a frame.
func (c *Client) Send(ctx context.Context, event string, data any) error {
	b, err := json.Marshal(map[string]any{"event": event, "data": data})
	if err != nil {
		return err
	}
	return c.Conn.Write(ctx, websocket.MessageText, b)
}

// Subscribe subscribes to channel with auth and waits for the answer. Events
// that arrive meanwhile are lost.
func (c *Client) Subscribe(ctx context.Context, channel, auth string) error {
	if err := c.Send(ctx, "pusher:subscribe", map[string]string{"channel": channel, "auth": auth}); err != nil {
		return err
	}
	for {
		m, err := c.Next(ctx)
		if err != nil {
			return err
		}
		switch {
		case m.Event == "pusher_internal:subscription_succeeded" && m.Channel == channel:
			return nil
		case m.Event == "pusher:subscription_error" && m.Channel == channel, m.Event == "pusher:error":
			return errors.New("pusherclient: subscribe " + channel + ": " + m.Data)
		}
	}
}

// Close closes the socket.
func (c *Client) Close() { c.Conn.CloseNow() }
