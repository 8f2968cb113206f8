// Package fcm rings Android devices through Firebase Cloud Messaging's HTTP
// v1 API: high-priority data messages, authorized by a service account's
// OAuth 2 tokens (golang.org/x/oauth2/google).
package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"intercom"
	"intercom/push"
)

var _ intercom.PushProvider = (*Provider)(nil)

const scope = "https://www.googleapis.com/auth/firebase.messaging"

// MaxData is the most a data message may carry (FCM's limit on its keys and
// values together).
const MaxData = 4096

// Config says how to reach FCM.
type Config struct {
	CredentialsFile string       // the service account's JSON key
	Endpoint        string       // default https://fcm.googleapis.com
	HTTPClient      *http.Client // for the token exchange and the sends; tests trust their fake here
}

// Provider sends data messages.
type Provider struct {
	tokens oauth2.TokenSource
	url    string
	client *http.Client
}

// New reads the service account and returns a Provider. No token is asked
// for until the first Send.
func New(c Config) (*Provider, error) {
	b, err := os.ReadFile(c.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("fcm: reading the service account: %w", err)
	}
	hc := c.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64 // sends run concurrently: keep their connections
		hc = &http.Client{Transport: t, Timeout: 15 * time.Second}
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	creds, err := google.CredentialsFromJSONWithType(ctx, b, google.ServiceAccount, scope)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	if creds.ProjectID == "" {
		return nil, errors.New("fcm: the service account names no project_id")
	}
	endpoint := strings.TrimRight(c.Endpoint, "/")
	if endpoint == "" {
		endpoint = "https://fcm.googleapis.com"
	}
	return &Provider{tokens: creds.TokenSource, client: hc,
		url: endpoint + "/v1/projects/" + creds.ProjectID + "/messages:send"}, nil
}

// Channel is intercom.ChannelFCM.
func (p *Provider) Channel() string { return intercom.ChannelFCM }

// Send makes one attempt: a high-priority data message living as long as
// the ring, collapsed by m.CollapseID when set. Its data is what the Android
// SDK reads: "type", "data" (m.Data as JSON) and, when m.Alert is set,
// "notification" ({"title","body"} as JSON) for the app to show itself;
// there is no FCM notification block. A message whose data is over MaxData
// fails at once, with no request and no retry.
func (p *Provider) Send(ctx context.Context, m intercom.PushMessage) intercom.PushResult {
	data, err := dataOf(m)
	if err != nil {
		return intercom.PushResult{Outcome: intercom.SendFailed, Reason: err.Error()}
	}
	android := map[string]any{"priority": "HIGH", "ttl": push.TTL(m)}
	if m.CollapseID != "" {
		android["collapse_key"] = m.CollapseID
	}
	body, _ := json.Marshal(map[string]any{"message": map[string]any{
		"token":   m.Token,
		"data":    data,
		"android": android,
	}})
	res, raw, failed := push.PostJSON(ctx, p.client, p.tokens, p.url, body)
	if failed != nil {
		return *failed
	}
	return result(res, raw)
}

// dataOf returns the data of m's message, or an error when it cannot be
// encoded or is over MaxData, counted as FCM counts: every key and value.
func dataOf(m intercom.PushMessage) (map[string]string, error) {
	inner, err := json.Marshal(m.Data)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	data := map[string]string{"type": m.Type, "data": string(inner)}
	if m.Reason != "" {
		data["reason"] = m.Reason
	}
	if m.Alert != nil {
		n, _ := json.Marshal(m.Alert)
		data["notification"] = string(n)
	}
	if n := size(data); n > MaxData {
		return nil, fmt.Errorf("fcm: data of %d bytes, over %d", n, MaxData)
	}
	return data, nil
}

// size is what FCM counts against MaxData: the bytes of every key and value.
func size(data map[string]string) int {
	n := 0
	for k, v := range data {
		n += len(k) + len(v)
	}
	return n
}

// fcmError is FCM v1's error body.
type fcmError struct {
	Error struct {
		Status  string `json:"status"`
		Message string `json:"message"`
		Details []struct {
			ErrorCode string `json:"errorCode"`
		} `json:"details"`
	} `json:"error"`
}

func result(res *http.Response, raw []byte) intercom.PushResult {
	r := intercom.PushResult{Status: res.StatusCode}
	if res.StatusCode == http.StatusOK {
		var sent struct {
			Name string `json:"name"` // projects/{project}/messages/{id}
		}
		json.Unmarshal(raw, &sent)
		r.Outcome, r.ID = intercom.SendSent, sent.Name
		return r
	}
	var e fcmError
	json.Unmarshal(raw, &e)
	code := e.Error.Status
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			code = d.ErrorCode
		}
	}
	r.Reason = strings.TrimSpace(code + " " + e.Error.Message)
	if r.Reason == "" {
		r.Reason = http.StatusText(res.StatusCode)
	}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs > 0 {
		r.RetryAfter = time.Duration(secs) * time.Second
	}
	switch {
	case code == "UNREGISTERED":
		r.Outcome = intercom.SendDeadToken
	case res.StatusCode == http.StatusUnauthorized, res.StatusCode == http.StatusForbidden,
		code == "THIRD_PARTY_AUTH_ERROR", code == "SENDER_ID_MISMATCH":
		r.Outcome = intercom.SendCredentials
	case res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		r.Outcome, r.Retry = intercom.SendFailed, true
	default:
		r.Outcome = intercom.SendFailed
	}
	return r
}
