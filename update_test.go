package intercom_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"intercom"
)

// FuzzParseIntercomUpdate checks that any JSON object either yields an update
// with at least one field, valid through and through, or an EINVALID error
// whose message summarises its fields — and never panics.
func FuzzParseIntercomUpdate(f *testing.F) {
	for _, s := range []string{`{"title":"x"}`, `{"is_enabled":"true","timetable":{"days":[]}}`, `{}`, `{"title":null}`, `{"title":"a\u0000b"}`,
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
		if u.Title == nil && u.IsEnabled == nil && u.Timetable == nil {
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
