package intercom_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"intercom"
)

// FuzzParseIntercomUpdate checks that any JSON object either yields an update
// with at least one field, valid through and through, or an EINVALID error
// whose message summarises its fields — and never panics.
func FuzzParseIntercomUpdate(f *testing.F) {
	for _, s := range []string{`{"title":"x"}`, `{"is_enabled":"true","timetable":{"days":[]}}`, `{}`, `{"title":null}`, `{"title":"a\u0000b"}`,
		`{"title":null,"is_enabled":null,"timetable":null}`,
		`{"is_enabled":false,"timetable":null}`, `{"title":null,"timetable":{"days":[{"type":"monday","from":"00:00:00","to":"23:59:59"}],"intervals":null}}`,
		`{"is_analog_line_available":"0","is_landline_sip_line_available":null}`, `{"is_landline_sip_line_available":2}`,
		`{"title":"  ","is_enabled":1.0,"timetable":{"days":[{"type":"x"}],"intervals":[{}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var body map[string]any
		if dec.Decode(&body) != nil || body == nil {
			return
		}
		u, err := intercom.ParseIntercomUpdate(body)
		if err != nil {
			e, ok := err.(*intercom.Error)
			if !ok || e.Code != intercom.EINVALID || len(e.Fields) == 0 || e.Message == "" {
				t.Fatalf("error %#v", err)
			}
			return
		}
		if u.Title == nil && u.IsEnabled == nil && u.Timetable == nil && u.Analog == nil && u.Landline == nil {
			t.Fatalf("%s accepted with nothing to change", data)
		}
		if u.Title != nil && (*u.Title == "" || len([]rune(*u.Title)) > intercom.MaxTitle || strings.ContainsRune(*u.Title, 0)) {
			t.Fatalf("title %q accepted", *u.Title)
		}
		if u.Timetable != nil && (len(u.Timetable.Days) > intercom.MaxDayWindows || len(u.Timetable.Intervals) > intercom.MaxIntervals) {
			t.Fatal("limits not enforced")
		}
	})
}

func TestValidDeviceUUID(t *testing.T) {
	for s, want := range map[string]bool{"": false, "a": true, "ABC-123_x:y.z": true, "has space": false, "ü": false,
		string(make([]byte, 129)): false, "x/y": false} {
		if got := intercom.ValidDeviceUUID(s); got != want {
			t.Errorf("ValidDeviceUUID(%q) = %v", s, got)
		}
	}
}

// TestParseIntercomUpdateNulls: Android's Gson sends every unset field as
// null; null counts as absent for the three fields and for days/intervals.
func TestParseIntercomUpdateNulls(t *testing.T) {
	f, tr := false, true
	tests := []struct {
		name   string
		body   string
		want   intercom.IntercomUpdate
		errors map[string][]string
	}{
		{"off with a null timetable", `{"is_enabled":false,"timetable":null}`, intercom.IntercomUpdate{IsEnabled: &f}, nil},
		{"days with null intervals", `{"title":null,"is_enabled":true,"timetable":{"days":[{"type":"monday","from":"00:00:00","to":"23:59:59"}],"intervals":null}}`,
			intercom.IntercomUpdate{IsEnabled: &tr, Timetable: &intercom.Timetable{
				Days: []intercom.DayWindow{{Day: intercom.Day(1), From: 0, To: 86400}}}}, nil},
		{"intervals with null days", `{"timetable":{"days":null,"intervals":[]}}`,
			intercom.IntercomUpdate{Timetable: &intercom.Timetable{Intervals: []intercom.Interval{}}}, nil},
		{"all null", `{"title":null,"is_enabled":null,"timetable":null}`, intercom.IntercomUpdate{},
			map[string][]string{"title": {"The title field is required when none of is enabled / timetable are present."}}},
		{"empty title is still invalid", `{"title":"  ","timetable":null}`, intercom.IntercomUpdate{},
			map[string][]string{"title": {"The title field is required."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := json.NewDecoder(bytes.NewReader([]byte(tt.body)))
			dec.UseNumber()
			var body map[string]any
			if err := dec.Decode(&body); err != nil {
				t.Fatal(err)
			}
			got, err := intercom.ParseIntercomUpdate(body)
			if got := fieldErrors(err); !reflect.DeepEqual(got, tt.errors) {
				t.Errorf("errors = %v, want %v", got, tt.errors)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("update = %s, want %s", showUpdate(got), showUpdate(tt.want))
			}
		})
	}
}

func showUpdate(u intercom.IntercomUpdate) string {
	s := "{"
	if u.Title != nil {
		s += " title=" + *u.Title
	}
	if u.IsEnabled != nil {
		s += fmt.Sprintf(" is_enabled=%v", *u.IsEnabled)
	}
	if u.Timetable != nil {
		s += fmt.Sprintf(" timetable=%+v", *u.Timetable)
	}
	return s + " }"
}

func fieldErrors(err error) map[string][]string {
	if err == nil {
		return nil
	}
	e, ok := err.(*intercom.Error)
	if !ok {
		return map[string][]string{"?": {err.Error()}}
	}
	out := map[string][]string{}
	for _, f := range e.Fields {
		out[f.Key] = f.Messages
	}
	return out
}
