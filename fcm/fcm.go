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

// MaxData is the most a data message may carry (FCM's limit).
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

// Send makes one attempt: a high-priority data message {type, data} whose
// data is the JSON the Android SDK reads, living as long as the ring.
func (p *Provider) Send(ctx context.Context, m intercom.PushMessage) intercom.PushResult {
	data, err := json.Marshal(m.Data)
	if err != nil {
		return intercom.PushResult{Outcome: intercom.SendFailed, Reason: err.Error()}
	}
	if len(data)+len(m.Type) > MaxData {
		return intercom.PushResult{Outcome: intercom.SendFailed, Reason: "data message over 4096 bytes"}
	}
	ttl := max(1, int(m.TTL.Round(time.Second)/time.Second))
	body, _ := json.Marshal(map[string]any{"message": map[string]any{
		"token":   m.Token,
		"data":    map[string]string{"type": m.Type, "data": string(data)},
		"android": map[string]any{"priority": "HIGH", "ttl": strconv.Itoa(ttl) + "s"},
	}})
	res, raw, failed := push.PostJSON(ctx, p.client, p.tokens, p.url, body)
	if failed != nil {
		return *failed
	}
	return result(res, raw)
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
		r.Outcome = intercom.SendSent
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
