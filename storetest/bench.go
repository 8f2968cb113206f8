package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"intercom"
)

// BenchRingDecision decides the recipients of one ring at an intercom whose
// 500 member accounts have 2 devices each, every device with a live token and
// a timetable of 7 day windows and 4 intervals: the candidates, read from the
// store open makes, and the decision. "cached" rings again and again; "cold"
// changes a device's push token before each ring (untimed), which changes
// the roster every engine may cache. It reports the p50 and p99 of one
// decision; every engine runs the same.
func BenchRingDecision(b *testing.B, open func(*testing.B) intercom.Store) {
	voip := "v"
	pv := &voip
	for _, tt := range []struct {
		name   string
		before func(*testing.B, intercom.Store, time.Time)
	}{
		{"cached", nil},
		{"cold", func(b *testing.B, s intercom.Store, now time.Time) {
			if err := s.UpdatePushTokens(b.Context(), 1, intercom.PushTokensUpdate{VoIP: &pv}, now); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(tt.name, func(b *testing.B) { benchRingDecision(b, open(b), tt.before) })
	}
}

func benchRingDecision(b *testing.B, s intercom.Store, before func(b *testing.B, s intercom.Store, now time.Time)) {
	ctx := b.Context()
	now := time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC)
	if _, err := s.CreateIntercom(ctx, intercom.Intercom{ID: 1, Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 7, CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	var tt intercom.Timetable
	if err := json.Unmarshal([]byte(`{"days":[
		{"type":"monday","from":"08:00+03:00","to":"22:00+03:00"},{"type":"tuesday","from":"08:00+03:00","to":"22:00+03:00"},
		{"type":"wednesday","from":"08:00+03:00","to":"22:00+03:00"},{"type":"thursday","from":"08:00+03:00","to":"22:00+03:00"},
		{"type":"friday","from":"08:00+03:00","to":"22:00+03:00"},{"type":"saturday","from":"22:00+03:00","to":"06:00+03:00"},
		{"type":"sunday","from":"10:00+03:00","to":"12:00+03:00"}],
		"intervals":[{"from":"2023-01-01T00:00:00Z","to":"2023-01-02T00:00:00Z"},{"from":"2023-02-01T00:00:00Z","to":"2023-02-02T00:00:00Z"},
		{"from":"2023-03-01T00:00:00Z","to":"2023-03-02T00:00:00Z"},{"from":"2023-04-01T00:00:00Z","to":"2023-04-02T00:00:00Z"}]}`), &tt); err != nil {
		b.Fatal(err)
	}
	enabled := true
	for u := 0; u < 500; u++ {
		user, err := s.CreateUser(ctx, intercom.User{Login: fmt.Sprint("user", u), PasswordHash: "h", CreatedAt: now, UpdatedAt: now})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.PutMembership(ctx, intercom.Membership{UserID: user.ID, IntercomID: 1, Title: "Home", Status: intercom.StatusConfirmed}, now); err != nil {
			b.Fatal(err)
		}
		for d := 0; d < 2; d++ {
			_, tok := intercom.NewAccessToken(user.ID, fmt.Sprint("dev-", u, "-", d), "ios", now, time.Hour)
			if tok, err = s.CreateAccessToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
			if _, err := s.UpdateIntercom(ctx, intercom.Viewer{UserID: user.ID, DeviceID: tok.DeviceID}, 1,
				intercom.IntercomUpdate{IsEnabled: &enabled, Timetable: &tt}, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Shared, as intercom.RingChannels's are: the channels allocate nothing per device.
	wsOnly := []string{intercom.ChannelWS}
	ws := func(*intercom.RingCandidate) []string { return wsOnly }
	var took []time.Duration
	for b.Loop() {
		if before != nil {
			before(b, s, now)
		}
		start := time.Now()
		cands, err := s.RingCandidates(ctx, 1, nil, now)
		if err != nil {
			b.Fatal(err)
		}
		devices := intercom.Decide(cands, now, ws)
		took = append(took, time.Since(start))
		if len(devices) != 1000 || !devices[0].Rung() {
			b.Fatalf("%d devices decided, first %+v", len(devices), devices[0])
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}
