// Package wire holds the JSON shapes intercomd speaks to the apps — the
// intercom object, the call, the camera, the notifications that travel over
// Pusher — so that the HTTP handlers and the call lifecycle, which both send
// them, send the same bytes. It knows the API's formats, not its transport.
package wire

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// EventName is the Pusher event every intercom notification travels as: a
// Laravel notification broadcast, whose payload is flat (API.md §3).
const EventName = `Illuminate\Notifications\Events\BroadcastNotificationCreated`

// UserChannel is the private channel of an account's events.
func UserChannel(userID int64) string { return "private-user." + strconv.FormatInt(userID, 10) }

// TokenChannel is the private channel of one session's (one device's) events.
func TokenChannel(publicID string) string { return "private-token." + publicID }

// Notification is a flat payload: type and a fresh uuid, then its fields.
func Notification(typ string, fields map[string]any) []byte {
	fields["type"], fields["id"] = typ, uuid.NewString()
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err) // only our own values are encoded
	}
	return b
}

// SQLTime is the "Y-m-d H:i:s" (UTC) form of camera, call and user times.
func SQLTime(t time.Time) string { return t.UTC().Format(time.DateTime) }

// SQLTimePtr is SQLTime of a time that may be unset.
func SQLTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := SQLTime(*t)
	return &s
}

// LaravelTime is the ISO form of intercom and membership times:
// 2022-04-20T12:34:32.000000Z.
func LaravelTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05.000000Z")
	return &s
}

// TokenEventName is the Pusher event of a session's own events (Aipix's
// App\Events\TokenPush), on its token channel.
const TokenEventName = `App\Events\TokenPush`

// TokenPush is the envelope of a session's event of type typ:
// {"data": {"type"}, "subject", "message"}, both of the last always present
// (Android reads subject with getString), null when not given.
func TokenPush(typ string, subject, message *string) []byte {
	b, err := json.Marshal(struct {
		Data struct {
			Type string `json:"type"`
		} `json:"data"`
		Subject *string `json:"subject"`
		Message *string `json:"message"`
	}{Data: struct {
		Type string `json:"type"`
	}{typ}, Subject: subject, Message: message})
	if err != nil {
		panic(err)
	}
	return b
}
