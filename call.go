package intercom

import (
	"time"
)

// Call statuses, exactly as the apps decode them.
const (
	CallRing     = "ring"
	CallAnswered = "answered"
	CallEnded    = "ended"
	CallMissed   = "missed"
)

// Reasons a device of a member was not rung.
const (
	SkipDisabled         = "disabled"
	SkipOutsideTimetable = "outside_timetable"
	SkipNotConfirmed     = "not_confirmed"
	SkipNoChannel        = "no_channel"
)

// Reasons sent with intercom_cancel.
const (
	CancelAnsweredElsewhere = "answered_elsewhere"
	CancelTimeout           = "timeout"
	CancelHangup            = "hangup"
	CancelDeclined          = "declined"
	// The flat's handset or landline answered (Call.AnswerOn).
	CancelAnsweredAnalog   = "answered_analog"
	CancelAnsweredLandline = "answered_landline"
)

// CancelAnsweredOn is the reason of the cancel the devices get when line
// answered.
func CancelAnsweredOn(line string) string {
	if line == LineLandline {
		return CancelAnsweredLandline
	}
	return CancelAnsweredAnalog
}

// Why a call ended (Call.EndReason), for the operator's view of it.
const (
	EndNobodyRung     = "nobody_rung"         // no device could be rung: missed at once
	EndRingTimeout    = "ring_timeout"        // nobody answered within the ring timeout
	EndDeclined       = "declined"            // every rung device declined
	EndVisitorLeft    = "visitor_left"        // the visitor hung up at the intercom
	EndHungUp         = "hung_up"             // the answering device ended the conversation
	EndNotConnected   = "connect_timeout"     // answered, but the voice never connected in time
	EndMaxDuration    = "max_duration"        // the call reached the longest a call may last
	EndHandoverFailed = "sip_handover_failed" // the SIP server could not take the ring it asked for
)

// How a device was first seen acting on a call (CallDevice.SeenBy).
const (
	SeenSocket  = "socket" // the ring was handed to a socket of the device
	SeenFetch   = "fetch"  // the device read the call (GET /calls/{id})
	SeenAnswer  = "start"  // it answered
	SeenDecline = "cancel" // it declined
)

// Channels a call is delivered on.
const (
	ChannelWS = "ws"
)

// Call is one visitor's ring at an intercom and what became of it.
type Call struct {
	ID         int64
	IntercomID int64
	Flat       *int64
	// Number is the call's extension on the SIP server (NewCallNumber),
	// given by the store when the call is created.
	Number     string
	Status     string
	CreatedAt  time.Time
	StartedAt  *time.Time
	EndedAt    *time.Time
	AnsweredBy *int64 // device id
	// Lines are what the ring rang besides the apps; AnsweredOn is the
	// line that answered it (LineAnalog, LineLandline), "" for none.
	Lines      CallLines
	AnsweredOn string
	// ConnectedAt is when the SIP server reported the answered call's voice
	// connected; nil until it did.
	ConnectedAt *time.Time
	EndReason   string // one of the End* reasons once the call is over
	Devices     []CallDevice
}

// CallDevice is a device a call concerned: rung (Channels set) or skipped
// (Reason set).
type CallDevice struct {
	DeviceID   int64
	UserID     int64
	UUID       string
	Client     string
	Title      string   // the account's name for the intercom, for the events it gets
	Channels   []string // how it was rung; empty when skipped
	Reason     string   // why it was skipped; empty when rung
	Tokens     []string // public ids of its live tokens at ring time: its event channels
	DeclinedAt *time.Time
	// SeenAt is when the device was first seen acting on the call, and
	// SeenBy how (Seen*): with the push sends, what tells a phone that never
	// woke from a resident who let it ring.
	SeenAt *time.Time
	SeenBy string
}

// Marks are what a transition may change of a device of a call: stores
// compare them to write only the devices that changed.
type Marks struct {
	Declined, Seen int64 // Unix microseconds, 0 for none
	SeenBy         string
}

// MarksOf returns d's marks.
func MarksOf(d CallDevice) Marks {
	m := Marks{SeenBy: d.SeenBy}
	if d.DeclinedAt != nil {
		m.Declined = d.DeclinedAt.UnixMicro()
	}
	if d.SeenAt != nil {
		m.Seen = d.SeenAt.UnixMicro()
	}
	return m
}

// DeviceMarks returns each device's marks by its id.
func DeviceMarks(ds []CallDevice) map[int64]Marks {
	out := make(map[int64]Marks, len(ds))
	for _, d := range ds {
		out[d.DeviceID] = MarksOf(d)
	}
	return out
}

// Rung reports whether the device was rung.
func (d CallDevice) Rung() bool { return d.Reason == "" }

// device returns the call's record of a device that was rung.
func (c *Call) rung(deviceID int64) *CallDevice {
	for i := range c.Devices {
		if d := &c.Devices[i]; d.DeviceID == deviceID && d.Rung() {
			return d
		}
	}
	return nil
}

// Concerns reports whether the call concerned any device of account userID.
func (c *Call) Concerns(userID int64) bool {
	for _, d := range c.Devices {
		if d.UserID == userID {
			return true
		}
	}
	return false
}

// Users lists the accounts the call concerned, each once.
func (c *Call) Users() []int64 {
	var out []int64
	seen := map[int64]bool{}
	for _, d := range c.Devices {
		if !seen[d.UserID] {
			seen[d.UserID] = true
			out = append(out, d.UserID)
		}
	}
	return out
}

// Ringing lists the rung devices that have not declined.
func (c *Call) Ringing() []CallDevice {
	var out []CallDevice
	for _, d := range c.Devices {
		if d.Rung() && d.DeclinedAt == nil {
			out = append(out, d)
		}
	}
	return out
}

// The transitions of a call. Each returns ErrNotFound when it does not apply:
// to the apps, a call they may not act on does not exist (API.md §3).

// Answer: the first rung device to answer a ringing call takes it.
func (c *Call) Answer(deviceID int64, at time.Time) error {
	d := c.rung(deviceID)
	if c.Status != CallRing || d == nil || d.DeclinedAt != nil {
		return ErrNotFound
	}
	c.Status, c.StartedAt, c.AnsweredBy = CallAnswered, &at, &deviceID
	d.see(SeenAnswer, at)
	return nil
}

// AnswerOn: the flat's handset or landline (line) took a ringing call, as
// its panel reports. The same report again is no change (changed false: a
// panel may repeat a report it got no answer to); 422 on by when the ring
// did not ring that line; ECONFLICT when the call is no longer ringing.
func (c *Call) AnswerOn(line string, at time.Time) (changed bool, err error) {
	if c.Status == CallAnswered && c.AnsweredOn == line {
		return false, nil
	}
	if !c.Lines.Has(line) {
		return false, Invalid("by", "The call did not ring the flat's "+lineName(line)+".")
	}
	if c.Status != CallRing {
		return false, Errorf(ECONFLICT, "The call is %s, no longer ringing.", c.Status)
	}
	// The conversation is the panel's: its voice is connected already.
	c.Status, c.StartedAt, c.ConnectedAt, c.AnsweredOn = CallAnswered, &at, &at, line
	return true, nil
}

func lineName(line string) string {
	if line == LineLandline {
		return "landline"
	}
	return "analog handset"
}

// AnsweredApp is what AnsweredVia says of a call a device answered.
const AnsweredApp = "app"

// AnsweredVia says what answered the call: AnsweredApp, LineAnalog or
// LineLandline; "" when nothing did.
func (c *Call) AnsweredVia() string {
	switch {
	case c.AnsweredOn != "":
		return c.AnsweredOn
	case c.AnsweredBy != nil:
		return AnsweredApp
	}
	return ""
}

// Decline: a rung device stops ringing; the others go on. When every rung
// device has declined, and no line of the flat rings, the call is missed.
func (c *Call) Decline(deviceID int64, at time.Time) error {
	d := c.rung(deviceID)
	if c.Status != CallRing || d == nil || d.DeclinedAt != nil {
		return ErrNotFound
	}
	d.DeclinedAt = &at
	d.see(SeenDecline, at)
	if len(c.Ringing()) == 0 && !c.Lines.Any() {
		c.Status, c.EndedAt, c.EndReason = CallMissed, &at, EndDeclined
	}
	return nil
}

// See records that rung device deviceID acted on the call at instant at,
// by how, unless it was seen before; it reports whether it was the first.
func (c *Call) See(deviceID int64, how string, at time.Time) bool {
	d := c.rung(deviceID)
	return d != nil && d.see(how, at)
}

func (d *CallDevice) see(how string, at time.Time) bool {
	if d.SeenAt != nil {
		return false
	}
	d.SeenAt, d.SeenBy = &at, how
	return true
}

// HangUp: the device that answered ends the conversation.
func (c *Call) HangUp(deviceID int64, at time.Time) error {
	if c.Status != CallAnswered || c.AnsweredBy == nil || *c.AnsweredBy != deviceID {
		return ErrNotFound
	}
	c.Status, c.EndedAt, c.EndReason = CallEnded, &at, EndHungUp
	return nil
}

// VisitorLeft: the visitor hung up at the intercom. A ringing call is
// missed; a conversation ends.
func (c *Call) VisitorLeft(at time.Time) error { return c.End(EndVisitorLeft, at) }

// TimeOut: a call still ringing when its time is up is missed.
func (c *Call) TimeOut(at time.Time) error {
	if c.Status != CallRing {
		return ErrNotFound
	}
	c.Status, c.EndedAt, c.EndReason = CallMissed, &at, EndRingTimeout
	return nil
}

// Connect: the SIP server reports that the answered call's voice
// connected. A report repeated is no change (changed false).
func (c *Call) Connect(at time.Time) (changed bool, err error) {
	if c.Status != CallAnswered {
		return false, ErrNotFound
	}
	if c.ConnectedAt != nil {
		return false, nil
	}
	c.ConnectedAt = &at
	return true, nil
}

// NotConnected: an answered call whose voice has not connected by its
// connect deadline ends.
func (c *Call) NotConnected(at time.Time) error {
	if c.Status != CallAnswered || c.ConnectedAt != nil {
		return ErrNotFound
	}
	c.Status, c.EndedAt, c.EndReason = CallEnded, &at, EndNotConnected
	return nil
}

// End ends a live call for reason: a ringing one is missed, a conversation
// ended. It is how the visitor leaves (EndVisitorLeft), how a call reaches
// its longest duration (EndMaxDuration) and how a ring the SIP server could
// not take ends (EndHandoverFailed).
func (c *Call) End(reason string, at time.Time) error {
	switch c.Status {
	case CallRing:
		c.Status = CallMissed
	case CallAnswered:
		c.Status = CallEnded
	default:
		return ErrNotFound
	}
	c.EndedAt, c.EndReason = &at, reason
	return nil
}

// RingCandidate is a device of a member of an intercom, as the ring decision
// needs it.
type RingCandidate struct {
	DeviceID     int64
	UserID       int64
	UUID         string
	Client       string
	MemberStatus string
	Title        string
	Settings     DeviceSettings
	Tokens       []string // public ids of its live tokens; none: not a candidate at all
	FCMToken     string   // push tokens, "" when none
	VoIPToken    string
	HuaweiToken  string
}

// Decide sorts the candidates of a ring at instant at into the devices that
// ring and those skipped, with the reason. channels says how a device can be
// reached now; a device no channel reaches is skipped. Devices without a live
// token are neither.
func Decide(candidates []*RingCandidate, at time.Time, channels func(*RingCandidate) []string) []CallDevice {
	out := make([]CallDevice, 0, len(candidates))
	for _, c := range candidates {
		if len(c.Tokens) == 0 {
			continue
		}
		d := CallDevice{DeviceID: c.DeviceID, UserID: c.UserID, UUID: c.UUID, Client: c.Client, Title: c.Title, Tokens: c.Tokens}
		switch {
		case c.MemberStatus != StatusConfirmed:
			d.Reason = SkipNotConfirmed
		case !c.Settings.IsEnabled:
			d.Reason = SkipDisabled
		case !c.Settings.Timetable.Admits(at):
			d.Reason = SkipOutsideTimetable
		default:
			if d.Channels = channels(c); len(d.Channels) == 0 {
				d.Reason = SkipNoChannel
			}
		}
		out = append(out, d)
	}
	return out
}

// NewCall makes a call from a ring decision: ringing when some device or a
// line of the flat rings, missed at once when none does.
func NewCall(intercomID int64, flat *int64, devices []CallDevice, lines CallLines, at time.Time) Call {
	c := Call{IntercomID: intercomID, Flat: flat, Status: CallMissed, CreatedAt: at, Devices: devices, Lines: lines}
	if lines.Any() {
		c.Status = CallRing
		return c
	}
	for _, d := range devices {
		if d.Rung() {
			c.Status = CallRing
			return c
		}
	}
	c.EndedAt, c.EndReason = &at, EndNobodyRung
	return c
}

// StillIn lists the devices still in the call: the one that answered a
// conversation, else those still ringing.
func (c *Call) StillIn() []CallDevice {
	if c.Status == CallAnswered {
		return c.Answerer()
	}
	return c.Ringing()
}

// Answerer lists the device that answered the call, if one did.
func (c *Call) Answerer() []CallDevice {
	if c.AnsweredBy == nil {
		return nil
	}
	for _, d := range c.Devices {
		if d.DeviceID == *c.AnsweredBy {
			return []CallDevice{d}
		}
	}
	return nil
}
