// Package hms rings Huawei phones (no Google services) through Huawei Push
// Kit: data messages of high urgency, authorized by OAuth 2 client
// credentials (golang.org/x/oauth2/clientcredentials).
package hms

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"intercom"
	"intercom/push"
)

var _ intercom.PushProvider = (*Provider)(nil)

// Config says how to reach Push Kit.
type Config struct {
	AppID     string // the app's id in AppGallery Connect (the OAuth client id)
	AppSecret string
	TokenURL  string       // default https://oauth-login.cloud.huawei.com/oauth2/v3/token
	Endpoint  string       // default https://push-api.cloud.huawei.com
	HTTP      *http.Client // tests trust their fake here
}

// Provider sends data messages.
type Provider struct {
	tokens oauth2.TokenSource
	url    string
	client *http.Client
}

// New returns a Provider; no token is asked for until the first Send.
func New(c Config) (*Provider, error) {
	if c.AppID == "" || c.AppSecret == "" {
		return nil, errors.New("hms: the app id and app secret are both needed")
	}
	if c.TokenURL == "" {
		c.TokenURL = "https://oauth-login.cloud.huawei.com/oauth2/v3/token"
	}
	if c.Endpoint == "" {
		c.Endpoint = "https://push-api.cloud.huawei.com"
	}
	if c.HTTP == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		c.HTTP = &http.Client{Transport: t, Timeout: 15 * time.Second}
	}
	cc := clientcredentials.Config{ClientID: c.AppID, ClientSecret: c.AppSecret, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInParams}
	return &Provider{tokens: cc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, c.HTTP)),
		url: strings.TrimRight(c.Endpoint, "/") + "/v1/" + c.AppID + "/messages:send", client: c.HTTP}, nil
}

// Channel is intercom.ChannelHMS.
func (p *Provider) Channel() string { return intercom.ChannelHMS }

// Push Kit result codes.
const (
	codeSuccess       = "80000000"
	codeInvalidTokens = "80300007" // every token in the message is invalid
	codeAuthFailed    = "80200001"
	codeAuthExpired   = "80200003"
)

// MaxMessage is the most a message may weigh, its tokens left out (Push
// Kit's limit).
const MaxMessage = 4096

// Send makes one attempt: a high-urgency data message living as long as the
// ring. Its data is the JSON the Android SDK reads: "type", "data" (m.Data)
// and, when m.Alert is set, "notification" ({"title","body"} as a JSON
// string, as over FCM) for the app to show itself. m.CollapseID is not
// used: Push Kit's collapse_key is a number from -1 to 100, not an id, and
// a call's id folded into it would collapse unrelated calls. A message over
// MaxMessage fails at once, with no request and no retry.
func (p *Provider) Send(ctx context.Context, m intercom.PushMessage) intercom.PushResult {
	payload := map[string]any{"type": m.Type, "data": m.Data}
	if m.Reason != "" {
		payload["reason"] = m.Reason
	}
	if m.Alert != nil {
		n, _ := json.Marshal(m.Alert)
		payload["notification"] = string(n)
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return intercom.PushResult{Outcome: intercom.SendFailed, Reason: "hms: " + err.Error()}
	}
	message := map[string]any{
		"data":    string(data),
		"android": map[string]any{"urgency": "HIGH", "ttl": push.TTL(m)},
	}
	if b, _ := json.Marshal(message); len(b) > MaxMessage {
		return intercom.PushResult{Outcome: intercom.SendFailed,
			Reason: "hms: message of " + strconv.Itoa(len(b)) + " bytes, over " + strconv.Itoa(MaxMessage)}
	}
	message["token"] = []string{m.Token}
	body, _ := json.Marshal(map[string]any{"validate_only": false, "message": message})
	res, raw, failed := push.PostJSON(ctx, p.client, p.tokens, p.url, body)
	if failed != nil {
		return *failed
	}
	var out struct {
		Code      string `json:"code"`
		Msg       string `json:"msg"`
		RequestID string `json:"requestId"`
	}
	json.Unmarshal(raw, &out)
	r := intercom.PushResult{Status: res.StatusCode, Reason: strings.TrimSpace(out.Code + " " + out.Msg), ID: out.RequestID}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs > 0 {
		r.RetryAfter = time.Duration(secs) * time.Second
	}
	switch {
	case res.StatusCode == http.StatusOK && out.Code == codeSuccess:
		r.Outcome, r.Reason = intercom.SendSent, ""
	case out.Code == codeInvalidTokens:
		r.Outcome = intercom.SendDeadToken
	case res.StatusCode == http.StatusUnauthorized, out.Code == codeAuthFailed, out.Code == codeAuthExpired:
		r.Outcome = intercom.SendCredentials
	case res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		r.Outcome, r.Retry = intercom.SendFailed, true
	default:
		r.Outcome = intercom.SendFailed
	}
	if r.Reason == "" && r.Outcome != intercom.SendSent {
		r.Reason = http.StatusText(res.StatusCode)
	}
	return r
}
