package intercom_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"intercom"
)

func decode(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func mustTimetable(t testing.TB, s string) intercom.Timetable {
	t.Helper()
	var p intercom.Problems
	tt := intercom.ParseTimetable(decode(t, s), "timetable", &p)
	if err := p.Err(); err != nil {
		t.Fatalf("ParseTimetable(%s): %v %+v", s, err, err.(*intercom.Error).Fields)
	}
	return tt
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAdmits(t *testing.T) {
	// 2024-01-01 was a Monday.
	tests := []struct {
		name      string
		timetable string
		admitted  []string
		refused   []string
	}{
		{"empty admits everything", `{"days":[],"intervals":[]}`,
			[]string{"2024-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2099-12-31T23:59:59Z"}, nil},
		{"missing keys mean empty", `{"days":[]}`, []string{"2024-01-03T12:00:00Z"}, nil},
		{"day window is half-open in its offset", `{"days":[{"type":"monday","from":"10:00+01:00","to":"18:00+01:00"}]}`,
			[]string{"2024-01-01T09:00:00Z", "2024-01-01T16:59:59Z", "2024-01-08T12:00:00Z"},
			[]string{"2024-01-01T08:59:59Z", "2024-01-01T17:00:00Z", "2024-01-02T12:00:00Z", "2023-12-31T12:00:00Z"}},
		{"negative half-hour offset", `{"days":[{"type":"monday","from":"22:00-03:30","to":"23:59-03:30"}]}`,
			[]string{"2024-01-02T01:30:00Z", "2024-01-02T03:29:59Z"},
			[]string{"2024-01-02T01:29:59Z", "2024-01-02T03:30:00Z", "2024-01-01T01:30:00Z"}},
		{"Z offset", `{"days":[{"type":"sunday","from":"00:00Z","to":"01:00:00Z"}]}`,
			[]string{"2023-12-31T00:00:00Z", "2023-12-31T00:59:59Z"}, []string{"2023-12-31T01:00:00Z", "2024-01-01T00:30:00Z"}},
		{"weekday is taken in the window's offset", `{"days":[{"type":"monday","from":"00:00+05:00","to":"02:00+05:00"}]}`,
			[]string{"2023-12-31T20:00:00Z"}, []string{"2024-01-01T20:00:00Z"}},
		{"overnight window crosses midnight", `{"days":[{"type":"friday","from":"22:00:00+00:00","to":"06:00:00+00:00"}]}`,
			[]string{"2024-01-05T22:00:00Z", "2024-01-05T23:59:59Z", "2024-01-06T00:00:00Z", "2024-01-06T05:59:59Z"},
			[]string{"2024-01-05T21:59:59Z", "2024-01-06T06:00:00Z", "2024-01-06T23:00:00Z", "2024-01-04T23:00:00Z", "2024-01-05T03:00:00Z"}},
		{"same_every_day", `{"days":[{"type":"same_every_day","from":"08:00+05:00","to":"09:00+05:00"}]}`,
			[]string{"2024-01-01T03:00:00Z", "2024-01-04T03:59:59Z", "2024-01-07T03:30:00Z"},
			[]string{"2024-01-01T04:00:00Z", "2024-01-03T02:59:59Z"}},
		{"end of day as 23:59", `{"days":[{"type":"tuesday","from":"00:00+00:00","to":"23:59+00:00"}]}`,
			[]string{"2024-01-02T23:59:30Z", "2024-01-02T00:00:00Z"}, []string{"2024-01-03T00:00:00Z", "2024-01-01T23:59:59Z"}},
		{"end of day as 23:59:59", `{"days":[{"type":"tuesday","from":"12:00+00:00","to":"23:59:59+00:00"}]}`,
			[]string{"2024-01-02T23:59:59.999Z"}, []string{"2024-01-03T00:00:00Z"}},
		{"offset taken from the other end", `{"days":[{"type":"monday","from":"10:00","to":"18:00+03:00"}]}`,
			[]string{"2024-01-01T07:00:00Z"}, []string{"2024-01-01T06:59:59Z", "2024-01-01T15:00:00Z"}},
		{"no offset at either end is UTC", `{"days":[{"type":"monday","from":"10:00","to":"11:00:00"}]}`,
			[]string{"2024-01-01T10:00:00Z", "2024-01-01T10:59:59Z"}, []string{"2024-01-01T09:59:59Z", "2024-01-01T11:00:00Z"}},
		{"Android's whole day in UTC", `{"days":[{"type":"monday","from":"00:00:00","to":"23:59:59"}]}`,
			[]string{"2024-01-01T00:00:00Z", "2024-01-01T23:59:59Z"}, []string{"2023-12-31T23:59:59Z", "2024-01-02T00:00:00Z"}},
		{"null days and intervals are absent", `{"days":null,"intervals":null}`, []string{"2024-01-03T12:00:00Z"}, nil},
		{"interval is half-open", `{"intervals":[{"from":"2000-02-12T10:00:00+01:00","to":"2000-12-01T09:00:00+01:00"}]}`,
			[]string{"2000-02-12T09:00:00Z", "2000-12-01T07:59:59Z"}, []string{"2000-02-12T08:59:59Z", "2000-12-01T08:00:00Z"}},
		{"interval without seconds, with fraction", `{"intervals":[{"from":"2024-03-01T10:00Z","to":"2024-03-01T11:00:00.750Z"}]}`,
			[]string{"2024-03-01T10:00:00Z", "2024-03-01T10:59:59.999Z"}, []string{"2024-03-01T11:00:00Z"}},
		{"days and intervals: either admits", `{"days":[{"type":"monday","from":"10:00Z","to":"11:00Z"}],
			"intervals":[{"from":"2024-01-02T10:00:00Z","to":"2024-01-02T11:00:00Z"}]}`,
			[]string{"2024-01-01T10:30:00Z", "2024-01-02T10:30:00Z"}, []string{"2024-01-03T10:30:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := mustTimetable(t, tt.timetable)
			for _, s := range tt.admitted {
				if !table.Admits(at(s)) {
					t.Errorf("Admits(%s) = false, want true", s)
				}
				if !table.Admits(at(s).In(time.FixedZone("x", 7*3600))) {
					t.Errorf("Admits(%s) depends on the instant's location", s)
				}
			}
			for _, s := range tt.refused {
				if table.Admits(at(s)) {
					t.Errorf("Admits(%s) = true, want false", s)
				}
			}
		})
	}
}

func TestTimetableNormalizes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"days":[{"type":"monday","from":"10:00+01:00","to":"18:00+01:00"}]}`,
			`{"days":[{"to":"18:00:00+01:00","from":"10:00:00+01:00","type":"monday"}],"intervals":[]}`},
		{`{"days":[{"type":"tuesday","from":"00:00:00Z","to":"23:59"}]}`,
			`{"days":[{"to":"23:59:59+00:00","from":"00:00:00+00:00","type":"tuesday"}],"intervals":[]}`},
		{`{"days":[{"type":"same_every_day","from":"21:30","to":"07:15:30-03:30"}]}`,
			`{"days":[{"to":"07:15:30-03:30","from":"21:30:00-03:30","type":"same_every_day"}],"intervals":[]}`},
		{`{"days":[{"type":"monday","from":"00:00:00","to":"23:59:59"}],"intervals":null}`,
			`{"days":[{"to":"23:59:59+00:00","from":"00:00:00+00:00","type":"monday"}],"intervals":[]}`},
		{`{"intervals":[{"from":"2000-02-12T10:00+01:00","to":"2000-12-01t09:00:00.5-03:30"}]}`,
			`{"days":[],"intervals":[{"from":"2000-02-12T10:00:00+01:00","to":"2000-12-01T09:00:00-03:30"}]}`},
		{`{"intervals":[{"from":"2024-02-29T23:00:00Z","to":"2024-03-01T01:00:00+00:00"}]}`,
			`{"days":[],"intervals":[{"from":"2024-02-29T23:00:00+00:00","to":"2024-03-01T01:00:00+00:00"}]}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(mustTimetable(t, tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("normalize %s\n got %s (%v)\nwant %s", tt.in, got, err, tt.want)
		}
		if again, _ := json.Marshal(mustTimetable(t, string(got))); !bytes.Equal(again, got) {
			t.Errorf("normalized form does not re-normalize to itself: %s → %s", got, again)
		}
	}
}

func TestTimetableValidation(t *testing.T) {
	many := func(n int, item string) string { return strings.TrimSuffix(strings.Repeat(item+",", n), ",") }
	day := `{"type":"monday","from":"10:00Z","to":"11:00Z"}`
	iv := `{"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"}`
	tests := []struct {
		name string
		in   string
		want map[string][]string
	}{
		{"not an object", `"always"`, map[string][]string{"timetable": {"The timetable field must be an array."}}},
		{"days not an array", `{"days":{"type":"monday"}}`, map[string][]string{"timetable.days": {"The timetable.days field must be an array."}}},
		{"intervals a string", `{"intervals":"none"}`, map[string][]string{"timetable.intervals": {"The timetable.intervals field must be an array."}}},
		{"seed's placeholder type", `{"days":[{"type":"monday|tuesday|wednesday|thursday|friday|saturday|sunday|same_every_day","from":"10:00+01:00","to":"18:00+01:00"}]}`,
			map[string][]string{"timetable.days.0.type": {"The selected timetable.days.0.type is invalid."}}},
		{"type wrong case and type", `{"days":[{"type":"Monday","from":"10:00Z","to":"11:00Z"},{"type":1,"from":"10:00Z","to":"11:00Z"}]}`,
			map[string][]string{"timetable.days.0.type": {"The selected timetable.days.0.type is invalid."},
				"timetable.days.1.type": {"The selected timetable.days.1.type is invalid."}}},
		{"missing fields", `{"days":[{}]}`, map[string][]string{
			"timetable.days.0.type": {"The timetable.days.0.type field is required."},
			"timetable.days.0.from": {"The timetable.days.0.from field is required."},
			"timetable.days.0.to":   {"The timetable.days.0.to field is required."}}},
		{"day item not an object", `{"days":["monday"]}`, map[string][]string{"timetable.days.0": {"The timetable.days.0 field must be an array."}}},
		{"bad times", `{"days":[{"type":"monday","from":"24:00Z","to":"10:60Z"},{"type":"monday","from":10,"to":"9:00Z"}]}`, map[string][]string{
			"timetable.days.0.from": {"The timetable.days.0.from field must be a time in the format HH:MM[:SS]±HH:MM."},
			"timetable.days.0.to":   {"The timetable.days.0.to field must be a time in the format HH:MM[:SS]±HH:MM."},
			"timetable.days.1.from": {"The timetable.days.1.from field must be a string."},
			"timetable.days.1.to":   {"The timetable.days.1.to field must be a time in the format HH:MM[:SS]±HH:MM."}}},
		{"bad offsets", `{"days":[{"type":"monday","from":"10:00+19:00","to":"11:00+01:60"}]}`, map[string][]string{
			"timetable.days.0.from": {"The timetable.days.0.from field must be a time in the format HH:MM[:SS]±HH:MM."},
			"timetable.days.0.to":   {"The timetable.days.0.to field must be a time in the format HH:MM[:SS]±HH:MM."}}},
		{"different offsets", `{"days":[{"type":"monday","from":"10:00+01:00","to":"11:00+02:00"}]}`, map[string][]string{
			"timetable.days.0.to": {"The timetable.days.0.to field must have the same UTC offset as timetable.days.0.from."}}},
		{"to equals from", `{"days":[{"type":"monday","from":"10:00+01:00","to":"10:00:00+01:00"}]}`, map[string][]string{
			"timetable.days.0.to": {"The timetable.days.0.to field and timetable.days.0.from must be different."}}},
		{"seed's malformed interval", `{"intervals":[{"from":"2000-02-12T10:00:00+01:00","to":"2000-12-01T09:00:00+01:00"},
			{"from":"2001-02-12T10:00:00:00+01:00","to":"2001-12-01T09:00:00:00+01:00"}]}`, map[string][]string{
			"timetable.intervals.1.from": {"The timetable.intervals.1.from field must be a valid date."},
			"timetable.intervals.1.to":   {"The timetable.intervals.1.to field must be a valid date."}}},
		{"impossible dates", `{"intervals":[{"from":"2023-02-29T10:00:00Z","to":"2023-13-01T00:00:00Z"}]}`, map[string][]string{
			"timetable.intervals.0.from": {"The timetable.intervals.0.from field must be a valid date."},
			"timetable.intervals.0.to":   {"The timetable.intervals.0.to field must be a valid date."}}},
		{"interval without offset", `{"intervals":[{"from":"2024-01-01T10:00:00","to":"2024-01-02T10:00:00Z"}]}`, map[string][]string{
			"timetable.intervals.0.from": {"The timetable.intervals.0.from field must include a UTC offset."}}},
		{"interval backwards or empty", `{"intervals":[{"from":"2024-01-02T10:00:00Z","to":"2024-01-01T10:00:00Z"},{"from":"2024-01-02T10:00:00Z","to":"2024-01-02T11:00:00+01:00"}]}`,
			map[string][]string{
				"timetable.intervals.0.to": {"The timetable.intervals.0.to field must be a date after timetable.intervals.0.from."},
				"timetable.intervals.1.to": {"The timetable.intervals.1.to field must be a date after timetable.intervals.1.from."}}},
		{"65 day windows", `{"days":[` + many(65, day) + `]}`, map[string][]string{
			"timetable.days": {"The timetable.days field must not have more than 64 items."}}},
		{"65 intervals", `{"intervals":[` + many(65, iv) + `]}`, map[string][]string{
			"timetable.intervals": {"The timetable.intervals field must not have more than 64 items."}}},
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
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %v\nwant %v", got, tt.want)
			}
		})
	}
	// The limits themselves are allowed.
	mustTimetable(t, `{"days":[`+many(64, day)+`],"intervals":[`+many(64, iv)+`]}`)
}

func TestProblemsSummary(t *testing.T) {
	var p intercom.Problems
	if p.Err() != nil {
		t.Fatal("no problems gave an error")
	}
	p.Add("title", "first.")
	if got := p.Err().(*intercom.Error).Message; got != "first." {
		t.Errorf("one: %q", got)
	}
	p.Add("title", "second.")
	if got := p.Err().(*intercom.Error).Message; got != "first. (and 1 more error)" {
		t.Errorf("two: %q", got)
	}
	p.Add("x", "third.")
	p.Add("y", "fourth.")
	e := p.Err().(*intercom.Error)
	if e.Message != "first. (and 3 more errors)" || len(e.Fields) != 3 || len(e.Fields[0].Messages) != 2 {
		t.Errorf("four: %q %+v", e.Message, e.Fields)
	}
}

// FuzzTimetable checks that parsing never panics and that whatever is
// accepted re-normalizes to itself and admits the same instants afterwards.
func FuzzTimetable(f *testing.F) {
	for _, s := range []string{
		`{"days":[{"type":"monday","from":"10:00+01:00","to":"18:00+01:00"}],"intervals":[{"from":"2000-02-12T10:00:00+01:00","to":"2000-12-01T09:00:00+01:00"}]}`,
		`{"days":[{"type":"friday","from":"22:00","to":"06:00:00-03:30"}]}`,
		`{"days":[{"type":"same_every_day","from":"23:59:59Z","to":"23:59Z"}]}`,
		`{"intervals":[{"from":"0000-01-01T00:00+18:00","to":"9999-12-31T23:59:59.999999999-18:00"}]}`,
		`{"days":[],"intervals":[]}`,
		`{"days":[{"type":"sunday","from":"00:00z","to":"00:00:01Z"}]}`,
		`{"days":[{"type":"monday","from":"00:00:00","to":"23:59:59"}],"intervals":null}`,
		`{"days":null,"intervals":[{"from":"2024-01-01T00:00Z","to":"2024-01-02T00:00Z"}]}`,
		`{"days":[{"type":"same_every_day","from":"22:00","to":"06:00"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
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
		if norm2, _ := json.Marshal(again); !bytes.Equal(norm, norm2) {
			t.Fatalf("not idempotent: %s → %s", norm, norm2)
		}
		bin, _ := tt.MarshalBinary()
		var fromBin intercom.Timetable
		if err := fromBin.UnmarshalBinary(bin); err != nil {
			t.Fatalf("binary form of %s rejected: %v", norm, err)
		}
		if j, _ := json.Marshal(fromBin); !bytes.Equal(j, norm) {
			t.Fatalf("binary round trip: %s → %s", norm, j)
		}
		probes := []int64{0, 1700000000, -1}
		for _, w := range tt.Days {
			probes = append(probes, int64(w.From)-int64(w.Offset), int64(w.To)-int64(w.Offset)-1)
		}
		for _, iv := range tt.Intervals {
			probes = append(probes, iv.From, iv.From-1, iv.To, iv.To-1)
		}
		for _, u := range probes {
			for _, d := range []int64{0, 86400, 3 * 86400} {
				at := time.Unix(u+d, 0)
				if tt.Admits(at) != again.Admits(at) {
					t.Fatalf("Admits(%v) differs after normalization of %s", at, norm)
				}
			}
		}
	})
}

func BenchmarkAdmits(b *testing.B) {
	var days []string
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		days = append(days, `{"type":"`+d+`","from":"22:00+05:00","to":"06:00+05:00"}`)
	}
	ivs := `{"from":"2000-02-12T10:00:00+01:00","to":"2000-12-01T09:00:00+01:00"}`
	tt := mustTimetable(b, `{"days":[`+strings.Join(days, ",")+`],"intervals":[`+strings.Repeat(ivs+",", 3)+ivs+`]}`)
	now := at("2024-01-03T12:00:00Z") // admitted by none: every window and interval is tried
	b.ReportAllocs()
	for b.Loop() {
		if tt.Admits(now) {
			b.Fatal("admitted")
		}
	}
}

func TestTimetableBinaryRejectsGarbage(t *testing.T) {
	good, _ := mustTimetable(t, `{"days":[{"type":"monday","from":"10:00Z","to":"11:00Z"}]}`).MarshalBinary()
	for i := 0; i < len(good); i++ {
		var tt intercom.Timetable
		if tt.UnmarshalBinary(good[:i]) == nil {
			t.Errorf("truncated encoding %x accepted", good[:i])
		}
	}
	var tt intercom.Timetable
	for _, bad := range [][]byte{nil, {2, 0, 0}, {1, 65}, append(append([]byte{}, good...), 0)} {
		if tt.UnmarshalBinary(bad) == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}
