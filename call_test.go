package intercom_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// TestCallTransitions covers the answers, declines, hang-ups and time-outs
// of a ring: who may make each, and what it leaves.
func TestCallTransitions(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := t0.Add(time.Minute)
	one, two := int64(1), int64(2)
	ringing := func() intercom.Call {
		return intercom.Call{ID: 1, Status: intercom.CallRing, CreatedAt: t0, Devices: []intercom.CallDevice{
			{DeviceID: 1, UserID: 1, Channels: []string{intercom.ChannelFCM}},
			{DeviceID: 2, UserID: 2, Channels: []string{intercom.ChannelWS}},
			{DeviceID: 3, UserID: 2, Reason: intercom.SkipDisabled},
		}}
	}
	after := func(steps ...func(*intercom.Call) error) intercom.Call {
		c := ringing()
		for _, step := range steps {
			if err := step(&c); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	answer := func(id int64) func(*intercom.Call) error {
		return func(c *intercom.Call) error { return c.Answer(id, at) }
	}
	decline := func(id int64) func(*intercom.Call) error {
		return func(c *intercom.Call) error { return c.Decline(id, at) }
	}
	hangUp := func(id int64) func(*intercom.Call) error {
		return func(c *intercom.Call) error { return c.HangUp(id, at) }
	}
	timeOut := func(c *intercom.Call) error { return c.TimeOut(at) }
	type result struct {
		Status, EndReason string
		AnsweredBy        *int64
		EndedAt           *time.Time
		Ringing           []int64 // devices still ringing
		Err               string  // the error's code
	}
	tests := []struct {
		name string
		call intercom.Call
		do   func(*intercom.Call) error
		want result
	}{
		{"a rung device answers", ringing(), answer(1),
			result{Status: intercom.CallAnswered, AnsweredBy: &one, Ringing: []int64{1, 2}}},
		{"a skipped device cannot answer", ringing(), answer(3),
			result{Status: intercom.CallRing, Ringing: []int64{1, 2}, Err: intercom.ENOTFOUND}},
		{"an unknown device cannot answer", ringing(), answer(9),
			result{Status: intercom.CallRing, Ringing: []int64{1, 2}, Err: intercom.ENOTFOUND}},
		{"a device that declined cannot answer", after(decline(1)), answer(1),
			result{Status: intercom.CallRing, Ringing: []int64{2}, Err: intercom.ENOTFOUND}},
		{"the second answer finds the call taken", after(answer(1)), answer(2),
			result{Status: intercom.CallAnswered, AnsweredBy: &one, Ringing: []int64{1, 2}, Err: intercom.ENOTFOUND}},
		{"one of two declines: the other rings on", ringing(), decline(1),
			result{Status: intercom.CallRing, Ringing: []int64{2}}},
		{"a decline twice", after(decline(1)), decline(1),
			result{Status: intercom.CallRing, Ringing: []int64{2}, Err: intercom.ENOTFOUND}},
		{"every rung device declined: missed", after(decline(1)), decline(2),
			result{Status: intercom.CallMissed, EndReason: intercom.EndDeclined, EndedAt: &at}},
		{"a decline after the answer", after(answer(2)), decline(1),
			result{Status: intercom.CallAnswered, AnsweredBy: &two, Ringing: []int64{1, 2}, Err: intercom.ENOTFOUND}},
		{"another device cannot hang up", after(answer(2)), hangUp(1),
			result{Status: intercom.CallAnswered, AnsweredBy: &two, Ringing: []int64{1, 2}, Err: intercom.ENOTFOUND}},
		{"a ringing call cannot be hung up", ringing(), hangUp(1),
			result{Status: intercom.CallRing, Ringing: []int64{1, 2}, Err: intercom.ENOTFOUND}},
		{"the ring times out", ringing(), timeOut,
			result{Status: intercom.CallMissed, EndReason: intercom.EndRingTimeout, EndedAt: &at, Ringing: []int64{1, 2}}},
		{"an answered call does not time out", after(answer(1)), timeOut,
			result{Status: intercom.CallAnswered, AnsweredBy: &one, Ringing: []int64{1, 2}, Err: intercom.ENOTFOUND}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.call
			err := tt.do(&c)
			got := result{Status: c.Status, EndReason: c.EndReason, AnsweredBy: c.AnsweredBy, EndedAt: c.EndedAt,
				Err: intercom.ErrorCode(err)}
			for _, d := range c.Ringing() {
				got.Ringing = append(got.Ringing, d.DeviceID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecide covers the ring decision: which candidates ring, on which
// channels, and why the others do not.
func TestDecide(t *testing.T) {
	at := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC) // a Wednesday, noon
	enabled := intercom.DeviceSettings{IsEnabled: true}
	closed := intercom.Timetable{Days: []intercom.DayWindow{{Day: intercom.Day(time.Wednesday), From: 13 * 3600, To: 14 * 3600}}}
	cand := func(id int64, status string, s intercom.DeviceSettings, tokens ...string) *intercom.RingCandidate {
		return &intercom.RingCandidate{DeviceID: id, UserID: 10 + id, UUID: "uuid", Client: "android", MemberStatus: status,
			Title: "Home", Settings: s, Tokens: tokens}
	}
	fcm := func(*intercom.RingCandidate) []string { return []string{intercom.ChannelFCM} }
	none := func(*intercom.RingCandidate) []string { return nil }
	type device struct {
		ID       int64
		Channels []string
		Reason   string
	}
	tests := []struct {
		name     string
		cands    []*intercom.RingCandidate
		channels func(*intercom.RingCandidate) []string
		want     []device
	}{
		{"nobody", nil, fcm, []device{}},
		{"a confirmed, enabled device rings", []*intercom.RingCandidate{cand(1, intercom.StatusConfirmed, enabled, "t")}, fcm,
			[]device{{ID: 1, Channels: []string{intercom.ChannelFCM}}}},
		{"without a live token: not a candidate", []*intercom.RingCandidate{cand(1, intercom.StatusConfirmed, enabled)}, fcm,
			[]device{}},
		{"a pairing in progress", []*intercom.RingCandidate{cand(1, intercom.StatusKeyConfirmed, enabled, "t")}, fcm,
			[]device{{ID: 1, Reason: intercom.SkipNotConfirmed}}},
		{"disabled", []*intercom.RingCandidate{cand(1, intercom.StatusConfirmed, intercom.DeviceSettings{}, "t")}, fcm,
			[]device{{ID: 1, Reason: intercom.SkipDisabled}}},
		{"outside its timetable",
			[]*intercom.RingCandidate{cand(1, intercom.StatusConfirmed, intercom.DeviceSettings{IsEnabled: true, Timetable: closed}, "t")},
			fcm, []device{{ID: 1, Reason: intercom.SkipOutsideTimetable}}},
		{"no channel reaches it", []*intercom.RingCandidate{cand(1, intercom.StatusConfirmed, enabled, "t")}, none,
			[]device{{ID: 1, Reason: intercom.SkipNoChannel}}},
		{"not confirmed before disabled",
			[]*intercom.RingCandidate{cand(1, intercom.StatusKeyConfirmed, intercom.DeviceSettings{}, "t")}, fcm,
			[]device{{ID: 1, Reason: intercom.SkipNotConfirmed}}},
		{"in the candidates' order", []*intercom.RingCandidate{
			cand(2, intercom.StatusConfirmed, intercom.DeviceSettings{}, "t"),
			cand(1, intercom.StatusConfirmed, enabled, "t"),
		}, fcm, []device{{ID: 2, Reason: intercom.SkipDisabled}, {ID: 1, Channels: []string{intercom.ChannelFCM}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []device{}
			for _, d := range intercom.Decide(tt.cands, at, tt.channels) {
				got = append(got, device{ID: d.DeviceID, Channels: d.Channels, Reason: d.Reason})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
