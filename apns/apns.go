// Package apns rings iOS devices through Apple's push service: VoIP pushes
// (PushKit) over HTTP/2 with token (.p8 JWT) authentication, on
// github.com/sideshow/apns2.
package apns

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"

	"intercom"
)

var _ intercom.PushProvider = (*Provider)(nil)

// Config says how to reach APNs.
type Config struct {
	KeyFile  string // the .p8 signing key from the Apple developer account
	KeyID    string
	TeamID   string
	Topic    string      // the app's bundle id; VoIP pushes go to "<Topic>.voip"
	Endpoint string      // default: APNs production
	TLS      *tls.Config // default: the system's roots; tests trust their fake here
}

// Provider sends VoIP pushes.
type Provider struct {
	client *apns2.Client
	topic  string
}

// New loads the key and returns a Provider. Nothing is sent until Send.
func New(c Config) (*Provider, error) {
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
	return &Provider{client: client, topic: strings.TrimSuffix(c.Topic, ".voip") + ".voip"}, nil
}

// Channel is intercom.ChannelAPNsVoIP.
func (p *Provider) Channel() string { return intercom.ChannelAPNsVoIP }

// Send makes one attempt: a VoIP push of priority 10 that expires with the ring.
func (p *Provider) Send(ctx context.Context, m intercom.PushMessage) intercom.PushResult {
	res, err := p.client.PushWithContext(ctx, &apns2.Notification{
		DeviceToken: m.Token,
		Topic:       p.topic,
		PushType:    apns2.PushTypeVOIP,
		Priority:    apns2.PriorityHigh,
		Expiration:  m.Expires,
		Payload:     map[string]any{"aps": map[string]any{}, "type": m.Type, "data": m.Data},
	})
	if err != nil {
		return intercom.PushResult{Outcome: intercom.SendFailed, Reason: err.Error(), Retry: true}
	}
	r := intercom.PushResult{Status: res.StatusCode, Reason: res.Reason}
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
