package intercom_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"intercom"
)

func TestParseRetentionAge(t *testing.T) {
	tests := []struct {
		in   string
		want intercom.RetentionAge
	}{
		{"365d", intercom.RetentionAge(365 * 24 * time.Hour)},
		{"1d", intercom.RetentionAge(24 * time.Hour)},
		{"36h", intercom.RetentionAge(36 * time.Hour)},
		{"1h30m", intercom.RetentionAge(90 * time.Minute)},
		{"1h", intercom.RetentionAge(time.Hour)},
		{"forever", intercom.KeepForever},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := intercom.ParseRetentionAge(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseRetentionAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if back, err := intercom.ParseRetentionAge(got.String()); err != nil || back != got {
				t.Errorf("ParseRetentionAge(%q.String() = %q) = %v, %v", tt.in, got.String(), back, err)
			}
		})
	}
}

// Bad ages are refused with a message saying what to write: 0 would purge
// everything at once (keeping everything is spelled forever), and an age
// under an hour would purge what is still of use.
func TestParseRetentionAgeRefuses(t *testing.T) {
	for _, in := range []string{"0", "0d", "0s", "-1d", "-24h", "1x", "", "d", "1.5d", "30m", "off", "never", "99999999999999d"} {
		t.Run(in, func(t *testing.T) {
			got, err := intercom.ParseRetentionAge(in)
			if err == nil {
				t.Fatalf("ParseRetentionAge(%q) = %v, want an error", in, got)
			}
			for _, want := range []string{"90d", "forever"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestRetentionCutoff(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := intercom.Retention{intercom.HistoryCalls: intercom.RetentionAge(10 * 24 * time.Hour), intercom.HistorySends: intercom.KeepForever}
	if got, ok := r.Cutoff(intercom.HistoryCalls, now); !ok || !got.Equal(now.AddDate(0, 0, -10)) {
		t.Errorf("Cutoff(calls) = %v, %v", got, ok)
	}
	for _, h := range []intercom.History{intercom.HistorySends, intercom.HistoryAccessLog} {
		if got, ok := r.Cutoff(h, now); ok {
			t.Errorf("Cutoff(%s) = %v, want none: kept forever", h, got)
		}
	}
	d := intercom.DefaultRetention()
	for _, h := range intercom.Histories {
		if d[h.History] != h.Default || h.Default.Forever() {
			t.Errorf("default of %s = %v", h.History, d[h.History])
		}
	}
}

// A database newer than this intercomd, by one migration or more, is
// refused naming both versions; an older one or the same is not.
func TestCheckSchema(t *testing.T) {
	for _, tt := range []struct {
		at, known int
		want      string
	}{
		{13, 11, "database schema is at 0013, this intercomd knows up to 0011: upgrade intercomd"},
		{12, 11, "database schema is at 0012, this intercomd knows up to 0011: upgrade intercomd"},
		{11, 11, ""},
		{10, 11, ""},
		{0, 11, ""},
	} {
		err := intercom.CheckSchema(tt.at, tt.known)
		if got := fmt.Sprint(err); (err == nil) != (tt.want == "") || (err != nil && got != tt.want) {
			t.Errorf("CheckSchema(%d, %d) = %v, want %q", tt.at, tt.known, err, tt.want)
		}
	}
}
