package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// The --retain-* flags and their INTERCOMD_RETAIN_* twins take an age with a
// d suffix for days, or forever; by default each history has its age.
func TestRetentionFlags(t *testing.T) {
	day := 24 * time.Hour
	c, err := parseConfig([]string{"serve", "--retain-calls", "30d", "--retain-sends", "forever"},
		map[string]string{"INTERCOMD_RETAIN_ACCESS_LOG": "36h", "INTERCOMD_RETAIN_CALLS": "1d"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := intercom.Retention{intercom.HistoryCalls: intercom.RetentionAge(30 * day), intercom.HistorySends: intercom.KeepForever,
		intercom.HistoryAccessLog: intercom.RetentionAge(36 * time.Hour), intercom.HistoryControlLog: intercom.RetentionAge(90 * day),
		intercom.HistoryAuditLog: intercom.RetentionAge(365 * day)}
	if diff := cmp.Diff(want, c.retention); diff != "" {
		t.Errorf("retention (-want +got):\n%s", diff)
	}
	c, err = parseConfig([]string{"serve"}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(intercom.DefaultRetention(), c.retention); diff != "" {
		t.Errorf("default retention (-want +got):\n%s", diff)
	}
	var usage strings.Builder
	printUsage(&usage)
	for _, w := range []string{"-retain-calls", "(default 365d)", "-retain-sends", "(default 30d)", "-retain-access-log", "-retain-control-log"} {
		if !strings.Contains(usage.String(), w) {
			t.Errorf("usage lacks %q", w)
		}
	}
}

// A retention age of 0, a negative one or one that is no age stops the
// start with a message saying what to write.
func TestRetentionFlagsRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"zero", []string{"serve", "--retain-calls", "0"}, nil, `invalid value "0" for flag -retain-calls`},
		{"zero days", []string{"serve", "--retain-sends", "0d"}, nil, `invalid value "0d" for flag -retain-sends`},
		{"negative", []string{"serve", "--retain-access-log", "-30d"}, nil, `invalid value "-30d" for flag -retain-access-log`},
		{"no unit", []string{"serve", "--retain-control-log", "1x"}, nil, `invalid value "1x" for flag -retain-control-log`},
		{"env", []string{"serve"}, map[string]string{"INTERCOMD_RETAIN_CALLS": "1x"}, `INTERCOMD_RETAIN_CALLS="1x"`},
		{"env zero", []string{"serve"}, map[string]string{"INTERCOMD_RETAIN_CONTROL_LOG": "0"}, `INTERCOMD_RETAIN_CONTROL_LOG="0"`},
		{"under an hour", []string{"serve", "--retain-calls", "30m"}, nil, `invalid value "30m" for flag -retain-calls`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, tt.env, io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range []string{tt.want, "want an age such as 90d", "forever to keep everything"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
