package calls

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

var t0 = time.Date(2022, 4, 20, 12, 34, 32, 0, time.UTC)

func testCall(status string) intercom.Call {
	return intercom.Call{ID: 9, IntercomID: 180, Status: status, CreatedAt: t0, Devices: []intercom.CallDevice{
		{DeviceID: 1, UserID: 10, UUID: "phone", Client: "ios", Channels: []string{intercom.ChannelAPNsVoIP}, Tokens: []string{"t1"}},
		{DeviceID: 2, UserID: 10, UUID: "tablet", Client: "web", Channels: []string{intercom.ChannelWS}, Tokens: []string{"t2"}},
		{DeviceID: 3, UserID: 11, UUID: "other", Client: "android", Reason: intercom.SkipDisabled, Tokens: []string{"t3"}},
	}}
}

func uuids(ds []intercom.CallDevice) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.UUID)
	}
	return out
}

func events(cs []controlEvent) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.event)
	}
	return out
}

func TestEffects(t *testing.T) {
	ring := intercom.Deadline{Kind: intercom.DeadlineRing, ID: 9}
	connect := intercom.Deadline{Kind: intercom.DeadlineConnect, ID: 9}
	end := intercom.Deadline{Kind: intercom.DeadlineEnd, ID: 9}
	c := testCall(intercom.CallRing)
	answeredCall := testCall(intercom.CallAnswered)
	started := t0.Add(3 * time.Second)
	answeredCall.StartedAt = &started
	connectedCall := answeredCall
	connectedCall.ConnectedAt = &started
	endedCall := testCall(intercom.CallEnded)
	tests := []struct {
		name       string
		e          effects
		cancel     []string
		reason     string
		control    []string
		cancelAt   []intercom.Deadline
		schedule   []intercom.Deadline
		history    bool
		ringOnWS   bool
		pushCount  int
		pushCancel []string
		missed     bool
		ringOver   bool
	}{
		{name: "rung", e: rung(c, []*intercom.RingCandidate{{DeviceID: 1, Client: "ios", VoIPToken: "voip"}}, 30*time.Second,
			func(rc *intercom.RingCandidate) (string, string) { return rc.VoIPToken, intercom.ChannelAPNsVoIP }),
			schedule: []intercom.Deadline{{Kind: intercom.DeadlineRing, ID: 9, At: t0.Add(30 * time.Second)}},
			history:  true, ringOnWS: true, pushCount: 1},
		{name: "rung nobody", e: rung(testCall(intercom.CallMissed), nil, 30*time.Second, func(*intercom.RingCandidate) (string, string) { return "", "" }),
			control: []string{intercom.ControlCallMissed}, history: true, missed: true},
		{name: "answered", e: answered(answeredCall, c.Ringing(), Device{UserID: 10, DeviceID: 2, UUID: "tablet"}, "9", 20*time.Second, 10*time.Minute),
			cancel: []string{"phone"}, reason: intercom.CancelAnsweredElsewhere, control: []string{intercom.ControlCallAnswered},
			cancelAt: []intercom.Deadline{ring}, history: true, pushCancel: []string{"phone"}, ringOver: true,
			schedule: []intercom.Deadline{{Kind: intercom.DeadlineEnd, ID: 9, At: started.Add(10 * time.Minute)},
				{Kind: intercom.DeadlineConnect, ID: 9, At: started.Add(20 * time.Second)}}},
		{name: "declined, others ring on", e: declined(c, Device{UserID: 10, DeviceID: 1}, "1.2"),
			cancel: []string{"phone"}, reason: intercom.CancelDeclined},
		{name: "declined by the last", e: declined(testCall(intercom.CallMissed), Device{UserID: 10, DeviceID: 2}, ""),
			cancel: []string{"tablet"}, reason: intercom.CancelDeclined, control: []string{intercom.ControlCallMissed},
			cancelAt: []intercom.Deadline{ring}, history: true, missed: true, ringOver: true},
		{name: "ended", e: ended(endedCall), control: []string{intercom.ControlCallEnded}, history: true,
			cancelAt: []intercom.Deadline{connect, end}},
		{name: "visitor left a ringing call", e: left(testCall(intercom.CallMissed), intercom.CallRing, c.Ringing()),
			cancel: []string{"phone", "tablet"}, reason: intercom.CancelHangup, control: []string{intercom.ControlCallMissed},
			cancelAt: []intercom.Deadline{ring}, history: true, pushCancel: []string{"phone", "tablet"}, missed: true, ringOver: true},
		{name: "visitor left a conversation", e: left(endedCall, intercom.CallAnswered, connectedCall.Answerer()),
			reason: intercom.CancelHangup, control: []string{intercom.ControlCallEnded}, cancelAt: []intercom.Deadline{connect, end},
			history: true},
		{name: "timed out", e: timedOut(testCall(intercom.CallMissed), c.Ringing()),
			cancel: []string{"phone", "tablet"}, reason: intercom.CancelTimeout, control: []string{intercom.ControlCallMissed}, history: true,
			pushCancel: []string{"phone", "tablet"}, missed: true, ringOver: true},
		{name: "a ring the SIP server lost", e: over(testCall(intercom.CallMissed), intercom.CallRing, c.Ringing(), intercom.CancelHangup),
			cancel: []string{"phone", "tablet"}, reason: intercom.CancelHangup, control: []string{intercom.ControlCallMissed},
			cancelAt: []intercom.Deadline{ring}, history: true, pushCancel: []string{"phone", "tablet"}, missed: true, ringOver: true},
		{name: "a conversation past a deadline", e: over(endedCall, intercom.CallAnswered, []intercom.CallDevice{c.Devices[1]}, intercom.CancelTimeout),
			cancel: []string{"tablet"}, reason: intercom.CancelTimeout, control: []string{intercom.ControlCallEnded},
			cancelAt: []intercom.Deadline{connect, end}, history: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			got := []any{uuids(e.cancel), e.reason, events(e.control), e.cancelAt, e.schedule, e.history, e.ring, len(e.pushes),
				uuids(e.pushCancel), e.missed, e.ringOver}
			want := []any{tt.cancel, tt.reason, tt.control, tt.cancelAt, tt.schedule, tt.history, tt.ringOnWS, tt.pushCount,
				tt.pushCancel, tt.missed, tt.ringOver}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("effects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMissedFor(t *testing.T) {
	declinedAt := t0.Add(time.Second)
	c := testCall(intercom.CallMissed)
	c.Devices = append(c.Devices, intercom.CallDevice{DeviceID: 4, UserID: 11, UUID: "other-phone", Client: "ios",
		Channels: []string{intercom.ChannelAPNsVoIP}},
		intercom.CallDevice{DeviceID: 5, UserID: 12, UUID: "pairing", Client: "ios", Reason: intercom.SkipNotConfirmed})
	for _, tt := range []struct {
		name     string
		declined int // index of the device that declined, -1 for none
		want     []string
	}{
		{"nobody declined: every device, rung or not", -1, []string{"phone", "tablet", "other", "other-phone"}},
		{"an account that declined gets none", 0, []string{"other", "other-phone"}},
		{"the other account declined", 3, []string{"phone", "tablet"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := c
			c.Devices = slices.Clone(c.Devices)
			if tt.declined >= 0 {
				c.Devices[tt.declined].DeclinedAt = &declinedAt
			}
			if diff := cmp.Diff(tt.want, uuids(missedFor(c))); diff != "" {
				t.Errorf("missedFor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCancelChannel(t *testing.T) {
	for _, tt := range []struct {
		channels []string
		want     string
	}{
		{[]string{intercom.ChannelFCM}, intercom.ChannelFCM},
		{[]string{intercom.ChannelWS, intercom.ChannelHMS}, intercom.ChannelHMS},
		{[]string{intercom.ChannelAPNsVoIP}, ""}, // never a VoIP push for a cancel
		{[]string{intercom.ChannelWS}, ""},
		{nil, ""},
	} {
		if got := cancelChannel(intercom.CallDevice{Channels: tt.channels}); got != tt.want {
			t.Errorf("cancelChannel(%v) = %q, want %q", tt.channels, got, tt.want)
		}
	}
}

func TestRungPushesOnlyOverTheChannelTheDeviceWasRungOn(t *testing.T) {
	c := testCall(intercom.CallRing)
	cands := []*intercom.RingCandidate{{DeviceID: 1, VoIPToken: "voip"}, {DeviceID: 2, VoIPToken: "voip2"}, {DeviceID: 3, VoIPToken: "voip3"}}
	e := rung(c, cands, 30*time.Second, func(rc *intercom.RingCandidate) (string, string) { return rc.VoIPToken, intercom.ChannelAPNsVoIP })
	// Device 2 rang over its socket only; device 3 was skipped.
	if len(e.pushes) != 1 || e.pushes[0].DeviceID != 1 || e.pushes[0].Token != "voip" || e.pushVia[0] != intercom.ChannelAPNsVoIP {
		t.Fatalf("pushes = %+v via %v, want one to device 1 over apns-voip", e.pushes, e.pushVia)
	}
	if !e.pushes[0].Expires.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("push expires %v, want the ring's end", e.pushes[0].Expires)
	}
}
