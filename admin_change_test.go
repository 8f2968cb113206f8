package intercom_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

func never(string) string { return "" }

// TestAdminWritesNameUnknownFields: every admin write refuses a field it
// does not take, naming it, and says so of a read-only one.
func TestAdminWritesNameUnknownFields(t *testing.T) {
	now := time.Date(2022, 4, 20, 12, 0, 0, 0, time.UTC)
	parsers := []struct {
		name  string
		parse func(intercom.Body) error
		valid string // a body it takes, to which the bad fields are added
	}{
		{"NewUser", func(b intercom.Body) error { _, err := intercom.ParseNewUser(b); return err }, `"login":"a","password":"12345678"`},
		{"UserChange", func(b intercom.Body) error { _, err := intercom.ParseUserChange(b); return err }, `"name":"A"`},
		{"Password", func(b intercom.Body) error { _, err := intercom.ParsePassword(b); return err }, `"password":"12345678"`},
		{"NewCamera", func(b intercom.Body) error { _, err := intercom.ParseNewCamera(b, now); return err }, `"name":"c"`},
		{"CameraChange", func(b intercom.Body) error { _, err := intercom.ParseCameraChange(b); return err }, `"name":"c"`},
		{"NewIntercom", func(b intercom.Body) error { _, err := intercom.ParseNewIntercom(b, now, never); return err }, `"address":"a"`},
		{"IntercomChange", func(b intercom.Body) error { _, err := intercom.ParseIntercomChange(b, never); return err }, `"address":"a"`},
		{"Membership", func(b intercom.Body) error { _, err := intercom.ParseMembership(b, 1, 2); return err }, `"title":"t","status":"confirmed"`},
		{"Key", func(b intercom.Body) error { _, err := intercom.ParseKey(b, 1, "k"); return err }, `"note":"n"`},
	}
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			if err := p.parse(body(t, "{"+p.valid+"}")); err != nil {
				t.Fatalf("the valid body: %v", err)
			}
			for _, tt := range []struct {
				extra, key, says string
			}{
				{`"id":5`, "id", "read-only"},
				{`"created_at":"2020-01-01 00:00:00"`, "created_at", "read-only"},
				{`"secret":"s"`, "secret", "read-only"},
				{`"colour":"red"`, "colour", "not a field"},
				{`"Login":"x"`, "Login", "not a field"},
			} {
				err := p.parse(body(t, "{"+p.valid+","+tt.extra+"}"))
				e, ok := err.(*intercom.Error)
				if !ok || e.Code != intercom.EINVALID || len(e.Fields) != 1 || e.Fields[0].Key != tt.key ||
					!strings.Contains(e.Fields[0].Messages[0], tt.says) {
					t.Errorf("%s: %v; want a 422 on %s saying %q", tt.extra, err, tt.key, tt.says)
				}
			}
		})
	}
}

func TestParseIntercomChange(t *testing.T) {
	u, err := intercom.ParseIntercomChange(body(t, `{"address":" New ","control_url":"http://panel.example/","camera_id":null,
		"door_open_seconds":9,"department":3,"last_flat":20}`), never)
	if err != nil {
		t.Fatal(err)
	}
	cam := int64(7)
	ic := intercom.Intercom{Address: "Old", CameraID: &cam, DoorOpenSeconds: 7}
	if err := u.Apply(&ic); err != nil {
		t.Fatal(err)
	}
	if ic.Address != "New" || ic.ControlURL == nil || *ic.ControlURL != "http://panel.example/" || ic.CameraID != nil ||
		ic.DoorOpenSeconds != 9 || ic.Department != 3 || ic.LastFlat == nil || *ic.LastFlat != 20 {
		t.Fatalf("applied: %+v", ic)
	}
	// Absent fields stay; an empty control URL removes it.
	u, err = intercom.ParseIntercomChange(body(t, `{"control_url":""}`), never)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Apply(&ic); err != nil || ic.ControlURL != nil || ic.Address != "New" {
		t.Fatalf("applied: %+v, %v", ic, err)
	}
	for _, tt := range []struct{ body, key string }{
		{`{"address":""}`, "address"},
		{`{"address":null}`, "address"},
		{`{"door_open_seconds":0}`, "door_open_seconds"},
		{`{"door_open_seconds":null}`, "door_open_seconds"},
		{`{"camera_id":"x"}`, "camera_id"},
		{`{"control_url":"ftp://x"}`, "control_url"},
	} {
		_, err := intercom.ParseIntercomChange(body(t, tt.body), never)
		if !cmp.Equal(fieldKeys(err), []string{tt.key}) {
			t.Errorf("%s: %v; want a 422 on %s", tt.body, err, tt.key)
		}
	}
	_, err = intercom.ParseIntercomChange(body(t, `{"control_url":"http://10.0.0.1/"}`), func(string) string { return "private" })
	if !cmp.Equal(fieldKeys(err), []string{"control_url"}) {
		t.Errorf("the address policy: %v", err)
	}
}

func TestParseCameraChange(t *testing.T) {
	apply, err := intercom.ParseCameraChange(body(t, `{"name":"N","lat":55.5,"billing_id":null,"start_at":"2022-01-02 03:04:05","is_bridge":true}`))
	if err != nil {
		t.Fatal(err)
	}
	billing := "b"
	c := intercom.Camera{Name: "old", PrettyName: "Pretty", BillingID: &billing, Status: "active"}
	apply(&c)
	if c.Name != "N" || c.PrettyName != "Pretty" || c.Lat == nil || *c.Lat != 55.5 || c.BillingID != nil || c.StartAt == nil ||
		!c.StartAt.Equal(time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC)) || !c.IsBridge || c.Status != "active" {
		t.Fatalf("applied: %+v", c)
	}
	for _, tt := range []struct{ body, key string }{
		{`{"name":""}`, "name"},
		{`{"lat":91}`, "lat"},
		{`{"status":"on"}`, "status"},
		{`{"start_at":"tomorrow"}`, "start_at"},
		{`{"is_bridge":"maybe"}`, "is_bridge"},
	} {
		_, err := intercom.ParseCameraChange(body(t, tt.body))
		if !cmp.Equal(fieldKeys(err), []string{tt.key}) {
			t.Errorf("%s: %v; want a 422 on %s", tt.body, err, tt.key)
		}
	}
}

func TestParseUserChange(t *testing.T) {
	u, err := intercom.ParseUserChange(body(t, `{"login":" zoe ","password":"long enough"}`))
	if err != nil || u.Login == nil || *u.Login != "zoe" || u.Password == nil || *u.Password != "long enough" || u.Name != nil {
		t.Fatalf("ParseUserChange = %+v, %v", u, err)
	}
	for _, tt := range []struct{ body, key string }{
		{`{"login":""}`, "login"},
		{`{"password":"short"}`, "password"},
		{`{"password":null}`, "password"},
		{`{"name":7}`, "name"},
	} {
		_, err := intercom.ParseUserChange(body(t, tt.body))
		if !cmp.Equal(fieldKeys(err), []string{tt.key}) {
			t.Errorf("%s: %v; want a 422 on %s", tt.body, err, tt.key)
		}
	}
	if _, err := intercom.ParsePassword(body(t, `{}`)); !cmp.Equal(fieldKeys(err), []string{"password"}) {
		t.Errorf("ParsePassword({}) = %v", err)
	}
}

func TestSearch(t *testing.T) {
	var p intercom.Problems
	if got := intercom.ParseSearch(" 100% ", &p); got != "100%" || p.Len() != 0 {
		t.Errorf("ParseSearch = %q, %d problems", got, p.Len())
	}
	intercom.ParseSearch(strings.Repeat("x", intercom.MaxSearch+1), &p)
	if !p.Has("search") {
		t.Error("a search longer than MaxSearch is taken")
	}
	for in, want := range map[string]string{`Ab`: `%ab%`, `5%_\`: `%5\%\_\\%`, `' OR 1=1 --`: `%' or 1=1 --%`} {
		if got := intercom.LikePattern(in); got != want {
			t.Errorf("LikePattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCallWindow(t *testing.T) {
	now := time.Date(2022, 4, 20, 12, 0, 0, 0, time.UTC)
	day := time.Date(2022, 4, 20, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, date, since, until string
		from, to                 time.Time
		problem                  string
	}{
		{name: "today", from: day, to: day.AddDate(0, 0, 1)},
		{name: "a date", date: "2022-04-01", from: day.AddDate(0, 0, -19), to: day.AddDate(0, 0, -18)},
		{name: "since", since: "2022-04-20T10:00:00+02:00", from: now.Add(-4 * time.Hour), to: now.Add(time.Second)},
		{name: "both", since: "2022-04-20T08:00:00Z", until: "2022-04-20T09:00:00Z", from: now.Add(-4 * time.Hour), to: now.Add(-3 * time.Hour)},
		{name: "since ahead", since: "2022-04-21T00:00:00Z", from: day.AddDate(0, 0, 1), to: day.AddDate(0, 0, 1)},
		{name: "until only", until: "2022-04-20T00:00:00Z", from: time.Unix(0, 0).UTC(), to: day},
		{name: "bad date", date: "20.04.2022", problem: "date"},
		{name: "date and since", date: "2022-04-01", since: "2022-04-20T08:00:00Z", problem: "date"},
		{name: "bad since", since: "yesterday", problem: "since"},
		{name: "backwards", since: "2022-04-20T09:00:00Z", until: "2022-04-20T08:00:00Z", problem: "until"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var p intercom.Problems
			from, to := intercom.ParseCallWindow(tt.date, tt.since, tt.until, now, &p)
			if tt.problem != "" {
				if !p.Has(tt.problem) || p.Len() != 1 {
					t.Fatalf("problems %v; want one on %s", p.Err(), tt.problem)
				}
				return
			}
			if p.Len() != 0 || !from.Equal(tt.from) || !to.Equal(tt.to) {
				t.Fatalf("= %v, %v (%v); want %v, %v", from, to, p.Err(), tt.from, tt.to)
			}
		})
	}
}

// FuzzParseIntercomChange: any JSON object is either a change that Apply
// makes (an intercom with an address, a door time in range, an http(s)
// control URL or none, a flat range that is a range) or an EINVALID naming
// its fields; no field outside the create's is ever taken.
func FuzzParseIntercomChange(f *testing.F) {
	for _, s := range []string{`{"address":"a"}`, `{"address":""}`, `{"control_url":"http://x/"}`, `{"control_url":null}`,
		`{"camera_id":null,"door_open_seconds":"9"}`, `{"id":1}`, `{"first_flat":5,"last_flat":2}`, `{"department":-1}`, `{}`} {
		f.Add([]byte(s))
	}
	allowed := []string{"address", "department", "camera_id", "control_url", "door_open_seconds",
		"first_flat", "last_flat", "is_open_door_code", "is_open_door_key", "has_analog_line", "has_landline_sip_line"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var body intercom.Body
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if dec.Decode(&body) != nil || body == nil {
			return
		}
		u, err := intercom.ParseIntercomChange(body, never)
		if err != nil {
			if e, ok := err.(*intercom.Error); !ok || e.Code != intercom.EINVALID || len(e.Fields) == 0 {
				t.Fatalf("error %#v", err)
			}
			return
		}
		for k := range body {
			if !slices.Contains(allowed, k) {
				t.Fatalf("field %q taken", k)
			}
		}
		ic := intercom.Intercom{Address: "Old", DoorOpenSeconds: 7}
		if err := u.Apply(&ic); err != nil {
			if e, ok := err.(*intercom.Error); !ok || e.Code != intercom.EINVALID {
				t.Fatalf("Apply: %#v", err)
			}
			return
		}
		if strings.TrimSpace(ic.Address) == "" || ic.DoorOpenSeconds < 1 || ic.DoorOpenSeconds > 600 ||
			ic.ControlURL != nil && !intercom.ValidControlURL(*ic.ControlURL) {
			t.Fatalf("applied %+v", ic)
		}
	})
}
