package intercom

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecideSessions(t *testing.T) {
	live := []AccessToken{{ID: 1, PublicID: "a"}, {ID: 2, PublicID: "b"}}
	tests := []struct {
		name      string
		limit     int
		end       string
		want      []int64
		wantCode  string
		wantLimit bool
		wantLeft  []string
	}{
		{name: "no limit", limit: 0},
		{name: "under the limit", limit: 3},
		{name: "at the limit", limit: 2, wantLimit: true, wantLeft: []string{"a", "b"}},
		{name: "ending one at the limit", limit: 2, end: "b", want: []int64{2}},
		{name: "ending one still over a lowered limit", limit: 1, end: "a", wantLimit: true, wantLeft: []string{"b"}},
		{name: "ending one without a limit", limit: 0, end: "a", want: []int64{1}},
		{name: "ending none of them", limit: 2, end: "c", wantCode: EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecideSessions(live, tt.limit, tt.end)
			if le, ok := err.(*SessionsLimitError); ok != tt.wantLimit {
				t.Fatalf("error %v, want the limit: %v", err, tt.wantLimit)
			} else if ok {
				var left []string
				for _, t := range le.Live {
					left = append(left, t.PublicID)
				}
				if diff := cmp.Diff(tt.wantLeft, left); diff != "" || le.Limit != tt.limit {
					t.Fatalf("limit %d, live (-want +got):\n%s", le.Limit, diff)
				}
				return
			}
			if code := ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error %v, want code %q", err, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("revoke (-want +got):\n%s", diff)
			}
		})
	}
	if len(live) != 2 || live[1].PublicID != "b" {
		t.Fatalf("DecideSessions changed its input: %+v", live)
	}
}

func TestTokenUseDue(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	written := TokenUse{IP: "192.0.2.1", UserAgent: "app", At: t0}
	tests := []struct {
		name string
		use  TokenUse
		want bool
	}{
		{"same, soon after", TokenUse{IP: "192.0.2.1", UserAgent: "app", At: t0.Add(59 * time.Second)}, false},
		{"same, a minute after", TokenUse{IP: "192.0.2.1", UserAgent: "app", At: t0.Add(time.Minute)}, true},
		{"another address", TokenUse{IP: "192.0.2.2", UserAgent: "app", At: t0.Add(time.Second)}, true},
		{"another agent", TokenUse{IP: "192.0.2.1", UserAgent: "app 2", At: t0.Add(time.Second)}, true},
		{"an earlier use", TokenUse{IP: "192.0.2.9", UserAgent: "app", At: t0.Add(-time.Hour)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenUseDue(written, tt.use, time.Minute); got != tt.want {
				t.Fatalf("TokenUseDue = %v, want %v", got, tt.want)
			}
		})
	}
}
