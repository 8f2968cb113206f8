// Package control posts intercomd's commands and call events to intercoms'
// control URLs: signed JSON, short timeouts, no redirects followed.
//
// Each POST carries
//
//	X-Intercomd-Event:     door.open | call.answered | call.missed | call.ended
//	X-Intercomd-Timestamp: Unix seconds when it was sent
//	X-Intercomd-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>
//
// where key is SHA-256 of the intercom's secret (intercom.IntercomKeys),
// which the intercom derives from the secret it was given and intercomd
// keeps sealed under --secret-key-file (package secrets), never the secret. An
// intercom should refuse a signature that does not match and a timestamp more
// than a minute away from its clock.
package control

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/google/uuid"

	"intercom"
	"intercom/secrets"
)

var _ intercom.Controller = (*Client)(nil)

// Client posts to control URLs.
type Client struct {
	http          *http.Client
	now           func() time.Time
	timeout       time.Duration
	allowLoopback bool
	resolver      *net.Resolver
	box           *secrets.Box // opens the intercoms' stored control keys
}

// Option configures a Client.
type Option func(*Client)

// AllowLoopback lets control URLs reach loopback addresses, for development
// and tests (--control-allow-loopback); the other rules of
// intercom.ControlAddrProblem stay.
func AllowLoopback() Option { return func(c *Client) { c.allowLoopback = true } }

// Keys opens the intercoms' control keys with box (its --secret-key-file);
// without it only keys stored unsealed open.
func Keys(box *secrets.Box) Option { return func(c *Client) { c.box = box } }

// New returns a Client whose POSTs give up after timeout. It connects only
// to addresses intercom.ControlAddrProblem allows, checked on the address
// each connection actually dials (after DNS), so a name cannot be made to
// resolve around the policy. It uses no proxy: a proxy would dial for it.
func New(timeout time.Duration, now func() time.Time, opts ...Option) *Client {
	c := &Client{now: now, timeout: timeout, resolver: net.DefaultResolver}
	for _, o := range opts {
		o(c)
	}
	if c.box == nil {
		c.box, _ = secrets.NewBox(nil)
	}
	dialer := &net.Dialer{Timeout: timeout, Control: c.checkDial}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.DialContext = dialer.DialContext
	c.http = &http.Client{
		Timeout:   timeout,
		Transport: transport,
		// An intercom that redirects is misconfigured or not an intercom.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// errRefusedAddr is what a dial to an address the policy refuses fails with.
type errRefusedAddr struct{ addr, problem string }

func (e *errRefusedAddr) Error() string {
	return "control URL refused: " + e.addr + " " + e.problem
}

// checkDial runs before each connection, on the resolved address.
func (c *Client) checkDial(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &errRefusedAddr{address, "is not an IP address and port"}
	}
	if p := intercom.ControlAddrProblem(ap.Addr(), c.allowLoopback); p != "" {
		return &errRefusedAddr{ap.Addr().String(), p}
	}
	return nil
}

// CheckURL says why the control URL is refused, or "": its host as given,
// then every address it resolves to now. A name that does not resolve is
// not refused (the intercom may not be installed yet); each send checks the
// address it dials again.
func (c *Client) CheckURL(ctx context.Context, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "is not a URL"
	}
	host := u.Hostname()
	if p := intercom.ControlHostProblem(host, c.allowLoopback); p != "" {
		return host + " " + p
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	addrs, err := c.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if p := intercom.ControlAddrProblem(a, c.allowLoopback); p != "" {
			return host + " resolves to " + a.Unmap().String() + ", which " + p
		}
	}
	return ""
}

// Sign is the signature header's value for a body sent at timestamp.
func Sign(key []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Send posts event to the intercom's control URL.
func (c *Client) Send(ctx context.Context, ic intercom.Intercom, event string, fields map[string]any) intercom.ControlResult {
	if ic.ControlURL == nil || *ic.ControlURL == "" {
		return intercom.ControlResult{Error: "the intercom has no control URL"}
	}
	now := c.now()
	msg := map[string]any{"event": event, "id": uuid.NewString(), "intercom_id": ic.ID, "sent_at": now.UTC().Format(time.RFC3339)}
	for k, v := range fields {
		msg[k] = v
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return intercom.ControlResult{Error: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, "POST", *ic.ControlURL, bytes.NewReader(body))
	if err != nil {
		return intercom.ControlResult{Error: err.Error()}
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "intercomd")
	req.Header.Set("X-Intercomd-Event", event)
	req.Header.Set("X-Intercomd-Timestamp", ts)
	key, err := c.box.Open(secrets.ControlKey, ic.ControlKey)
	if err != nil {
		return intercom.ControlResult{Error: "the intercom's control key " + err.Error()}
	}
	req.Header.Set("X-Intercomd-Signature", Sign(key, ts, body))
	res, err := c.http.Do(req)
	if err != nil {
		var ne interface{ Timeout() bool }
		timedOut := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
		return intercom.ControlResult{Error: err.Error(), TimedOut: timedOut}
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	r := intercom.ControlResult{Status: res.StatusCode, OK: res.StatusCode >= 200 && res.StatusCode < 300}
	switch {
	case res.StatusCode >= 300 && res.StatusCode < 400:
		r.Error = "the control URL redirected (to " + strconv.Quote(res.Header.Get("Location")) + "); redirects are not followed"
	case !r.OK:
		r.Error = "the intercom answered " + res.Status
	}
	return r
}

// Redirects reports whether url answers a HEAD request with a redirect. An
// intercom not installed yet may not answer at all: that is not an error.
func (c *Client) Redirects(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, "HEAD", url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "intercomd")
	res, err := c.http.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode >= 300 && res.StatusCode < 400
}
