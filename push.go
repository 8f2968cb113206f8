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
	// ChannelAPNsAlert is no ring channel: iOS with an apn_token gets its
	// missed-call notifications as APNs alert pushes to the app's bundle.
	ChannelAPNsAlert = "apns"
)

// What a push says (PushMessage.Type): the ring, the end of a ring, a
// missed call.
const (
	PushRing   = "intercom_ring"
	PushCancel = "intercom_cancel"
	PushMissed = "call.missed"
)

// Outcomes of a push send.
const (
	SendSent        = "sent"             // the provider accepted it
	SendDeadToken   = "dead_token"       // the provider says the token is gone: it is cleared
	SendCredentials = "credential_error" // our credentials were refused: nothing is cleared
	SendFailed      = "failed"           // refused for another reason, or retries ran out
	SendTimedOut    = "timed_out"        // its useful life ended first
	SendObsolete    = "obsolete"         // a ring whose call stopped ringing before it went out: not sent
)

// PushMessage is one push about one call to one device through one
// provider.
type PushMessage struct {
	CallID   int64
	DeviceID int64
	Token    string
	Type     string         // PushRing, PushCancel or PushMissed
	Data     map[string]any // what the app reads (the socket event's data); shared by sends, never changed
	// Reason is a cancel's reason, beside its data as in the socket event.
	Reason string
	// Alert is what a notification shows (PushMissed), in the device's
	// language: an alert push shows it, a data message carries it for the
	// app to show.
	Alert *PushAlert
	// CollapseID ties the pushes of one call together where the provider
	// allows (apns-collapse-id, FCM's collapse_key): a phone that was away
	// gets only the last.
	CollapseID string
	// ID is the push's own id where the provider takes one (APNs apns-id, a
	// UUID), the same for each attempt; "" lets the provider choose.
	ID      string
	Expires time.Time     // the end of its useful life: a later delivery is useless
	TTL     time.Duration // what is left of it at this attempt
}

// PushAlert is the text of a notification, encoded as the apps read it:
// {"body", "title"} (in that order, as a map of the two was encoded).
type PushAlert struct {
	Body  string `json:"body"`
	Title string `json:"title"`
}

// PushResult is what a provider said to one attempt.
type PushResult struct {
	Outcome    string        // one of the Send* outcomes
	Status     int           // the provider's HTTP status, 0 when none came
	Reason     string        // the provider's reason, or the error
	Retry      bool          // worth another attempt
	RetryAfter time.Duration // what the provider asked to wait, if it did
	// ID is the provider's id of the message, when it gave one: APNs's
	// apns-id, FCM's message name, Push Kit's requestId.
	ID string
}

// PushProvider sends to one push service.
type PushProvider interface {
	// Channel is the channel it serves (ChannelAPNsVoIP, ChannelFCM).
	Channel() string
	// Send makes one attempt, within ctx.
	Send(ctx context.Context, m PushMessage) PushResult
}

// CallSend is the record of one push of one Type to one device for one
// call.
type CallSend struct {
	CallID     int64
	DeviceID   int64
	Channel    string
	Type       string // PushRing, PushCancel or PushMissed
	Attempts   int
	Outcome    string
	Status     int
	Reason     string
	ProviderID string // PushResult.ID of the last attempt
	At         time.Time
}

// PushType is the send's type: a send that names none is a ring's, the
// one push there was before pushes had types.
func (s CallSend) PushType() string {
	if s.Type == "" {
		return PushRing
	}
	return s.Type
}
