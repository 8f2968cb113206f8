package intercom_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

func TestRosterCandidates(t *testing.T) {
	t0 := time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC)
	row := func(device, user int64, expires map[string]time.Duration) *intercom.RosterRow {
		r := &intercom.RosterRow{Candidate: &intercom.RingCandidate{DeviceID: device, UserID: user}}
		for _, tok := range []string{"a", "b"} {
			if d, ok := expires[tok]; ok {
				r.Candidate.Tokens = append(r.Candidate.Tokens, tok)
				r.Expires = append(r.Expires, t0.Add(d))
			}
		}
		return r
	}
	r := intercom.NewRoster([]*intercom.RosterRow{
		row(3, 2, map[string]time.Duration{"a": time.Hour}),
		row(1, 1, map[string]time.Duration{"a": time.Minute, "b": time.Hour}),
		row(2, 1, map[string]time.Duration{"a": -time.Minute}),
	})
	type cand struct {
		Device int64
		Tokens []string
	}
	got := func(at time.Time) []cand {
		var out []cand
		for _, c := range r.Candidates(at) {
			out = append(out, cand{c.DeviceID, c.Tokens})
		}
		return out
	}
	for _, tt := range []struct {
		name string
		at   time.Duration
		want []cand
	}{
		{"AllLiveButTheExpired", 0, []cand{{1, []string{"a", "b"}}, {3, []string{"a"}}}},
		{"SameSpanAgain", 30 * time.Second, []cand{{1, []string{"a", "b"}}, {3, []string{"a"}}}},
		{"AtAnExpiryItIsGone", time.Minute, []cand{{1, []string{"b"}}, {3, []string{"a"}}}},
		{"Later", 2 * time.Hour, nil},
		{"BackInTime", -2 * time.Minute, []cand{{1, []string{"a", "b"}}, {2, []string{"a"}}, {3, []string{"a"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, got(t0.Add(tt.at))); d != "" {
				t.Errorf("Candidates (-want +got):\n%s", d)
			}
		})
	}
	t.Run("SharedWhileAllTokensLive", func(t *testing.T) {
		if c := r.Candidates(t0); c[0] != r.Candidates(t0.Add(time.Second))[0] {
			t.Error("a ring in the same span made new candidates")
		}
	})
	t.Run("Patch", func(t *testing.T) {
		p := r.Patch([]int64{1}, []*intercom.RosterRow{row(4, 1, map[string]time.Duration{"b": time.Hour})})
		var devices []int64
		for _, c := range p.Candidates(t0) {
			devices = append(devices, c.DeviceID)
		}
		if d := cmp.Diff([]int64{3, 4}, devices); d != "" {
			t.Errorf("patched devices (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]cand{{1, []string{"a", "b"}}, {3, []string{"a"}}}, got(t0)); d != "" {
			t.Errorf("the patched roster changed (-want +got):\n%s", d)
		}
	})
}
