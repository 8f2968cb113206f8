package intercom

import (
	"context"
	"time"
)

// Push channels: how a device whose app is not connected is rung.
const (
	ChannelAPNsVoIP = "apns-voip" // iOS with a voip_token: PushKit over APNs
	ChannelFCM      = "fcm"       // Android with an fcm_token: FCM HTTP v1
	ChannelHMS      = "hms"       // Android with a huawei_token: Huawei Push Kit
)

// Outcomes of a push send.
const (
	SendSent        = "sent"             // the provider accepted it
	SendDeadToken   = "dead_token"       // the provider says the token is gone: it is cleared
	SendCredentials = "credential_error" // our credentials were refused: nothing is cleared
	SendFailed      = "failed"           // refused for another reason, or retries ran out
	SendTimedOut    = "timed_out"        // the ring timeout came first
)

// PushMessage is one ring to one device through one provider.
type PushMessage struct {
	CallID   int64
	DeviceID int64
	Token    string
	Type     string         // "intercom_ring"
	Data     map[string]any // what the app reads: the intercom_ring data; shared by sends, never changed
	Expires  time.Time      // the ring timeout: a later delivery is useless
	TTL      time.Duration  // what is left of it at this attempt
}

// PushResult is what a provider said to one attempt.
type PushResult struct {
	Outcome    string        // one of the Send* outcomes
	Status     int           // the provider's HTTP status, 0 when none came
	Reason     string        // the provider's reason, or the error
	Retry      bool          // worth another attempt
	RetryAfter time.Duration // what the provider asked to wait, if it did
}

// PushProvider sends to one push service.
type PushProvider interface {
	// Channel is the channel it serves (ChannelAPNsVoIP, ChannelFCM).
	Channel() string
	// Send makes one attempt, within ctx.
	Send(ctx context.Context, m PushMessage) PushResult
}

// CallSend is the record of one push to one device for one call.
type CallSend struct {
	CallID   int64
	DeviceID int64
	Channel  string
	Attempts int
	Outcome  string
	Status   int
	Reason   string
	At       time.Time
}
