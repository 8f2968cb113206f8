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
// event it gets until ctx ends.
func listen(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intercomd listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "intercomd's URL")
	token := fs.String("token", getenv("INTERCOMD_TOKEN"), "the device's access token (or INTERCOMD_TOKEN)")
	uuid := fs.String("uuid", "", "the device's X-UUID")
	client := fs.String("client", "ios-cctv", "X-Client")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" || *uuid == "" {
		return errors.New("listen needs --token and --uuid")
	}
	api := func(method, path string, body url.Values, out any) error {
		var r io.Reader
		if body != nil {
			r = strings.NewReader(body.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*base, "/")+path, r)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		req.Header.Set("X-Client", *client)
		req.Header.Set("X-UUID", *uuid)
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
			return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return json.Unmarshal(b, out)
	}
	var self struct {
		ID            int64  `json:"id"`
		AccessTokenID string `json:"access_token_id"`
	}
	if err := api("GET", "/api/v1/users/self", nil, &self); err != nil {
		return err
	}
	var ws struct {
		WSURL  string `json:"ws_url"`
		AppKey string `json:"app_key"`
	}
	if err := api("GET", "/api/v1/wsurl", nil, &ws); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := pusherclient.Dial(dctx, ws.WSURL+"/app/"+ws.AppKey+"?protocol=7&client=intercomd-listen")
	if err != nil {
		return err
	}
	defer c.Close()
	for _, ch := range []string{"private-token." + self.AccessTokenID, "private-user." + strconv.FormatInt(self.ID, 10)} {
		var auth struct {
			Auth string `json:"auth"`
		}
		if err := api("POST", "/api/v1/broadcasting/auth", url.Values{"socket_id": {c.SocketID}, "channel_name": {ch}}, &auth); err != nil {
			return err
		}
		if err := c.Subscribe(dctx, ch, auth.Auth); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "listening as %s (account %d, socket %s); Ctrl-C to stop\n", *uuid, self.ID, c.SocketID)
	go func() { <-ctx.Done(); c.Close() }()
	for {
		m, err := c.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var payload struct {
			Type string `json:"type"`
		}
		json.Unmarshal([]byte(m.Data), &payload)
		fmt.Fprintf(stdout, "%s %s %s %s\n", time.Now().Format("15:04:05.000"), m.Channel, payload.Type, m.Data)
	}
}
