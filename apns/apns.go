// Package apns reaches iOS devices through Apple's push service over HTTP/2
// with token (.p8 JWT) authentication, on github.com/sideshow/apns2: VoIP
// pushes (PushKit) that ring, and alert pushes that tell of a missed call.
package apns

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"

	"intercom"
)

var _ intercom.PushProvider = (*Provider)(nil)

// Payload limits (APNs answers 413 PayloadTooLarge above them).
const (
	MaxVoIPPayload  = 5120
	MaxAlertPayload = 4096
)

// ThreadID groups the alert pushes of intercom calls in Notification Center.
const ThreadID = "intercom-calls"

// Config says how to reach APNs. The VoIP and the alert provider take the
// same one.
type Config struct {
	KeyFile  string // the .p8 signing key from the Apple developer account
	KeyID    string
	TeamID   string
	Topic    string      // the app's bundle id; VoIP pushes go to "<Topic>.voip"
	Endpoint string      // default: APNs production
	TLS      *tls.Config // default: the system's roots; tests trust their fake here
}

// Provider sends one kind of push: VoIP pushes that ring (New) or alert
// pushes that show a notification (NewAlert). Both kinds share the
// connection set-up, the provider token and the reading of APNs' answers;
// they differ in channel, topic, push type and payload.
type Provider struct {
	client *apns2.Client
	kind   kind
	topic  string
}

// kind is what sets a VoIP provider apart from an alert one.
type kind struct {
	channel    string
	pushType   apns2.EPushType
	topic      func(bundle string) string
	maxPayload int
	// payload returns the push's JSON body, or why m may not go this way.
	payload func(m intercom.PushMessage) (map[string]any, string)
}

var voip = kind{
	channel:    intercom.ChannelAPNsVoIP,
	pushType:   apns2.PushTypeVOIP,
	topic:      func(bundle string) string { return bundle + ".voip" },
	maxPayload: MaxVoIPPayload,
	payload: func(m intercom.PushMessage) (map[string]any, string) {
		// iOS kills an app that gets a VoIP push it does not report to
		// CallKit as an incoming call: only a ring may go this way.
		if m.Type != intercom.PushRing {
			return nil, "a VoIP push must be a ring (" + intercom.PushRing + "), not " + strconv.Quote(m.Type)
		}
		return map[string]any{"aps": map[string]any{}, "type": m.Type, "data": m.Data}, ""
	},
}

var alert = kind{
	channel:    intercom.ChannelAPNsAlert,
	pushType:   apns2.PushTypeAlert,
	topic:      func(bundle string) string { return bundle },
	maxPayload: MaxAlertPayload,
	payload: func(m intercom.PushMessage) (map[string]any, string) {
		if m.Alert == nil {
			return nil, "an alert push needs the alert's title and body"
		}
		return map[string]any{
			"aps": map[string]any{
				"alert":     m.Alert,
				"sound":     "default",
				"thread-id": ThreadID,
			},
			"type": m.Type,
			"data": m.Data,
		}, ""
	},
}

// New loads the key and returns a Provider of VoIP pushes
// (intercom.ChannelAPNsVoIP) to "<Topic>.voip". Nothing is sent until Send.
func New(c Config) (*Provider, error) { return newProvider(c, voip) }

// NewAlert loads the key and returns a Provider of alert pushes
// (intercom.ChannelAPNsAlert) to the bundle id, Topic without a ".voip"
// suffix. It never sends a VoIP push. Nothing is sent until Send.
func NewAlert(c Config) (*Provider, error) { return newProvider(c, alert) }

func newProvider(c Config, k kind) (*Provider, error) {
	if c.KeyFile == "" || c.KeyID == "" || c.TeamID == "" || c.Topic == "" {
		return nil, errors.New("apns: the key file, key id, team id and topic are all needed")
	}
	key, err := token.AuthKeyFromFile(c.KeyFile)
	if err != nil {
		return nil, errors.New("apns: reading the .p8 key: " + err.Error())
	}
	client := apns2.NewTokenClient(&token.Token{AuthKey: key, KeyID: c.KeyID, TeamID: c.TeamID}).Production()
	if c.Endpoint != "" {
		client.Host = strings.TrimRight(c.Endpoint, "/")
	}
	// HTTP/2 only, as APNs requires; pings keep the long-lived connection honest.
	client.HTTPClient = &http.Client{Transport: &http.Transport{
		TLSClientConfig:   c.TLS,
		ForceAttemptHTTP2: true,
		Protocols:         protocols(),
		HTTP2:             &http.HTTP2Config{SendPingTimeout: apns2.ReadIdleTimeout},
	}}
	return &Provider{client: client, kind: k, topic: k.topic(strings.TrimSuffix(c.Topic, ".voip"))}, nil
}

// Channel is intercom.ChannelAPNsVoIP for New's providers and
// intercom.ChannelAPNsAlert for NewAlert's.
func (p *Provider) Channel() string { return p.kind.channel }

// Send makes one attempt: a push of priority 10 that expires at m.Expires,
// collapsed by m.CollapseID and identified by m.ID when they are set. A
// message this provider may not carry (a VoIP push that is not a ring, an
// alert push without an alert, a payload over the limit) fails at once,
// with no request and no retry.
func (p *Provider) Send(ctx context.Context, m intercom.PushMessage) intercom.PushResult {
	payload, why := p.kind.payload(m)
	if why != "" {
		return intercom.PushResult{Outcome: intercom.SendFailed, Reason: "apns: " + why}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return intercom.PushResult{Outcome: intercom.SendFailed, Reason: "apns: " + err.Error()}
	}
	if len(body) > p.kind.maxPayload {
		return intercom.PushResult{Outcome: intercom.SendFailed,
			Reason: "apns: payload of " + strconv.Itoa(len(body)) + " bytes, over " + strconv.Itoa(p.kind.maxPayload)}
	}
	res, err := p.client.PushWithContext(ctx, &apns2.Notification{
		ApnsID:      m.ID,
		CollapseID:  m.CollapseID,
		DeviceToken: m.Token,
		Topic:       p.topic,
		PushType:    p.kind.pushType,
		Priority:    apns2.PriorityHigh,
		Expiration:  m.Expires,
		Payload:     body,
	})
	if err != nil {
		return intercom.PushResult{Outcome: intercom.SendFailed, Reason: err.Error(), Retry: true}
	}
	return result(res)
}

// result reads APNs' answer. apns2 keeps no response header but apns-id,
// so a Retry-After (which APNs does not document) cannot be honoured: a 429
// is retried on the dispatcher's own backoff.
func result(res *apns2.Response) intercom.PushResult {
	r := intercom.PushResult{Status: res.StatusCode, Reason: res.Reason, ID: res.ApnsID}
	switch {
	case res.StatusCode == http.StatusOK:
		r.Outcome = intercom.SendSent
	case res.StatusCode == http.StatusGone, res.Reason == apns2.ReasonBadDeviceToken, res.Reason == apns2.ReasonUnregistered:
		r.Outcome = intercom.SendDeadToken // a wrong topic (DeviceTokenNotForTopic) is our mistake: the token stays
	case res.StatusCode == http.StatusForbidden:
		r.Outcome = intercom.SendCredentials // InvalidProviderToken, ExpiredProviderToken, MissingProviderToken…
	case res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		r.Outcome, r.Retry = intercom.SendFailed, true
	default:
		r.Outcome = intercom.SendFailed
	}
	return r
}

func protocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP2(true)
	return &p
}
