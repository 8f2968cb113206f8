package intercom

import (
	"context"
	"time"
)

// Events sent to an intercom's control URL.
const (
	ControlDoorOpen     = "door.open"
	ControlCallAnswered = "call.answered"
	ControlCallMissed   = "call.missed"
	ControlCallEnded    = "call.ended"
)

// Controller sends commands and call events to intercoms' control URLs.
type Controller interface {
	// Send posts event with fields to the intercom's control URL, signed
	// with its key, and says how it went.
	Send(ctx context.Context, ic Intercom, event string, fields map[string]any) ControlResult
	// Redirects reports whether a control URL answers with a redirect (an
	// unreachable one does not).
	Redirects(ctx context.Context, url string) bool
}

// ControlResult is how one POST to a control URL went.
type ControlResult struct {
	OK       bool
	Status   int    // the intercom's HTTP status, 0 when none came
	Error    string // why it failed
	TimedOut bool   // the intercom did not answer in time
}

// ControlEntry is the record of one POST to a control URL.
type ControlEntry struct {
	ID         int64
	IntercomID int64
	Event      string
	CallID     *int64
	UserID     *int64
	Device     string // the X-UUID that asked, for door.open
	At         time.Time
	Result     ControlResult
}
