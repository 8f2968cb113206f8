package http_test

import (
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// seedBody is the seed's own example body, verbatim.
const seedBody = `{
    "title": "My intercom",
    "is_enabled": "true",
    "timetable": {
        "days": [
            {
                "type": "monday|tuesday|wednesday|thursday|friday|saturday|sunday|same_every_day",
                "from": "10:00+01:00",
                "to": "18:00+01:00"
            }
        ],
        "intervals": [
            {
                "from": "2000-02-12T10:00:00+01:00",
                "to": "2000-12-01T09:00:00+01:00"
            },
            {
                "from": "2001-02-12T10:00:00:00+01:00",
                "to": "2001-12-01T09:00:00:00+01:00"
            }
        ]
    }
}`

// seedResponseBody asks for exactly what the seed's 200 response shows.
const seedResponseBody = `{"title": "House", "is_enabled": true, "timetable": {"days": [
	{"type": "tuesday", "from": "00:00:00+05:00", "to": "23:59:59+05:00"},
	{"type": "wednesday", "from": "00:00:00+05:00", "to": "23:59:59+05:00"},
	{"type": "saturday", "from": "00:00:00+05:00", "to": "23:59:59+05:00"}], "intervals": []}}`

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	var pretty []byte
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	pretty, _ = json.MarshalIndent(json.RawMessage(got), "", "    ")
	pretty = append(pretty, '\n')
	if *update {
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(pretty) {
		t.Errorf("response differs from %s:\n got %s\nwant %s", path, pretty, want)
	}
}

func TestPatchSeedResponse(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	res := f.want(f.as(alice, "PATCH", "/api/v1/intercom/180", seedResponseBody), 200)
	// Field for field and in the seed's order, times as the seed writes them.
	golden(t, "seed_patch_response.json", res.Body)
	got := f.want(f.as(alice, "GET", "/api/v1/intercom/180", ""), 200)
	if compactJSON(t, got.Body) != compactJSON(t, res.Body) {
		t.Errorf("GET after PATCH differs:\n%s\n%s", got.Body, res.Body)
	}
}

func TestPatchSeedBodyCorrected(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	body := strings.NewReplacer("monday|tuesday|wednesday|thursday|friday|saturday|sunday|same_every_day", "monday",
		"10:00:00:00", "10:00:00", "09:00:00:00", "09:00:00").Replace(seedBody)
	v := f.want(f.as(alice, "PATCH", "/api/v1/intercom/180", body), 200).JSON(t)
	if v["title"] != "My intercom" || v["is_enabled"] != true {
		t.Errorf("title %v is_enabled %v", v["title"], v["is_enabled"])
	}
	tt, _ := json.Marshal(v["timetable"])
	want := `{"days":[{"from":"10:00:00+01:00","to":"18:00:00+01:00","type":"monday"}],"intervals":[{"from":"2000-02-12T10:00:00+01:00","to":"2000-12-01T09:00:00+01:00"},{"from":"2001-02-12T10:00:00+01:00","to":"2001-12-01T09:00:00+01:00"}]}`
	if string(tt) != want {
		t.Errorf("timetable %s\nwant %s", tt, want)
	}
}

// The seed's own example is invalid: 422 with every problem, nothing changed.
func TestPatchSeedExampleBodyIsRejected(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	before := f.want(f.as(alice, "GET", "/api/v1/intercom/180", ""), 200).Body
	res := f.want(f.as(alice, "PATCH", "/api/v1/intercom/180", seedBody), 422)
	want := map[string][]string{
		"timetable.days.0.type":      {"The selected timetable.days.0.type is invalid."},
		"timetable.intervals.1.from": {"The timetable.intervals.1.from field must be a valid date."},
		"timetable.intervals.1.to":   {"The timetable.intervals.1.to field must be a valid date."},
	}
	if got := errorsOf(t, res); !reflect.DeepEqual(got, want) {
		t.Errorf("errors %v\nwant %v", got, want)
	}
	if msg := res.JSON(t)["message"]; msg != "The selected timetable.days.0.type is invalid. (and 2 more errors)" {
		t.Errorf("message %q", msg)
	}
	f.clock.Advance(time.Second)
	after := f.want(f.as(alice, "GET", "/api/v1/intercom/180", ""), 200).Body
	if string(before) != string(after) {
		t.Errorf("a rejected PATCH changed the intercom:\n%s\n%s", before, after)
	}
}

func TestPatchValidation(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	long := strings.Repeat("я", 256)
	tests := []struct {
		name, body string
		want       map[string][]string
	}{
		{"empty object", `{}`, map[string][]string{"title": {"The title field is required when none of is enabled / timetable are present."}}},
		{"keys match exactly", `{"Title":"x","IS_ENABLED":true}`, map[string][]string{"title": {"The title field is required when none of is enabled / timetable are present."}}},
		{"title null", `{"title":null}`, map[string][]string{"title": {"The title field is required when none of is enabled / timetable are present."}}},
		{"all null", `{"title":null,"is_enabled":null,"timetable":null}`, map[string][]string{"title": {"The title field is required when none of is enabled / timetable are present."}}},
		{"null beside an empty title", `{"title":"","timetable":null}`, map[string][]string{"title": {"The title field is required."}}},
		{"title empty", `{"title":""}`, map[string][]string{"title": {"The title field is required."}}},
		{"title blank", `{"title":"  \t "}`, map[string][]string{"title": {"The title field is required."}}},
		{"title number", `{"title":42}`, map[string][]string{"title": {"The title field must be a string."}}},
		{"title too long", `{"title":"` + long + `"}`, map[string][]string{"title": {"The title field must not be greater than 255 characters."}}},
		{"is_enabled yes", `{"is_enabled":"yes"}`, map[string][]string{"is_enabled": {"The is enabled field must be true or false."}}},
		{"is_enabled 2", `{"is_enabled":2}`, map[string][]string{"is_enabled": {"The is enabled field must be true or false."}}},
		{"is_enabled 1.0", `{"is_enabled":1.0}`, map[string][]string{"is_enabled": {"The is enabled field must be true or false."}}},
		{"is_enabled True", `{"is_enabled":"True"}`, map[string][]string{"is_enabled": {"The is enabled field must be true or false."}}},
		{"is_enabled array", `{"is_enabled":[]}`, map[string][]string{"is_enabled": {"The is enabled field must be true or false."}}},
		{"is_enabled null", `{"is_enabled":null}`, map[string][]string{"title": {"The title field is required when none of is enabled / timetable are present."}}},
		{"timetable null", `{"timetable":null}`, map[string][]string{"title": {"The title field is required when none of is enabled / timetable are present."}}},
		{"days null beside bad intervals", `{"timetable":{"days":null,"intervals":"x"}}`, map[string][]string{"timetable.intervals": {"The timetable.intervals field must be an array."}}},
		{"timetable empty object", `{"timetable":{}}`, map[string][]string{"timetable": {"The timetable field is required."}}},
		{"timetable empty list", `{"timetable":[]}`, map[string][]string{"timetable": {"The timetable field is required."}}},
		{"timetable string", `{"timetable":"always"}`, map[string][]string{"timetable": {"The timetable field must be an array."}}},
		{"timetable list", `{"timetable":[1]}`, map[string][]string{"timetable": {"The timetable field must be an array."}}},
		{"day to equals from", `{"timetable":{"days":[{"type":"monday","from":"10:00Z","to":"10:00Z"}]}}`,
			map[string][]string{"timetable.days.0.to": {"The timetable.days.0.to field and timetable.days.0.from must be different."}}},
		{"interval backwards", `{"timetable":{"intervals":[{"from":"2024-01-02T00:00:00Z","to":"2024-01-01T00:00:00Z"}]}}`,
			map[string][]string{"timetable.intervals.0.to": {"The timetable.intervals.0.to field must be a date after timetable.intervals.0.from."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.want(f.as(alice, "PATCH", "/api/v1/intercom/180", tt.body), 422)
			if got := errorsOf(t, res); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %v\nwant %v", got, tt.want)
			}
		})
	}
	// Nothing of all that changed anything.
	v := f.want(f.as(alice, "GET", "/api/v1/intercom/180", ""), 200).JSON(t)
	if v["title"] != "House" || v["is_enabled"] != true || v["updated_at"] != "2022-04-20T12:34:32.000000Z" {
		t.Errorf("after rejected PATCHes: %v", v)
	}
}

func TestPatchManyErrorsAtOnce(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	res := f.want(f.as(alice, "PATCH", "/api/v1/intercom/180",
		`{"title":"","is_enabled":"maybe","timetable":{"days":[{"type":"someday"}]}}`), 422)
	msg := res.JSON(t)["message"]
	if msg != "The title field is required. (and 4 more errors)" {
		t.Errorf("message %q", msg)
	}
	keys := []string{}
	for k := range errorsOf(t, res) {
		keys = append(keys, k)
	}
	if len(keys) != 5 {
		t.Errorf("keys %v, want title, is_enabled, timetable.days.0.type/from/to", keys)
	}
	// Laravel's summary: "(and 1 more error)" in the singular.
	res = f.want(f.as(alice, "PATCH", "/api/v1/intercom/180", `{"title":"","is_enabled":"maybe"}`), 422)
	if msg := res.JSON(t)["message"]; msg != "The title field is required. (and 1 more error)" {
		t.Errorf("message %q", msg)
	}
}

func TestPatchAcceptsLaravelBooleans(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	for _, tt := range []struct {
		raw  string
		want bool
	}{{`false`, false}, {`true`, true}, {`0`, false}, {`1`, true}, {`"0"`, false}, {`"1"`, true}, {`"false"`, false}, {`"true"`, true}} {
		v := f.want(f.as(alice, "PATCH", "/api/v1/intercom/180", `{"is_enabled":`+tt.raw+`}`), 200).JSON(t)
		if v["is_enabled"] != tt.want {
			t.Errorf("is_enabled %s → %v", tt.raw, v["is_enabled"])
		}
	}
}

// A rename is the account's; is_enabled and the timetable are this device's.
func TestPatchSettingsArePerDevice(t *testing.T) {
	f := newFixture(t)
	phone, _ := f.seedWorld()
	tablet := f.login("alice", "alice-tablet")
	f.clock.Advance(time.Minute)
	f.want(f.as(phone, "PATCH", "/api/v1/intercom/180",
		`{"title":"  Front door ","is_enabled":false,"timetable":{"days":[{"type":"same_every_day","from":"08:00","to":"20:00+03:00"}]}}`), 200)
	p := f.want(f.as(phone, "GET", "/api/v1/intercom/180", ""), 200).JSON(t)
	tb := f.want(f.as(tablet, "GET", "/api/v1/intercom/180", ""), 200).JSON(t)
	if p["title"] != "Front door" || tb["title"] != "Front door" {
		t.Errorf("titles %v / %v, want the trimmed rename on both", p["title"], tb["title"])
	}
	if p["is_enabled"] != false || tb["is_enabled"] != true {
		t.Errorf("is_enabled phone %v tablet %v", p["is_enabled"], tb["is_enabled"])
	}
	if days := p["timetable"].(map[string]any)["days"].([]any); len(days) != 1 {
		t.Errorf("phone timetable %v", p["timetable"])
	}
	if tt, _ := json.Marshal(tb["timetable"]); string(tt) != `{"days":[],"intervals":[]}` {
		t.Errorf("tablet timetable %s", tt)
	}
	if p["updated_at"] != "2022-04-20T12:35:32.000000Z" {
		t.Errorf("updated_at %v, want the PATCH's instant", p["updated_at"])
	}
	// A rename alone keeps the phone's settings.
	p = f.want(f.as(phone, "PATCH", "/api/v1/intercom/180", `{"title":"Gate"}`), 200).JSON(t)
	if p["title"] != "Gate" || p["is_enabled"] != false {
		t.Errorf("after rename: %v", p)
	}
}

// Another account's intercom is indistinguishable from a missing one, on
// every route, and is left unchanged.
func TestOtherAccountsIntercomIsNotFound(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	bobID := f.user("bob")
	bob := f.login("bob", "bob-phone")
	bobs := f.intercom(`{"address":"Bob's street"}`)
	f.member(bobs, bobID, "Bob's")
	path := "/api/v1/intercom/" + itoa(bobs)
	missing := f.want(f.as(alice, "GET", "/api/v1/intercom/999999", ""), 404)
	for _, res := range []*response{
		f.as(alice, "GET", path, ""),
		f.as(alice, "PATCH", path, `{"title":"Mine now"}`),
		f.as(alice, "PATCH", path, `{"title":""}`), // invalid too: still 404, not 422
		f.as(alice, "PATCH", path, `not json`),
	} {
		f.want(res, 404)
		if string(res.Body) != string(missing.Body) {
			t.Errorf("body %s differs from a missing intercom's %s", res.Body, missing.Body)
		}
	}
	shows := f.want(f.as(alice, "GET", "/api/v1/intercom/shows?ids[]=180&ids[]="+itoa(bobs), ""), 200)
	var list []map[string]any
	json.Unmarshal(shows.Body, &list)
	if len(list) != 1 || list[0]["id"] != float64(180) {
		t.Errorf("shows: %s", shows.Body)
	}
	v := f.want(f.as(bob, "GET", path, ""), 200).JSON(t)
	if v["title"] != "Bob's" {
		t.Errorf("bob's intercom changed: %v", v)
	}
	page := f.want(f.as(alice, "GET", "/api/v1/intercom", ""), 200).JSON(t)
	if page["meta"].(map[string]any)["total"] != float64(1) {
		t.Errorf("alice lists %v", page["meta"])
	}
}

func TestNonNumericIDIsNotFound(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	for _, id := range []string{"abc", "180abc", "1.5", "-180", "+180", "0", "99999999999999999999999", "%20180"} {
		f.want(f.as(alice, "GET", "/api/v1/intercom/"+id, ""), 404)
		f.want(f.as(alice, "PATCH", "/api/v1/intercom/"+id, `{"title":"x"}`), 404)
	}
}

func TestListPagination(t *testing.T) {
	f := newFixture(t)
	alice, aliceID := f.seedWorld()
	for i := 0; i < 29; i++ {
		f.member(f.intercom(`{"address":"Block `+itoa(int64(i))+`","department":1}`), aliceID, "Door")
	}
	v := f.want(f.as(alice, "GET", "/api/v1/intercom", ""), 200).JSON(t)
	meta, links := v["meta"].(map[string]any), v["links"].(map[string]any)
	if len(v["data"].([]any)) != 25 || meta["total"] != float64(30) || meta["last_page"] != float64(2) ||
		meta["per_page"] != float64(25) || meta["from"] != float64(1) || meta["to"] != float64(25) {
		t.Errorf("first page meta %v", meta)
	}
	if links["next"] != "http://intercomd.test/api/v1/intercom?page=2" || links["prev"] != nil ||
		meta["path"] != "http://intercomd.test/api/v1/intercom" {
		t.Errorf("links %v path %v", links, meta["path"])
	}
	v = f.want(f.as(alice, "GET", "/api/v1/intercom?page=2&per_page=25", ""), 200).JSON(t)
	data := v["data"].([]any)
	if len(data) != 5 || v["meta"].(map[string]any)["from"] != float64(26) {
		t.Errorf("second page: %d items, meta %v", len(data), v["meta"])
	}
	prevID := 0.0
	for _, d := range data {
		id := d.(map[string]any)["id"].(float64)
		if id <= prevID {
			t.Errorf("not ordered by id: %v after %v", id, prevID)
		}
		prevID = id
	}
	v = f.want(f.as(alice, "GET", "/api/v1/intercom?page=9", ""), 200).JSON(t)
	if len(v["data"].([]any)) != 0 || v["meta"].(map[string]any)["from"] != nil {
		t.Errorf("past the end: %v", v["meta"])
	}
	for q, key := range map[string]string{"per_page=101": "per_page", "per_page=0": "per_page", "per_page=x": "per_page",
		"per_page=1e3": "per_page", "page=0&per_page=0": "per_page", "page=1073741825": "page"} {
		res := f.want(f.as(alice, "GET", "/api/v1/intercom?"+q, ""), 422)
		if _, ok := errorsOf(t, res)[key]; !ok {
			t.Errorf("%s: errors %s", q, res.Body)
		}
	}
}

// TestPageNotPositiveReadsAsOne: a page that is not a positive integer reads
// as 1 on every paginated list, as Laravel's resolver does (iOS asks for page
// 0 first); per_page keeps its rules.
func TestPageNotPositiveReadsAsOne(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	lists := []struct {
		name, path string
		as         func(path string) *response
	}{
		{"intercoms", "/api/v1/intercom", func(p string) *response { return f.as(alice, "GET", p, "") }},
		{"calls", "/api/v1/intercom/calls", func(p string) *response { return f.as(alice, "GET", p, "") }},
		{"control log", "/api/admin/v1/intercoms/180/control-log", func(p string) *response { return f.admin("GET", p, "") }},
	}
	for _, l := range lists {
		for _, page := range []string{"0", "-1", "abc", "", "1.5", "99999999999999999999"} {
			t.Run(l.name+"/page="+page, func(t *testing.T) {
				v := f.want(l.as(l.path+"?page="+url.QueryEscape(page)), 200).JSON(t)
				if got := v["meta"].(map[string]any)["current_page"]; got != float64(1) {
					t.Errorf("current_page %v, want 1", got)
				}
			})
		}
		t.Run(l.name+"/per_page=0", func(t *testing.T) {
			f.want(l.as(l.path+"?page=0&per_page=0"), 422)
		})
	}
}

func TestShowsValidation(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	many := strings.Repeat("ids[]=1&", 26)
	for q, key := range map[string]string{"": "ids", many: "ids", "ids[]=180&ids[]=x": "ids.1", "ids[]=1.5": "ids.0"} {
		res := f.want(f.as(alice, "GET", "/api/v1/intercom/shows?"+q, ""), 422)
		if _, ok := errorsOf(t, res)[key]; !ok {
			t.Errorf("%q: errors %s", q, res.Body)
		}
	}
	var list []any
	json.Unmarshal(f.want(f.as(alice, "GET", "/api/v1/intercom/shows?ids[0]=180&ids[1]=4242", ""), 200).Body, &list)
	if len(list) != 1 {
		t.Errorf("shows with ids[N]: %v", list)
	}
}

// TestKeyConfirmedIsNotTheAccounts: only confirmed memberships are the
// account's intercoms in the client API; a key_confirmed one (a pairing in
// progress, which iOS cannot decode) is left out of lists, not found alone,
// and no account event speaks of it.
func TestKeyConfirmedIsNotTheAccounts(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	sock := f.socket(t, w.alice)
	pairing, secret := f.provision(`{"address":"Pairing gate"}`)
	f.memberOf(pairing, w.aliceID, "3", "key_confirmed")
	sock.none("intercom.store")
	sock.none("intercom.rename")

	list := f.want(f.as(w.alice, "GET", "/api/v1/intercom?page=1", ""), 200).JSON(t)
	if meta := list["meta"].(map[string]any); meta["total"] != float64(1) || len(list["data"].([]any)) != 1 {
		t.Errorf("list: total %v, %d items; want only the confirmed one", meta["total"], len(list["data"].([]any)))
	}
	var shows []map[string]any
	json.Unmarshal(f.want(f.as(w.alice, "GET", "/api/v1/intercom/shows?ids[]="+itoa(pairing)+"&ids[]="+itoa(w.intercomID), ""), 200).Body, &shows)
	if len(shows) != 1 || shows[0]["id"] != float64(w.intercomID) {
		t.Errorf("shows %v", shows)
	}
	path := "/api/v1/intercom/" + itoa(pairing)
	for _, rq := range []struct{ method, path, body string }{
		{"GET", path, ""},
		{"PATCH", path, `{"title":"Mine","is_enabled":false}`},
		{"PATCH", path, `{"title":""}`}, // invalid, and still not found
		{"POST", path + "/open-door", ""},
	} {
		t.Run(rq.method+" "+rq.path+" "+rq.body, func(t *testing.T) {
			f.want(f.as(w.alice, rq.method, rq.path, rq.body), 404)
		})
	}

	// Online changes reach the accounts that hold the intercom only.
	f.want(f.hw(secret, "POST", "/api/hw/v1/heartbeat", ""), 204)
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/heartbeat", ""), 204)
	if e := sock.expect("intercom.status"); e["intercom_id"] != float64(w.intercomID) {
		t.Errorf("intercom.status about %v, want only %d", e["intercom_id"], w.intercomID)
	}

	// Confirmed, it becomes the account's (intercom.store); back to a pairing,
	// it leaves (intercom.delete); unlinked then, nothing is said.
	f.memberOf(pairing, w.aliceID, "3", "confirmed")
	if e := sock.expect("intercom.store"); e["intercom"].(map[string]any)["id"] != float64(pairing) {
		t.Errorf("store %v", e)
	}
	f.memberOf(pairing, w.aliceID, "3", "key_confirmed")
	if e := sock.expect("intercom.delete"); e["deleted_ids"].([]any)[0] != float64(pairing) {
		t.Errorf("delete %v", e)
	}
	f.want(f.admin("DELETE", "/api/admin/v1/intercoms/"+itoa(pairing)+"/members/"+itoa(w.aliceID), ""), 204)
	sock.none("intercom.delete")
}

// TestOpenDoorFlags: the intercom object always carries the flags the apps
// read; is_open_door_app is true when the membership is confirmed and the
// intercom has a control URL, and the ring payload carries the same value.
func TestOpenDoorFlags(t *testing.T) {
	f := newFixture(t)
	userID := f.user("alice")
	tests := []struct {
		name      string
		provision string
		want      bool
	}{
		{"with a control URL", `{"address":"Gate","control_url":"http://10.0.0.5/control"}`, true},
		{"without a control URL", `{"address":"Wicket"}`, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, secret := f.provision(tt.provision)
			f.memberOf(id, userID, "1", "confirmed")
			web := f.loginAs("alice", "alice-browser-"+itoa(int64(i)), "web")
			sock := f.socket(t, web)
			for _, path := range []string{"/api/v1/intercom/" + itoa(id), "/api/v1/intercom/shows?ids[]=" + itoa(id), "/api/v1/intercom"} {
				body := f.want(f.as(web, "GET", path, ""), 200).Body
				var one map[string]any
				if strings.Contains(path, "shows") {
					var list []map[string]any
					json.Unmarshal(body, &list)
					one = list[0]
				} else if path == "/api/v1/intercom" {
					var page struct{ Data []map[string]any }
					json.Unmarshal(body, &page)
					for _, v := range page.Data {
						if v["id"] == float64(id) {
							one = v
						}
					}
				} else {
					json.Unmarshal(body, &one)
				}
				want := map[string]any{"is_open_door_app": tt.want, "is_open_door_code": false, "is_open_door_key": false,
					"is_open_door_face": false, "is_analytic_available": false}
				for k, v := range want {
					if got, ok := one[k]; !ok || got != v {
						t.Errorf("%s: %s = %v (present %v), want %v", path, k, got, ok, v)
					}
				}
			}
			v := f.want(f.hw(secret, "POST", "/api/hw/v1/ring", `{"flat":1}`), 201).JSON(t)
			if v["status"] != "ring" {
				t.Fatalf("ring %v", v)
			}
			if got := sock.expect("intercom_ring").data()["is_open_door_app"]; got != tt.want {
				t.Errorf("intercom_ring is_open_door_app = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPatchAndroidNulls: Android's Gson sends every unset field as null; null
// counts as absent for title, is_enabled, timetable and for days/intervals,
// and day windows without offsets are UTC.
func TestPatchAndroidNulls(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	tests := []struct {
		name, body string
		title      string
		enabled    bool
		timetable  string
	}{
		{"turn off", `{"is_enabled":false,"timetable":null}`, "House", false, `{"days":[],"intervals":[]}`},
		{"days schedule", `{"timetable":{"days":[{"type":"monday","from":"00:00:00","to":"23:59:59"}],"intervals":null}}`,
			"House", false, `{"days":[{"to":"23:59:59+00:00","from":"00:00:00+00:00","type":"monday"}],"intervals":[]}`},
		{"turn on, title null", `{"title":null,"is_enabled":true}`,
			"House", true, `{"days":[{"to":"23:59:59+00:00","from":"00:00:00+00:00","type":"monday"}],"intervals":[]}`},
		{"intervals schedule", `{"title":null,"is_enabled":null,"timetable":{"days":null,"intervals":[{"from":"2022-04-20T00:00:00+00:00","to":"2022-04-21T00:00:00+00:00"}]}}`,
			"House", true, `{"days":[],"intervals":[{"from":"2022-04-20T00:00:00+00:00","to":"2022-04-21T00:00:00+00:00"}]}`},
		{"rename, the rest null", `{"title":"Gate","is_enabled":null,"timetable":null}`,
			"Gate", true, `{"days":[],"intervals":[{"from":"2022-04-20T00:00:00+00:00","to":"2022-04-21T00:00:00+00:00"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				Title     string          `json:"title"`
				IsEnabled bool            `json:"is_enabled"`
				Timetable json.RawMessage `json:"timetable"`
			}
			if err := json.Unmarshal(f.want(f.as(alice, "PATCH", "/api/v1/intercom/180", tt.body), 200).Body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Title != tt.title || got.IsEnabled != tt.enabled || compactJSON(t, got.Timetable) != tt.timetable {
				t.Errorf("title %q, is_enabled %v, timetable %s; want %q, %v, %s", got.Title, got.IsEnabled, got.Timetable,
					tt.title, tt.enabled, tt.timetable)
			}
		})
	}
}
