package intercom_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"intercom"
)

// The 2026 transitions the tests cross (local wall clock):
//
//	Europe/Berlin     Sun Mar 29 02:00 CET → 03:00 CEST (01:00Z); Sun Oct 25 03:00 CEST → 02:00 CET (01:00Z)
//	America/New_York  Sun Mar 8 02:00 EST → 03:00 EDT (07:00Z);   Sun Nov 1 02:00 EDT → 01:00 EST (06:00Z)
//	Australia/Sydney  Sun Apr 5 03:00 AEDT → 02:00 AEST (Apr 4 16:00Z); Sun Oct 4 02:00 AEST → 03:00 AEDT (Oct 3 16:00Z)
func TestZonedAdmits(t *testing.T) {
	tests := []struct {
		name      string
		timetable string
		admitted  []string
		refused   []string
	}{
		// Europe/Berlin, spring forward.
		{"Berlin: a window starting in the gap starts when the gap ends",
			`{"timezone":"Europe/Berlin","days":[{"type":"sunday","from":"02:30","to":"04:00"}]}`,
			[]string{"2026-03-29T03:00:00+02:00", "2026-03-29T03:59:59+02:00", "2026-03-22T02:30:00+01:00", "2026-04-05T02:30:00+02:00"},
			[]string{"2026-03-29T01:59:59+01:00", "2026-03-29T04:00:00+02:00", "2026-03-22T02:29:59+01:00"}},
		{"Berlin: a window ending in the gap ends when the gap ends",
			`{"timezone":"Europe/Berlin","days":[{"type":"sunday","from":"01:00","to":"02:30"}]}`,
			[]string{"2026-03-29T01:00:00+01:00", "2026-03-29T01:59:59+01:00"},
			[]string{"2026-03-29T00:59:59+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:29:59+02:00"}},
		{"Berlin: a window wholly in the gap admits nothing that day",
			`{"timezone":"Europe/Berlin","days":[{"type":"sunday","from":"02:15","to":"02:45"}]}`,
			[]string{"2026-03-22T02:15:00+01:00", "2026-04-05T02:44:59+02:00"},
			[]string{"2026-03-29T01:59:59+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:15:00+02:00", "2026-03-29T01:15:00Z"}},
		{"Berlin: overnight window across the spring-forward night",
			`{"timezone":"Europe/Berlin","days":[{"type":"saturday","from":"22:00","to":"06:00"}]}`,
			[]string{"2026-03-28T22:00:00+01:00", "2026-03-29T01:59:59+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T05:59:59+02:00"},
			[]string{"2026-03-28T21:59:59+01:00", "2026-03-29T06:00:00+02:00", "2026-03-29T05:00:00+01:00"}},
		// Europe/Berlin, fall back: 02:00–03:00 happens twice.
		{"Berlin: a window in the repeated hour covers both occurrences",
			`{"timezone":"Europe/Berlin","days":[{"type":"sunday","from":"02:15","to":"02:45"}]}`,
			[]string{"2026-10-25T02:15:00+02:00", "2026-10-25T02:44:59+02:00", "2026-10-25T02:15:00+01:00", "2026-10-25T02:44:59+01:00"},
			[]string{"2026-10-25T02:14:59+02:00", "2026-10-25T02:45:00+02:00", "2026-10-25T02:14:59+01:00", "2026-10-25T02:45:00+01:00"}},
		{"Berlin: a window ending in the repeated hour ends there each time",
			`{"timezone":"Europe/Berlin","days":[{"type":"sunday","from":"01:00","to":"02:30"}]}`,
			[]string{"2026-10-25T01:00:00+02:00", "2026-10-25T02:29:59+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:29:59+01:00"},
			[]string{"2026-10-25T00:59:59+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:59:59+02:00", "2026-10-25T02:30:00+01:00"}},
		{"Berlin: a window starting in the repeated hour starts there each time",
			`{"timezone":"Europe/Berlin","days":[{"type":"sunday","from":"02:30","to":"04:00"}]}`,
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-25T02:59:59+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T03:59:59+01:00"},
			[]string{"2026-10-25T02:29:59+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:29:59+01:00", "2026-10-25T04:00:00+01:00"}},
		{"Berlin: overnight window across the fall-back night",
			`{"timezone":"Europe/Berlin","days":[{"type":"saturday","from":"22:00","to":"06:00"}]}`,
			[]string{"2026-10-24T22:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T05:59:59+01:00"},
			[]string{"2026-10-24T21:59:59+02:00", "2026-10-25T06:00:00+01:00", "2026-10-25T07:00:00+02:00"}},
		{"Berlin: same_every_day keeps its wall-clock hour on both sides of a transition",
			`{"timezone":"Europe/Berlin","days":[{"type":"same_every_day","from":"08:00","to":"09:00"}]}`,
			[]string{"2026-03-28T07:00:00Z", "2026-03-30T06:00:00Z", "2026-10-24T06:59:59Z", "2026-10-26T07:00:00Z"},
			[]string{"2026-03-28T06:59:59Z", "2026-03-30T07:00:00Z", "2026-10-24T07:00:00Z", "2026-10-26T06:59:59Z"}},
		{"Berlin: a window's own offset wins over the zone",
			`{"timezone":"Europe/Berlin","days":[{"type":"monday","from":"08:00+01:00","to":"09:00"}]}`,
			[]string{"2026-03-30T07:00:00Z", "2026-03-30T09:30:00+02:00"},
			[]string{"2026-03-30T06:00:00Z", "2026-03-30T08:00:00+02:00"}},
		{"Berlin: an interval starting in the gap starts when the gap ends",
			`{"timezone":"Europe/Berlin","intervals":[{"from":"2026-03-29T02:30","to":"2026-03-29T05:00:00"}]}`,
			[]string{"2026-03-29T03:00:00+02:00", "2026-03-29T04:59:59+02:00"},
			[]string{"2026-03-29T01:59:59+01:00", "2026-03-29T05:00:00+02:00"}},
		{"Berlin: an interval ending in the gap ends when the gap ends",
			`{"timezone":"Europe/Berlin","intervals":[{"from":"2026-03-29T00:00","to":"2026-03-29T02:30"}]}`,
			[]string{"2026-03-29T00:00:00+01:00", "2026-03-29T01:59:59+01:00"},
			[]string{"2026-03-28T23:59:59+01:00", "2026-03-29T03:00:00+02:00"}},
		{"Berlin: an interval in the repeated hour covers both occurrences",
			`{"timezone":"Europe/Berlin","intervals":[{"from":"2026-10-25T02:30:00","to":"2026-10-25T02:45:00"}]}`,
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-25T02:44:59+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T02:44:59+01:00"},
			[]string{"2026-10-25T02:29:59+02:00", "2026-10-25T02:45:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:45:00+01:00"}},
		{"Berlin: an interval with one end's offset and one in the zone",
			`{"timezone":"Europe/Berlin","intervals":[{"from":"2026-10-25T00:00:00+02:00","to":"2026-10-25T02:30:00"}]}`,
			[]string{"2026-10-25T00:00:00+02:00", "2026-10-25T02:29:59+02:00", "2026-10-25T02:00:00+01:00"},
			[]string{"2026-10-24T23:59:59+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"}},
		// America/New_York.
		{"New York: a window starting in the gap starts when the gap ends",
			`{"timezone":"America/New_York","days":[{"type":"sunday","from":"02:30","to":"03:30"}]}`,
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-08T03:29:59-04:00", "2026-03-01T02:30:00-05:00"},
			[]string{"2026-03-08T01:59:59-05:00", "2026-03-08T03:30:00-04:00", "2026-03-01T02:29:59-05:00"}},
		{"New York: a window in the repeated hour covers both occurrences",
			`{"timezone":"America/New_York","days":[{"type":"sunday","from":"01:30","to":"02:00"}]}`,
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-01T01:59:59-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T01:59:59-05:00"},
			[]string{"2026-11-01T01:29:59-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"New York: overnight window across the fall-back night",
			`{"timezone":"America/New_York","days":[{"type":"saturday","from":"23:00","to":"01:30"}]}`,
			[]string{"2026-10-31T23:00:00-04:00", "2026-11-01T01:29:59-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:29:59-05:00"},
			[]string{"2026-10-31T22:59:59-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"}},
		{"New York: overnight window across the spring-forward night",
			`{"timezone":"America/New_York","days":[{"type":"saturday","from":"23:00","to":"02:30"}]}`,
			[]string{"2026-03-07T23:00:00-05:00", "2026-03-08T01:59:59-05:00"},
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-07T22:59:59-05:00"}},
		{"New York: same_every_day in the gap skips that night only",
			`{"timezone":"America/New_York","days":[{"type":"same_every_day","from":"02:30","to":"02:45"}]}`,
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00", "2026-11-01T02:30:00-05:00"},
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-08T01:59:59-05:00", "2026-03-08T02:30:00-04:00"}},
		{"New York: an interval in the repeated hour covers both occurrences",
			`{"timezone":"America/New_York","intervals":[{"from":"2026-11-01T01:15","to":"2026-11-01T01:45"}]}`,
			[]string{"2026-11-01T01:15:00-04:00", "2026-11-01T01:44:59-04:00", "2026-11-01T01:15:00-05:00", "2026-11-01T01:44:59-05:00"},
			[]string{"2026-11-01T01:14:59-04:00", "2026-11-01T01:45:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:45:00-05:00"}},
		// Australia/Sydney: fall back in April, spring forward in October.
		{"Sydney: a window on the repeated hour covers both occurrences",
			`{"timezone":"Australia/Sydney","days":[{"type":"sunday","from":"02:00","to":"03:00"}]}`,
			[]string{"2026-04-05T02:00:00+11:00", "2026-04-05T02:59:59+11:00", "2026-04-05T02:00:00+10:00", "2026-04-05T02:59:59+10:00"},
			[]string{"2026-04-05T01:59:59+11:00", "2026-04-05T03:00:00+10:00"}},
		{"Sydney: a window on the skipped hour admits nothing that day",
			`{"timezone":"Australia/Sydney","days":[{"type":"sunday","from":"02:00","to":"03:00"}]}`,
			[]string{"2026-09-27T02:30:00+10:00", "2026-10-11T02:30:00+11:00"},
			[]string{"2026-10-04T01:59:59+10:00", "2026-10-04T03:00:00+11:00", "2026-10-04T02:30:00+11:00"}},
		{"Sydney: overnight window across the spring-forward night",
			`{"timezone":"Australia/Sydney","days":[{"type":"saturday","from":"22:00","to":"07:00"}]}`,
			[]string{"2026-10-03T22:00:00+10:00", "2026-10-04T01:59:59+10:00", "2026-10-04T03:00:00+11:00", "2026-10-04T06:59:59+11:00"},
			[]string{"2026-10-03T21:59:59+10:00", "2026-10-04T07:00:00+11:00"}},
		{"Sydney: overnight window across the fall-back night",
			`{"timezone":"Australia/Sydney","days":[{"type":"saturday","from":"22:00","to":"07:00"}]}`,
			[]string{"2026-04-04T22:00:00+11:00", "2026-04-05T02:30:00+11:00", "2026-04-05T02:30:00+10:00", "2026-04-05T06:59:59+10:00"},
			[]string{"2026-04-04T21:59:59+11:00", "2026-04-05T07:00:00+10:00"}},
		{"Sydney: an interval starting in the gap starts when the gap ends",
			`{"timezone":"Australia/Sydney","intervals":[{"from":"2026-10-04T02:30","to":"2026-10-04T03:30"}]}`,
			[]string{"2026-10-04T03:00:00+11:00", "2026-10-04T03:29:59+11:00"},
			[]string{"2026-10-04T01:59:59+10:00", "2026-10-04T03:30:00+11:00"}},
		{"Sydney: days and intervals in the zone, either admits",
			`{"timezone":"Australia/Sydney","days":[{"type":"monday","from":"09:00","to":"17:00"}],
			  "intervals":[{"from":"2026-04-04T12:00","to":"2026-04-05T12:00"}]}`,
			[]string{"2026-04-06T09:00:00+10:00", "2026-04-05T11:59:59+10:00", "2026-04-04T12:00:00+11:00"},
			[]string{"2026-04-06T08:59:59+10:00", "2026-04-05T12:00:00+10:00", "2026-04-04T11:59:59+11:00"}},
		{"a zone alone restricts nothing",
			`{"timezone":"Australia/Sydney","days":[],"intervals":null}`,
			[]string{"2026-04-05T02:30:00+10:00", "1970-01-01T00:00:00Z"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := mustTimetable(t, tt.timetable)
			check := func(s string, want bool) {
				t.Helper()
				if got := table.Admits(at(s)); got != want {
					t.Errorf("Admits(%s) = %v, want %v", s, got, want)
				}
				if got := table.Admits(at(s).In(time.FixedZone("x", -7*3600))); got != want {
					t.Errorf("Admits(%s) depends on the instant's location", s)
				}
				if got := refAdmits(t, table, at(s)); got != want {
					t.Errorf("the reference says %v at %s: the test is wrong", got, s)
				}
			}
			for _, s := range tt.admitted {
				check(s, true)
			}
			for _, s := range tt.refused {
				check(s, false)
			}
		})
	}
}

func TestZonedNormalizes(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"zoned days and intervals are shown without an offset, the zone last",
			`{"timezone":"Europe/Berlin","intervals":[{"from":"2026-03-29T02:30","to":"2026-10-25T02:30:00.5"}],
			  "days":[{"type":"sunday","from":"02:30","to":"23:59"}]}`,
			`{"days":[{"to":"23:59:59","from":"02:30:00","type":"sunday"}],"intervals":[{"from":"2026-03-29T02:30:00","to":"2026-10-25T02:30:00"}],"timezone":"Europe/Berlin"}`},
		{"an offset in a zoned timetable is kept",
			`{"timezone":"America/New_York","days":[{"type":"monday","from":"09:00","to":"17:00-05:00"},{"type":"monday","from":"20:00","to":"21:00"}],
			  "intervals":[{"from":"2026-11-01T00:00:00Z","to":"2026-11-01T01:30"}]}`,
			`{"days":[{"to":"17:00:00-05:00","from":"09:00:00-05:00","type":"monday"},{"to":"21:00:00","from":"20:00:00","type":"monday"}],"intervals":[{"from":"2026-11-01T00:00:00+00:00","to":"2026-11-01T01:30:00"}],"timezone":"America/New_York"}`},
		{"a zone alone", `{"timezone":"Etc/GMT+3"}`, `{"days":[],"intervals":[],"timezone":"Etc/GMT+3"}`},
		{"null timezone is absent", `{"timezone":null,"days":[{"type":"monday","from":"10:00","to":"11:00"}]}`,
			`{"days":[{"to":"11:00:00+00:00","from":"10:00:00+00:00","type":"monday"}],"intervals":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parsed := mustTimetable(t, tt.in)
			got, err := json.Marshal(parsed)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("normalized (-want +got):\n%s", diff)
			}
			again := mustTimetable(t, string(got))
			if diff := cmp.Diff(parsed, again, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("the normalized form parses differently (-first +again):\n%s", diff)
			}
			bin, err := parsed.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var fromBin intercom.Timetable
			if err := fromBin.UnmarshalBinary(bin); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(parsed, fromBin, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("binary round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTimezoneValidation(t *testing.T) {
	invalid := func(k string) []string { return []string{"The " + k + " field must be a valid timezone."} }
	tests := []struct {
		name string
		in   string
		want map[string][]string
	}{
		{"unknown zone", `{"timezone":"Mars/Olympus"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"an offset is not a zone", `{"timezone":"UTC+3"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"empty", `{"timezone":""}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"10 KB", `{"timezone":"Europe/` + strings.Repeat("B", 10<<10) + `"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"the host's zone", `{"timezone":"Local"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"a path", `{"timezone":"../../etc/passwd"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"an absolute path", `{"timezone":"/usr/share/zoneinfo/Europe/Berlin"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"a path inside the zones", `{"timezone":"Europe/../Europe/Berlin"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"a file beside the zones", `{"timezone":"localtime"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"the leap-second variant", `{"timezone":"right/Europe/Berlin"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"wrong case", `{"timezone":"europe/berlin"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"padded", `{"timezone":" Europe/Berlin"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"trailing slash", `{"timezone":"Europe/"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"NUL", `{"timezone":"Europe/Berlin\u0000"}`, map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"not a string", `{"timezone":3}`, map[string][]string{"timetable.timezone": {"The timetable.timezone field must be a string."}}},
		{"an object", `{"timezone":{"name":"Europe/Berlin"}}`, map[string][]string{"timetable.timezone": {"The timetable.timezone field must be a string."}}},
		{"a refused zone is the only problem of times without an offset",
			`{"timezone":"Mars/Olympus","days":[{"type":"monday","from":"10:00","to":"11:00"}],"intervals":[{"from":"2026-01-01T00:00","to":"2026-01-02T00:00"}]}`,
			map[string][]string{"timetable.timezone": invalid("timetable.timezone")}},
		{"a zoned interval backwards",
			`{"timezone":"Europe/Berlin","intervals":[{"from":"2026-10-25T02:30","to":"2026-10-25T02:30:00"},{"from":"2026-10-25T02:30:00+01:00","to":"2026-10-25T02:30"}]}`,
			map[string][]string{
				"timetable.intervals.0.to": {"The timetable.intervals.0.to field must be a date after timetable.intervals.0.from."},
				"timetable.intervals.1.to": {"The timetable.intervals.1.to field must be a date after timetable.intervals.1.from."}}},
		{"without a zone, an interval still needs its offset",
			`{"intervals":[{"from":"2026-01-01T00:00","to":"2026-01-02T00:00Z"}]}`,
			map[string][]string{"timetable.intervals.0.from": {"The timetable.intervals.0.from field must include a UTC offset."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p intercom.Problems
			intercom.ParseTimetable(decode(t, tt.in), "timetable", &p)
			err, _ := p.Err().(*intercom.Error)
			if err == nil {
				t.Fatal("accepted")
			}
			got := map[string][]string{}
			for _, f := range err.Fields {
				got[f.Key] = f.Messages
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	// Accepted: canonical names, links and the Etc zones.
	for _, name := range []string{"UTC", "Etc/UTC", "Etc/GMT+3", "America/Argentina/Buenos_Aires", "US/Eastern", "Asia/Kolkata"} {
		mustTimetable(t, `{"timezone":"`+name+`"}`)
	}
}

// TestZoneIsLoadedOnce checks that every timetable in a zone shares it, so
// that equality holds and the zone's table is built once.
func TestZoneIsLoadedOnce(t *testing.T) {
	a, ok1 := intercom.LoadZone("Europe/Berlin")
	b, ok2 := intercom.LoadZone("Europe/Berlin")
	if !ok1 || !ok2 || a != b || a.String() != "Europe/Berlin" {
		t.Fatalf("LoadZone: %p %v, %p %v", a, ok1, b, ok2)
	}
}

func TestZonedTimetableBinaryRejectsGarbage(t *testing.T) {
	good, err := mustTimetable(t, `{"timezone":"Europe/Berlin","days":[{"type":"monday","from":"10:00","to":"11:00"}],
		"intervals":[{"from":"2026-01-01T00:00","to":"2026-01-02T00:00Z"}]}`).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(good); i++ {
		var tt intercom.Timetable
		if tt.UnmarshalBinary(good[:i]) == nil {
			t.Errorf("truncated encoding %x accepted", good[:i])
		}
	}
	var tt intercom.Timetable
	for _, bad := range [][]byte{
		append(append([]byte{}, good...), 0),
		append([]byte{2, 5}, "Local\x00\x00"...),
		append([]byte{2, 12}, "Mars/Olympus\x00\x00"...),
		{1, 1, 0x80 | 1, 2, 4, 0, 0},                               // a zoned window without a zone
		append([]byte{2, 3}, "UTC\x01\x81\x02\x04\x02\x00"...),     // a zoned window with an offset
		append([]byte{2, 3}, "UTC\x00\x01\x04\x02\x04\x00\x00"...), // interval flags out of range
	} {
		if tt.UnmarshalBinary(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// A timetable without a zone keeps the encoding it always had.
	old, _ := mustTimetable(t, `{"days":[{"type":"monday","from":"10:00Z","to":"11:00Z"}]}`).MarshalBinary()
	if old[0] != 1 {
		t.Errorf("encoding without a zone starts with %d", old[0])
	}
}

func TestAdmitsDoesNotAllocate(t *testing.T) {
	for _, s := range []string{
		`{"days":[{"type":"monday","from":"22:00+05:00","to":"06:00+05:00"}],"intervals":[{"from":"2000-02-12T10:00:00+01:00","to":"2000-12-01T09:00:00+01:00"}]}`,
		`{"timezone":"Europe/Berlin","days":[{"type":"monday","from":"22:00","to":"06:00"}],"intervals":[{"from":"2026-10-25T02:30","to":"2026-10-25T02:45"}]}`,
	} {
		tt := mustTimetable(t, s)
		for _, instant := range []time.Time{at("2026-10-25T01:30:00Z"), at("1850-01-01T00:00:00Z"), at("2300-06-01T00:00:00Z")} {
			if n := testing.AllocsPerRun(100, func() { tt.Admits(instant) }); n != 0 {
				t.Errorf("Admits(%v) under %s: %v allocations", instant, s, n)
			}
		}
	}
}

func BenchmarkAdmitsZoned(b *testing.B) {
	var days []string
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		days = append(days, `{"type":"`+d+`","from":"22:00","to":"06:00"}`)
	}
	ivs := `{"from":"2000-02-12T10:00:00","to":"2000-12-01T09:00:00"}`
	tt := mustTimetable(b, `{"timezone":"Europe/Berlin","days":[`+strings.Join(days, ",")+`],"intervals":[`+strings.Repeat(ivs+",", 3)+ivs+`]}`)
	now := at("2024-01-03T12:00:00Z") // admitted by none: every window and interval is tried
	b.ReportAllocs()
	for b.Loop() {
		if tt.Admits(now) {
			b.Fatal("admitted")
		}
	}
}

var refZones sync.Map // name → *time.Location

// refAdmits is Admits done slowly: each clock read with time.Time.In, the
// weekday from the time package.
func refAdmits(t testing.TB, tt intercom.Timetable, at time.Time) bool {
	t.Helper()
	if tt.IsEmpty() {
		return true
	}
	zone := time.UTC
	if tt.Zone != nil {
		if l, ok := refZones.Load(tt.Zone.String()); ok {
			zone = l.(*time.Location)
		} else {
			l, err := time.LoadLocation(tt.Zone.String())
			if err != nil {
				t.Fatal(err)
			}
			refZones.Store(tt.Zone.String(), l)
			zone = l
		}
	}
	read := func(loc *time.Location) (time.Weekday, int32, int64) {
		c := at.In(loc)
		wall := time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), c.Second(), 0, time.UTC).Unix()
		return c.Weekday(), int32(c.Hour()*3600 + c.Minute()*60 + c.Second()), wall
	}
	for _, iv := range tt.Intervals {
		_, _, wall := read(zone)
		from, to := at.Unix(), at.Unix()
		if iv.FromZoned {
			from = wall
		}
		if iv.ToZoned {
			to = wall
		}
		if from >= iv.From && to < iv.To {
			return true
		}
	}
	for _, w := range tt.Days {
		loc := time.FixedZone("", int(w.Offset))
		if w.Zoned {
			loc = zone
		}
		wd, sod, _ := read(loc)
		on := func(d time.Weekday) bool { return w.Day == intercom.EveryDay || int(w.Day) == int(d) }
		if w.From < w.To {
			if sod >= w.From && sod < w.To && on(wd) {
				return true
			}
		} else if (sod >= w.From && on(wd)) || (sod < w.To && on((wd+6)%7)) {
			return true
		}
	}
	return false
}

// FuzzTimetableTimezone checks that a timetable with a timezone never panics
// the parser, that what is accepted re-marshals (in JSON and in binary) to
// what parses the same, and that Admits agrees with refAdmits on random
// instants and on every transition of 2026 in the zone.
func FuzzTimetableTimezone(f *testing.F) {
	for _, s := range []string{
		`{"timezone":"Europe/Berlin","days":[{"type":"sunday","from":"02:30","to":"04:00"},{"type":"saturday","from":"22:00","to":"06:00"}]}`,
		`{"timezone":"America/New_York","days":[{"type":"same_every_day","from":"01:30","to":"02:00"}],"intervals":[{"from":"2026-11-01T01:15","to":"2026-11-01T01:45"}]}`,
		`{"timezone":"Australia/Sydney","days":[{"type":"sunday","from":"02:00","to":"03:00+10:00"}],"intervals":[{"from":"2026-10-04T02:30","to":"2026-10-04T03:30+11:00"}]}`,
		`{"timezone":"Asia/Kolkata","days":[{"type":"friday","from":"23:59:59","to":"23:59"}]}`,
		`{"timezone":"Etc/GMT-14","intervals":[{"from":"0000-01-01T00:00","to":"9999-12-31T23:59:59.999999999"}]}`,
		`{"timezone":"Mars/Olympus","days":[{"type":"monday","from":"10:00","to":"11:00"}]}`,
		`{"timezone":"UTC+3"}`,
		`{"timezone":""}`,
		`{"timezone":"Local"}`,
		`{"timezone":null,"days":[]}`,
	} {
		f.Add([]byte(s), uint64(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		var p intercom.Problems
		tt := intercom.ParseTimetable(v, "timetable", &p)
		if p.Err() != nil {
			return
		}
		norm, err := json.Marshal(tt)
		if err != nil {
			t.Fatal(err)
		}
		var again intercom.Timetable
		if err := json.Unmarshal(norm, &again); err != nil {
			t.Fatalf("normalized form %s rejected: %v", norm, err)
		}
		if diff := cmp.Diff(tt, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%s parses differently (-first +again):\n%s", norm, diff)
		}
		bin, err := tt.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var fromBin intercom.Timetable
		if err := fromBin.UnmarshalBinary(bin); err != nil {
			t.Fatalf("binary form of %s rejected: %v", norm, err)
		}
		if diff := cmp.Diff(tt, fromBin, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("binary round trip of %s (-want +got):\n%s", norm, diff)
		}
		r := rand.New(rand.NewPCG(seed, seed>>7))
		var probes []time.Time
		for range 64 {
			probes = append(probes, time.Unix(r.Int64N(9e9)-3e9, r.Int64N(1e9))) // 1875–2255
		}
		if tt.Zone != nil {
			loc, err := time.LoadLocation(tt.Zone.String())
			if err != nil {
				t.Fatal(err)
			}
			for c := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); c.Year() == 2026; {
				_, end := c.ZoneBounds()
				if end.IsZero() {
					break
				}
				for _, d := range []time.Duration{-time.Hour, -time.Second, 0, time.Second, 30 * time.Minute, time.Hour} {
					probes = append(probes, end.Add(d))
				}
				c = end
			}
		}
		for _, w := range tt.Days {
			probes = append(probes, time.Unix(1774742400+int64(w.From), 0), time.Unix(1774742400+int64(w.To)-1, 0)) // around 2026-03-29
		}
		for _, iv := range tt.Intervals {
			probes = append(probes, time.Unix(iv.From, 0), time.Unix(iv.To-1, 0), time.Unix(iv.From-3600, 0), time.Unix(iv.To+3600, 0))
		}
		for _, at := range probes {
			if got, want := tt.Admits(at), refAdmits(t, tt, at); got != want {
				t.Fatalf("%s: Admits(%v) = %v, the reference says %v", norm, at, got, want)
			}
			if fromBin.Admits(at) != tt.Admits(at) {
				t.Fatalf("%s: Admits(%v) differs after the binary round trip", norm, at)
			}
		}
	})
}
