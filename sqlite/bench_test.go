package sqlite_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"intercom"
	"intercom/sqlite"
)

// BenchmarkRingDecision decides the recipients of one ring at an intercom
// whose 500 member accounts have 2 devices each, every device with a live
// token and a timetable of 7 day windows and 4 intervals: the candidates
// (from the roster cache, or "cold" after a write that drops it) and the
// decision. It reports the p99 of one decision.
func BenchmarkRingDecision(b *testing.B) {
	ctx := b.Context()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC)
	if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: 1, Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 7, CreatedAt: now}); err != nil {
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
		user, err := db.CreateUser(ctx, intercom.User{Login: fmt.Sprint("user", u), PasswordHash: "h", CreatedAt: now, UpdatedAt: now})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := db.PutMembership(ctx, intercom.Membership{UserID: user.ID, IntercomID: 1, Title: "Home", Status: intercom.StatusConfirmed}, now); err != nil {
			b.Fatal(err)
		}
		for d := 0; d < 2; d++ {
			_, tok := intercom.NewAccessToken(user.ID, fmt.Sprint("dev-", u, "-", d), "ios", now, time.Hour)
			if tok, err = db.CreateAccessToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
			if _, err := db.UpdateIntercom(ctx, intercom.Viewer{UserID: user.ID, DeviceID: tok.DeviceID}, 1,
				intercom.IntercomUpdate{IsEnabled: &enabled, Timetable: &tt}, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Shared, as intercom.RingChannels's are: the channels allocate nothing per device.
	wsOnly := []string{intercom.ChannelWS}
	ws := func(intercom.RingCandidate) []string { return wsOnly }
	voip := "v"
	pv := &voip
	for _, cold := range []bool{false, true} {
		name := "cached"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				if cold { // a device's push token changes: every roster is read again
					if err := db.UpdatePushTokens(ctx, 1, intercom.PushTokensUpdate{VoIP: &pv}, now); err != nil {
						b.Fatal(err)
					}
				}
				start := time.Now()
				cands, err := db.RingCandidates(ctx, 1, nil, now)
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
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
