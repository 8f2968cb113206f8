package intercom_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

func TestCallEnds(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := t0.Add(time.Minute)
	ringing := func() intercom.Call {
		return intercom.Call{ID: 1, Status: intercom.CallRing, CreatedAt: t0, Devices: []intercom.CallDevice{
			{DeviceID: 1, UserID: 1, Channels: []string{intercom.ChannelFCM}},
			{DeviceID: 2, UserID: 2, Reason: intercom.SkipDisabled},
		}}
	}
	answered := func() intercom.Call {
		c := ringing()
		if err := c.Answer(1, t0); err != nil {
			t.Fatal(err)
		}
		return c
	}
	connected := func() intercom.Call {
		c := answered()
		if _, err := c.Connect(t0); err != nil {
			t.Fatal(err)
		}
		return c
	}
	missed := func() intercom.Call {
		c := ringing()
		if err := c.TimeOut(t0); err != nil {
			t.Fatal(err)
		}
		return c
	}
	type result struct {
		Status, EndReason string
		EndedAt           *time.Time
		ConnectedAt       *time.Time
		Changed           bool
		Err               bool
	}
	connect := func(c *intercom.Call) (bool, error) { return c.Connect(at) }
	tests := []struct {
		name string
		call intercom.Call
		do   func(*intercom.Call) (bool, error)
		want result
	}{
		{"connect an answered call", answered(), connect,
			result{Status: intercom.CallAnswered, ConnectedAt: &at, Changed: true}},
		{"connect again", connected(), connect,
			result{Status: intercom.CallAnswered, ConnectedAt: &t0}},
		{"connect a ringing call", ringing(), connect, result{Status: intercom.CallRing, Err: true}},
		{"connect a call over", missed(), connect,
			result{Status: intercom.CallMissed, EndReason: intercom.EndRingTimeout, EndedAt: &t0, Err: true}},
		{"not connected in time", answered(), func(c *intercom.Call) (bool, error) { return true, c.NotConnected(at) },
			result{Status: intercom.CallEnded, EndReason: intercom.EndNotConnected, EndedAt: &at, Changed: true}},
		{"connected: the connect deadline does nothing", connected(), func(c *intercom.Call) (bool, error) { return false, c.NotConnected(at) },
			result{Status: intercom.CallAnswered, ConnectedAt: &t0, Err: true}},
		{"longest duration of a conversation", connected(), func(c *intercom.Call) (bool, error) { return true, c.End(intercom.EndMaxDuration, at) },
			result{Status: intercom.CallEnded, EndReason: intercom.EndMaxDuration, EndedAt: &at, ConnectedAt: &t0, Changed: true}},
		{"a ring the SIP server lost", ringing(), func(c *intercom.Call) (bool, error) { return true, c.End(intercom.EndHandoverFailed, at) },
			result{Status: intercom.CallMissed, EndReason: intercom.EndHandoverFailed, EndedAt: &at, Changed: true}},
		{"End of a call over", missed(), func(c *intercom.Call) (bool, error) { return false, c.End(intercom.EndMaxDuration, at) },
			result{Status: intercom.CallMissed, EndReason: intercom.EndRingTimeout, EndedAt: &t0, Err: true}},
		{"the visitor leaves a conversation", answered(), func(c *intercom.Call) (bool, error) { return true, c.VisitorLeft(at) },
			result{Status: intercom.CallEnded, EndReason: intercom.EndVisitorLeft, EndedAt: &at, Changed: true}},
		{"the answerer hangs up", answered(), func(c *intercom.Call) (bool, error) { return true, c.HangUp(1, at) },
			result{Status: intercom.CallEnded, EndReason: intercom.EndHungUp, EndedAt: &at, Changed: true}},
		{"the last device declines", ringing(), func(c *intercom.Call) (bool, error) { return true, c.Decline(1, at) },
			result{Status: intercom.CallMissed, EndReason: intercom.EndDeclined, EndedAt: &at, Changed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.call
			changed, err := tt.do(&c)
			got := result{Status: c.Status, EndReason: c.EndReason, EndedAt: c.EndedAt, ConnectedAt: c.ConnectedAt,
				Changed: changed && err == nil, Err: err != nil}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCallSeen(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := intercom.NewCall(1, nil, []intercom.CallDevice{
		{DeviceID: 1, UserID: 1, Channels: []string{intercom.ChannelFCM}},
		{DeviceID: 2, UserID: 1, Channels: []string{intercom.ChannelFCM}},
		{DeviceID: 3, UserID: 2, Reason: intercom.SkipOutsideTimetable},
	}, intercom.CallLines{}, t0)

	if !c.See(1, intercom.SeenFetch, t0.Add(time.Second)) || c.See(1, intercom.SeenFetch, t0.Add(2*time.Second)) {
		t.Error("a device is seen first once")
	}
	if c.See(3, intercom.SeenFetch, t0) || c.See(9, intercom.SeenFetch, t0) {
		t.Error("a skipped or unknown device was seen")
	}
	if err := c.Answer(1, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if d := c.Devices[0]; d.SeenBy != intercom.SeenFetch || !d.SeenAt.Equal(t0.Add(time.Second)) {
		t.Errorf("the answer replaced the first sight: %q at %v", d.SeenBy, d.SeenAt)
	}
	c2 := intercom.NewCall(1, nil, []intercom.CallDevice{{DeviceID: 2, UserID: 1, Channels: []string{intercom.ChannelFCM}}}, intercom.CallLines{}, t0)
	if err := c2.Decline(2, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if d := c2.Devices[0]; d.SeenBy != intercom.SeenDecline {
		t.Errorf("a decline is a sight: %q", d.SeenBy)
	}
	nobody := intercom.NewCall(1, nil, []intercom.CallDevice{{DeviceID: 3, Reason: intercom.SkipDisabled}}, intercom.CallLines{}, t0)
	if nobody.Status != intercom.CallMissed || nobody.EndReason != intercom.EndNobodyRung {
		t.Errorf("a ring to nobody: %s, %q", nobody.Status, nobody.EndReason)
	}
}
