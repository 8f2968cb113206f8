package http_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A timetable with a timezone is saved, shown back with it, and decides
// rings by the zone's wall clock across a daylight-saving change; bad zones
// are 422 on timetable.timezone and change nothing.
func TestPatchTimetableTimezone(t *testing.T) {
	f := newFixture(t)
	id, secret := f.provision(`{"address":"Lenina 1","department":7}`)
	aliceID := f.user("alice")
	f.memberOf(id, aliceID, "15", "confirmed")
	// To the night Berlin's clocks go back: 2026-10-25 03:00 CEST is 02:00 CET (01:00Z).
	f.clock.Advance(time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC).Sub(f.clock.Now()))
	zoned := f.loginAs("alice", "alice-zoned", "web")
	fixed := f.loginAs("alice", "alice-fixed", "web")
	f.socket(t, zoned)
	f.socket(t, fixed)
	path := "/api/v1/intercom/" + itoa(id)

	const want = `{"days":[{"to":"02:45:00","from":"02:30:00","type":"sunday"}],"intervals":[],"timezone":"Europe/Berlin"}`
	t.Run("SavedAndEchoed", func(t *testing.T) {
		res := f.want(f.as(zoned, "PATCH", path,
			`{"timetable":{"timezone":"Europe/Berlin","days":[{"type":"sunday","from":"02:30","to":"02:45"}],"intervals":null}}`), 200)
		if diff := cmp.Diff(want, timetableOf(t, res)); diff != "" {
			t.Errorf("PATCH response timetable (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, timetableOf(t, f.want(f.as(zoned, "GET", path, ""), 200))); diff != "" {
			t.Errorf("GET timetable (-want +got):\n%s", diff)
		}
		// The same window at a fixed offset (CET) for comparison, and
		// without a timezone: shown as it always was.
		res = f.want(f.as(fixed, "PATCH", path,
			`{"timetable":{"timezone":null,"days":[{"type":"sunday","from":"02:30+01:00","to":"02:45"}]}}`), 200)
		if diff := cmp.Diff(`{"days":[{"to":"02:45:00+01:00","from":"02:30:00+01:00","type":"sunday"}],"intervals":[]}`, timetableOf(t, res)); diff != "" {
			t.Errorf("timetable without a zone (-want +got):\n%s", diff)
		}
	})

	t.Run("BadZonesChangeNothing", func(t *testing.T) {
		before := f.want(f.as(zoned, "GET", path, ""), 200).Body
		for _, tz := range []string{`"Mars/Olympus"`, `"UTC+3"`, `""`, `"Local"`, `"../../etc/passwd"`, `"` + strings.Repeat("x", 10<<10) + `"`} {
			res := f.want(f.as(zoned, "PATCH", path,
				`{"title":"Renamed","is_enabled":false,"timetable":{"timezone":`+tz+`,"days":[{"type":"monday","from":"08:00","to":"09:00"}]}}`), 422)
			want := map[string][]string{"timetable.timezone": {"The timetable.timezone field must be a valid timezone."}}
			if diff := cmp.Diff(want, errorsOf(t, res)); diff != "" {
				t.Errorf("timezone %.20s: errors (-want +got):\n%s", tz, diff)
			}
			if msg := res.JSON(t)["message"]; msg != "The timetable.timezone field must be a valid timezone." {
				t.Errorf("timezone %.20s: message %q", tz, msg)
			}
		}
		res := f.want(f.as(zoned, "PATCH", path, `{"timetable":{"timezone":1}}`), 422)
		if diff := cmp.Diff(map[string][]string{"timetable.timezone": {"The timetable.timezone field must be a string."}}, errorsOf(t, res)); diff != "" {
			t.Errorf("a number: errors (-want +got):\n%s", diff)
		}
		f.clock.Advance(time.Second)
		if after := f.want(f.as(zoned, "GET", path, ""), 200).Body; string(after) != string(before) {
			t.Errorf("a rejected PATCH changed the intercom:\n%s\n%s", before, after)
		}
	})

	t.Run("RingsByTheZonesClock", func(t *testing.T) {
		// 02:30–02:45 on Sunday happens twice in Berlin that night: the
		// zoned device rings in both, the device at +01:00 in the second.
		for _, tc := range []struct {
			at           time.Time
			zoned, fixed bool
		}{
			{time.Date(2026, 10, 25, 0, 20, 0, 0, time.UTC), false, false}, // 02:20 CEST
			{time.Date(2026, 10, 25, 0, 35, 0, 0, time.UTC), true, false},  // 02:35 CEST
			{time.Date(2026, 10, 25, 1, 20, 0, 0, time.UTC), false, false}, // 02:20 CET
			{time.Date(2026, 10, 25, 1, 35, 0, 0, time.UTC), true, true},   // 02:35 CET
			{time.Date(2026, 10, 25, 1, 50, 0, 0, time.UTC), false, false}, // 02:50 CET
		} {
			f.clock.Advance(tc.at.Sub(f.clock.Now())) // the ring before has timed out
			v := f.want(f.hw(secret, "POST", "/api/hw/v1/ring", `{"flat":15}`), 201).JSON(t)
			got := map[string]string{}
			for _, r := range v["recipients"].([]any) {
				got[r.(map[string]any)["device"].(string)] = "rung"
			}
			for _, s := range v["skipped"].([]any) {
				m := s.(map[string]any)
				got[m["device"].(string)] = m["reason"].(string)
			}
			want := map[string]string{"alice-zoned": "outside_timetable", "alice-fixed": "outside_timetable"}
			if tc.zoned {
				want["alice-zoned"] = "rung"
			}
			if tc.fixed {
				want["alice-fixed"] = "rung"
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ring at %v (-want +got):\n%s", tc.at, diff)
			}
		}
	})
}

func timetableOf(t *testing.T, res *response) string {
	t.Helper()
	var v struct {
		Timetable json.RawMessage `json:"timetable"`
	}
	if err := json.Unmarshal(res.Body, &v); err != nil {
		t.Fatal(err)
	}
	return string(v.Timetable)
}
