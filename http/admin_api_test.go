package http_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// dataOf returns the "data" items of a page and its meta.total.
func dataOf(t *testing.T, res *response) ([]map[string]any, int) {
	t.Helper()
	v := res.JSON(t)
	items, _ := v["data"].([]any)
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	total := -1
	if meta, ok := v["meta"].(map[string]any); ok {
		total = int(meta["total"].(float64))
	}
	return out, total
}

func fieldOf(items []map[string]any, key string) []any {
	out := []any{}
	for _, it := range items {
		out = append(out, it[key])
	}
	return out
}

func TestAdminListUsers(t *testing.T) {
	f := newFixture(t)
	for _, login := range []string{"alice", "Alicia", "bob", "100%", "a_b", "it's"} {
		f.user(login)
	}
	for _, tt := range []struct {
		search string
		want   []any
	}{
		{"", []any{"alice", "Alicia", "bob", "100%", "a_b", "it's"}},
		{"ALI", []any{"alice", "Alicia"}},
		{"%", []any{"100%"}},
		{"_", []any{"a_b"}},
		{"' OR 1=1 --", []any{}},
		{"it's", []any{"it's"}},
	} {
		items, total := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/users?search="+url.QueryEscape(tt.search), ""), 200))
		if diff := cmp.Diff(tt.want, fieldOf(items, "login")); diff != "" || total != len(tt.want) {
			t.Errorf("search %q: total %d, -want +got:\n%s", tt.search, total, diff)
		}
	}
	items, total := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/users?page=2&per_page=5", ""), 200))
	if total != 6 || !cmp.Equal(fieldOf(items, "login"), []any{"it's"}) {
		t.Errorf("page 2 of 5: %v of %d", fieldOf(items, "login"), total)
	}
	for _, tt := range []struct{ query, key string }{
		{"per_page=10000", "per_page"},
		{"per_page=101", "per_page"},
		{"page=10000000000", "page"},
		{"search=" + strings.Repeat("x", 10<<10), "search"},
	} {
		if _, ok := errorsOf(t, f.want(f.admin("GET", "/api/admin/v1/users?"+tt.query, ""), 422))[tt.key]; !ok {
			t.Errorf("%.40s: no error on %s", tt.query, tt.key)
		}
	}
}

func TestAdminUserReadUpdate(t *testing.T) {
	f := newFixture(t)
	id := itoa(f.user("zoe"))
	bob := f.user("bob")
	got := f.want(f.admin("GET", "/api/admin/v1/users/"+id, ""), 200).JSON(t)
	if got["login"] != "zoe" || got["name"] != "zoe" {
		t.Fatalf("GET = %v", got)
	}
	got = f.want(f.admin("PATCH", "/api/admin/v1/users/"+id, `{"login":"zoe2","name":"Zoe Z"}`), 200).JSON(t)
	if got["login"] != "zoe2" || got["name"] != "Zoe Z" {
		t.Fatalf("PATCH = %v", got)
	}
	f.want(f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"zoe2","password":"password-of-zoe"}`,
		headers: map[string]string{"X-Client": "ios", "X-UUID": "z"}}), 200)
	for _, tt := range []struct{ body, key string }{
		{`{"login":"bob"}`, "login"},
		{`{"password":"short"}`, "password"},
		{`{"id":7}`, "id"},
		{`{"created_at":"2020-01-01T00:00:00.000000Z"}`, "created_at"},
		{`{"password_hash":"x"}`, "password_hash"},
		{`{"colour":"red"}`, "colour"},
	} {
		if errs := errorsOf(t, f.want(f.admin("PATCH", "/api/admin/v1/users/"+id, tt.body), 422)); len(errs[tt.key]) == 0 {
			t.Errorf("%s: errors %v, want one on %s", tt.body, errs, tt.key)
		}
	}
	if got := f.want(f.admin("GET", "/api/admin/v1/users/"+itoa(bob), ""), 200).JSON(t); got["login"] != "bob" {
		t.Fatalf("bob changed: %v", got)
	}
	for _, path := range []string{"0", "-1", "abc", "1e3", "99999", "%27%20OR%201=1"} {
		f.want(f.admin("GET", "/api/admin/v1/users/"+path, ""), 404)
		f.want(f.admin("PATCH", "/api/admin/v1/users/"+path, `{"name":"x"}`), 404)
		f.want(f.admin("POST", "/api/admin/v1/users/"+path+"/password", `{"password":"long enough"}`), 404)
	}
}

// A password reset ends every session of the account: its sockets get the
// logout event and close with 4009, its tokens are refused, the new
// password logs in.
func TestAdminPasswordReset(t *testing.T) {
	f := newFixture(t)
	alice, aliceID := f.seedWorld()
	tablet := f.login("alice", "alice-tablet")
	f.user("bob")
	bob := f.login("bob", "bob-phone")
	phoneSock, tabletSock := f.socket(t, alice), f.socket(t, tablet)
	path := "/api/admin/v1/users/" + itoa(aliceID) + "/password"
	for _, body := range []string{`{}`, `{"password":"short"}`, `{"password":"long enough","login":"x"}`, `{"password":7}`} {
		f.want(f.admin("POST", path, body), 422)
	}
	f.want(f.as(alice, "GET", "/api/v1/users/self", ""), 200) // nothing changed
	f.want(f.admin("POST", path, `{"password":"a new password"}`), 204)
	phoneSock.loggedOut()
	tabletSock.loggedOut()
	f.want(f.as(alice, "GET", "/api/v1/users/self", ""), 401)
	f.want(f.as(tablet, "GET", "/api/v1/users/self", ""), 401)
	f.want(f.as(bob, "GET", "/api/v1/users/self", ""), 200)
	f.want(f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"alice","password":"password-of-alice"}`,
		headers: map[string]string{"X-Client": "ios", "X-UUID": "p"}}), 422)
	f.want(f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"alice","password":"a new password"}`,
		headers: map[string]string{"X-Client": "ios", "X-UUID": "p"}}), 200)
}

func TestAdminCameras(t *testing.T) {
	f := newFixture(t)
	cam := f.want(f.admin("POST", "/api/admin/v1/cameras", `{"name":"Gate","lat":55.1}`), 201).JSON(t)
	id := itoa(int64(cam["id"].(float64)))
	for _, body := range []string{`{"name":"x","id":5}`, `{"name":"x","created_at":"2020-01-01 00:00:00"}`, `{"name":"x","colour":1}`} {
		f.want(f.admin("POST", "/api/admin/v1/cameras", body), 422)
	}
	got := f.want(f.admin("PATCH", "/api/admin/v1/cameras/"+id, `{"name":"Gate 2","pretty_name":"Front gate","lat":null,
		"group_id":4,"status":"inactive","type":"t2","billing_id":"b-1","lng":37,"azimuth":90,"is_archive_recording":true,
		"is_bridge":true,"user_status":"blocked","start_at":"2022-01-02 03:04:05"}`), 200).JSON(t)
	want := map[string]any{"id": cam["id"], "name": "Gate 2", "pretty_name": "Front gate", "lat": nil, "group_id": 4.0,
		"status": "inactive", "type": "t2", "billing_id": "b-1", "lng": 37.0, "azimuth": 90.0, "is_archive_recording": true,
		"is_bridge": true, "user_status": "blocked", "start_at": "2022-01-02 03:04:05", "created_at": cam["created_at"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("PATCH -want +got:\n%s", diff)
	}
	if diff := cmp.Diff(got, f.want(f.admin("GET", "/api/admin/v1/cameras/"+id, ""), 200).JSON(t)); diff != "" {
		t.Fatalf("GET after PATCH:\n%s", diff)
	}
	for _, body := range []string{`{"id":9}`, `{"created_at":"2020-01-01 00:00:00"}`, `{"lat":100}`, `{"colour":"red"}`} {
		f.want(f.admin("PATCH", "/api/admin/v1/cameras/"+id, body), 422)
	}
	items, total := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/cameras", ""), 200))
	if total != 1 || items[0]["name"] != "Gate 2" {
		t.Fatalf("list %v (%d)", items, total)
	}
	// An intercom of the camera keeps none once it is deleted.
	ic := f.intercom(`{"address":"A","camera_id":` + id + `}`)
	f.want(f.admin("DELETE", "/api/admin/v1/cameras/"+id, ""), 204)
	f.want(f.admin("DELETE", "/api/admin/v1/cameras/"+id, ""), 404)
	f.want(f.admin("GET", "/api/admin/v1/cameras/"+id, ""), 404)
	if got := f.want(f.admin("GET", "/api/admin/v1/intercoms/"+itoa(ic), ""), 200).JSON(t); got["camera_id"] != nil {
		t.Fatalf("the intercom of a deleted camera: %v", got)
	}
	for _, path := range []string{"0", "abc", "99999"} {
		f.want(f.admin("GET", "/api/admin/v1/cameras/"+path, ""), 404)
		f.want(f.admin("PATCH", "/api/admin/v1/cameras/"+path, `{"name":"x"}`), 404)
		f.want(f.admin("DELETE", "/api/admin/v1/cameras/"+path, ""), 404)
	}
}

// PATCH /intercoms/{id} changes every field the create takes: the old
// values never come back with a 200.
func TestAdminPatchIntercomEveryField(t *testing.T) {
	f := newFixture(t)
	cam := f.want(f.admin("POST", "/api/admin/v1/cameras", `{"name":"Gate"}`), 201).JSON(t)["id"].(float64)
	id := itoa(f.intercom(`{"address":"Old","control_url":"http://127.0.0.1:9/old"}`))
	got := f.want(f.admin("PATCH", "/api/admin/v1/intercoms/"+id, `{"address":"New street 1","department":12,
		"camera_id":`+jsonNumber(int64(cam))+`,"control_url":"http://127.0.0.1:9/new","door_open_seconds":15,"first_flat":1,"last_flat":40,
		"is_open_door_code":true,"is_open_door_key":true,"has_analog_line":true,"has_landline_sip_line":true}`), 200).JSON(t)
	for k, v := range map[string]any{"address": "New street 1", "department": 12.0, "camera_id": cam, "control_url": "http://127.0.0.1:9/new",
		"door_open_seconds": 15.0, "first_flat": 1.0, "last_flat": 40.0, "is_open_door_code": true, "is_open_door_key": true,
		"has_analog_line": true, "has_landline_sip_line": true} {
		if got[k] != v {
			t.Errorf("PATCH: %s = %v, want %v", k, got[k], v)
		}
	}
	if diff := cmp.Diff(got, f.want(f.admin("GET", "/api/admin/v1/intercoms/"+id, ""), 200).JSON(t)); diff != "" {
		t.Fatalf("GET after PATCH:\n%s", diff)
	}
	got = f.want(f.admin("PATCH", "/api/admin/v1/intercoms/"+id, `{"camera_id":null,"control_url":null}`), 200).JSON(t)
	if got["camera_id"] != nil || got["control_url"] != nil || got["address"] != "New street 1" {
		t.Fatalf("clearing: %v", got)
	}
	other := itoa(f.intercom(`{"address":"Other"}`))
	for _, tt := range []struct{ body, key string }{
		{`{"camera_id":99999}`, "camera_id"},
		{`{"control_url":"http://169.254.169.254/"}`, "control_url"},
		{`{"control_url":"ftp://x"}`, "control_url"},
		{`{"address":""}`, "address"},
		{`{"door_open_seconds":0}`, "door_open_seconds"},
		{`{"id":` + other + `}`, "id"},
		{`{"secret":"mine"}`, "secret"},
		{`{"created_at":"2020-01-01T00:00:00.000000Z"}`, "created_at"},
		{`{"online":true}`, "online"},
		{`{"intercom_id":` + other + `}`, "intercom_id"},
		{`{"adress":"typo"}`, "adress"},
	} {
		if errs := errorsOf(t, f.want(f.admin("PATCH", "/api/admin/v1/intercoms/"+id, tt.body), 422)); len(errs[tt.key]) == 0 {
			t.Errorf("%s: errors %v, want one on %s", tt.body, errs, tt.key)
		}
	}
	for _, body := range []string{`{"address":"x","id":5}`, `{"address":"x","secret":"s"}`, `{"address":"x","camera_id":99999}`} {
		f.want(f.admin("POST", "/api/admin/v1/intercoms", body), 422)
	}
	if got := f.want(f.admin("GET", "/api/admin/v1/intercoms/"+other, ""), 200).JSON(t); got["address"] != "Other" {
		t.Fatalf("another intercom changed: %v", got)
	}
}

func TestAdminListIntercoms(t *testing.T) {
	f := newFixture(t)
	a, secretA := f.provision(`{"address":"Lenina 5_7"}`)
	b := f.intercom(`{"address":"LENINA 57"}`)
	c := f.intercom(`{"address":"Mira 1"}`)
	f.want(f.hw(secretA, "POST", "/api/hw/v1/heartbeat", `{}`), 204)
	for _, tt := range []struct {
		query string
		want  []any
	}{
		{"", []any{float64(a), float64(b), float64(c)}},
		{"search=lenina", []any{float64(a), float64(b)}},
		{"search=5_7", []any{float64(a)}},
		{"search=" + url.QueryEscape("%"), []any{}},
		{"online=true", []any{float64(a)}},
		{"online=false", []any{float64(b), float64(c)}},
		{"online=false&search=mira", []any{float64(c)}},
	} {
		items, total := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/intercoms?"+tt.query, ""), 200))
		if diff := cmp.Diff(tt.want, fieldOf(items, "id")); diff != "" || total != len(tt.want) {
			t.Errorf("%s: total %d, -want +got:\n%s", tt.query, total, diff)
		}
	}
	items, _ := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/intercoms?online=true", ""), 200))
	if items[0]["online"] != true || items[0]["last_heartbeat_at"] == nil || items[0]["secret"] != nil {
		t.Fatalf("an online intercom: %v", items[0])
	}
	// Silent past the offline delay: offline since its last heartbeat.
	f.clock.Advance(time.Hour)
	items, _ = dataOf(t, f.want(f.admin("GET", "/api/admin/v1/intercoms?online=false", ""), 200))
	if !cmp.Equal(fieldOf(items, "id"), []any{float64(a), float64(b), float64(c)}) || items[0]["online"] != false ||
		items[0]["last_heartbeat_at"] != "2022-04-20T12:34:32.000000Z" {
		t.Fatalf("offline after an hour: %v", items)
	}
	for _, q := range []string{"online=maybe", "per_page=10000", "search=" + url.QueryEscape(strings.Repeat("%", 10<<10))} {
		f.want(f.admin("GET", "/api/admin/v1/intercoms?"+q, ""), 422)
	}
}

// Rotating the secret refuses the old one at once; the new one works.
func TestAdminRotateSecret(t *testing.T) {
	f := newFixture(t)
	id, old := f.provision(`{"address":"A"}`)
	f.want(f.hw(old, "POST", "/api/hw/v1/heartbeat", `{}`), 204)
	res := f.want(f.admin("POST", "/api/admin/v1/intercoms/"+itoa(id)+"/secret", ""), 200).JSON(t)
	secret, _ := res["secret"].(string)
	if len(secret) < 32 || secret == old {
		t.Fatalf("new secret %q", secret)
	}
	f.want(f.hw(old, "POST", "/api/hw/v1/heartbeat", `{}`), 401)
	f.want(f.hw(secret, "POST", "/api/hw/v1/heartbeat", `{}`), 204)
	// Another node on the same store refuses it too.
	g := newFixtureOn(t, f)
	g.want(g.hw(old, "POST", "/api/hw/v1/heartbeat", `{}`), 401)
	g.want(g.hw(secret, "POST", "/api/hw/v1/heartbeat", `{}`), 204)
	if got := f.want(f.admin("GET", "/api/admin/v1/intercoms/"+itoa(id), ""), 200).JSON(t); got["secret"] != nil {
		t.Fatalf("the secret is shown again: %v", got)
	}
	for _, path := range []string{"0", "abc", "99999"} {
		f.want(f.admin("POST", "/api/admin/v1/intercoms/"+path+"/secret", ""), 404)
	}
}

func TestAdminMemberships(t *testing.T) {
	f := newFixture(t)
	_, aliceID := f.seedWorld()
	bob := f.user("bob")
	other := f.intercom(`{"address":"Other"}`)
	f.member(other, aliceID, "Other door")
	items, total := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/intercoms/180/members", ""), 200))
	if total != 1 || items[0]["user_id"] != float64(aliceID) || items[0]["title"] != "House" || items[0]["status"] != "confirmed" {
		t.Fatalf("members of 180: %v", items)
	}
	items, total = dataOf(t, f.want(f.admin("GET", "/api/admin/v1/users/"+itoa(aliceID)+"/memberships", ""), 200))
	if total != 2 || !cmp.Equal(fieldOf(items, "intercom_id"), []any{180.0, float64(other)}) {
		t.Fatalf("alice's memberships: %v", items)
	}
	if items, total := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/users/"+itoa(bob)+"/memberships", ""), 200)); total != 0 || len(items) != 0 {
		t.Fatalf("bob's memberships: %v", items)
	}
	got := f.want(f.admin("GET", "/api/admin/v1/intercoms/180/members/"+itoa(aliceID), ""), 200).JSON(t)
	if got["title"] != "House" {
		t.Fatalf("GET member = %v", got)
	}
	f.want(f.admin("GET", "/api/admin/v1/intercoms/180/members/"+itoa(bob), ""), 404)
	for _, body := range []string{`{"title":"t","status":"confirmed","user_id":5}`, `{"title":"t","status":"confirmed","created_at":"x"}`,
		`{"title":"t","status":"confirmed","colour":1}`} {
		f.want(f.admin("PUT", "/api/admin/v1/intercoms/180/members/"+itoa(bob), body), 422)
	}
	// A deleted account has no membership to give.
	f.want(f.admin("DELETE", "/api/admin/v1/users/"+itoa(bob), ""), 204)
	f.want(f.admin("PUT", "/api/admin/v1/intercoms/180/members/"+itoa(bob), `{"title":"t","status":"confirmed"}`), 404)
	f.want(f.admin("GET", "/api/admin/v1/users/"+itoa(bob)+"/memberships", ""), 404)
	for _, path := range []string{
		"/api/admin/v1/intercoms/99999/members", "/api/admin/v1/intercoms/abc/members", "/api/admin/v1/intercoms/180/members/abc",
		"/api/admin/v1/intercoms/99999/members/" + itoa(aliceID), "/api/admin/v1/users/abc/memberships", "/api/admin/v1/users/0/devices",
		"/api/admin/v1/users/99999/devices", "/api/admin/v1/intercoms/99999/calls", "/api/admin/v1/intercoms/x/calls",
	} {
		f.want(f.admin("GET", path, ""), 404)
	}
	f.want(f.admin("GET", "/api/admin/v1/intercoms/180/members?per_page=10000", ""), 422)
}

// A user's devices show which push channels they registered (never the
// tokens) and their last use.
func TestAdminUserDevices(t *testing.T) {
	f := newFixture(t)
	alice, aliceID := f.seedWorld()
	f.want(f.as(alice, "PUT", "/api/v1/devices", `{"fcm_token":"secret-fcm-token-value","voip_token":"secret-voip-token"}`), 204)
	f.loginAs("alice", "alice-web", "web")
	res := f.want(f.admin("GET", "/api/admin/v1/users/"+itoa(aliceID)+"/devices", ""), 200)
	if strings.Contains(string(res.Body), "secret-") {
		t.Fatalf("the tokens are shown: %s", res.Body)
	}
	items, _ := dataOf(t, res)
	if len(items) != 2 {
		t.Fatalf("devices %v", items)
	}
	phone := items[0]
	if phone["uuid"] != "alice-phone" || !cmp.Equal(phone["push_channels"], []any{"fcm", "apns-voip"}) || phone["live_sessions"] != 1.0 ||
		phone["last_used_at"] == nil {
		t.Errorf("the phone: %v", phone)
	}
	if web := items[1]; web["uuid"] != "alice-web" || !cmp.Equal(web["push_channels"], []any{}) || web["client"] != "web" {
		t.Errorf("the web app: %v", web)
	}
}

// An intercom's calls of a day, each with every device's outcome.
func TestAdminIntercomCalls(t *testing.T) {
	f := newFixture(t)
	_, _ = f.seedWorld()
	id, secret := f.provision(`{"address":"A"}`)
	carolID := f.user("carol")
	f.member(id, carolID, "Home")
	f.socket(t, f.loginAs("carol", "carol-phone", "web")) // rings over its socket
	ring := f.want(f.hw(secret, "POST", "/api/hw/v1/ring", `{}`), 201).JSON(t)
	if ring["status"] != "ring" {
		t.Fatalf("ring %v", ring)
	}
	path := "/api/admin/v1/intercoms/" + itoa(id) + "/calls"
	items, total := dataOf(t, f.want(f.admin("GET", path, ""), 200))
	if total != 1 || items[0]["id"] != ring["call_id"] {
		t.Fatalf("today's calls: %v", items)
	}
	if recs, _ := items[0]["recipients"].([]any); len(recs) != 1 || recs[0].(map[string]any)["device"] != "carol-phone" {
		t.Fatalf("recipients %v", items[0]["recipients"])
	}
	if diff := cmp.Diff(f.want(f.admin("GET", "/api/admin/v1/calls/"+jsonNumber(int64(ring["call_id"].(float64))), ""), 200).JSON(t), items[0]); diff != "" {
		t.Errorf("the call differs from GET /calls/{id}:\n%s", diff)
	}
	for _, q := range []string{"date=2022-04-19", "since=2022-04-20T13:00:00Z", "since=2022-04-19T00:00:00Z&until=2022-04-20T12:00:00Z"} {
		if items, total := dataOf(t, f.want(f.admin("GET", path+"?"+q, ""), 200)); total != 0 || len(items) != 0 {
			t.Errorf("%s: %v", q, items)
		}
	}
	for _, q := range []string{"date=2022-04-20", "since=2022-04-20T12:00:00Z", "since=2022-04-20T12:00:00%2B01:00&until=2022-04-20T13:00:00Z"} {
		if _, total := dataOf(t, f.want(f.admin("GET", path+"?"+q, ""), 200)); total != 1 {
			t.Errorf("%s: total %d, want 1", q, total)
		}
	}
	for _, q := range []string{"date=20.04.2022", "date=2022-04-20&since=2022-04-20T12:00:00Z", "since=yesterday",
		"since=2022-04-20T13:00:00Z&until=2022-04-20T12:00:00Z", "per_page=10000"} {
		f.want(f.admin("GET", path+"?"+q, ""), 422)
	}
}

// Deleting an intercom takes its memberships and calls with it (a ringing
// one ended first, its devices told), and refuses its secret.
func TestAdminDeleteIntercom(t *testing.T) {
	f := newFixture(t)
	alice, aliceID := f.seedWorld()
	id, secret := f.provision(`{"address":"A"}`)
	f.member(id, aliceID, "Second home")
	web := f.socket(t, f.loginAs("alice", "alice-web", "web")) // rings over its socket
	ring := f.want(f.hw(secret, "POST", "/api/hw/v1/ring", `{}`), 201).JSON(t)
	if ring["status"] != "ring" {
		t.Fatalf("ring %v", ring)
	}
	web.expect("intercom_ring")
	call := jsonNumber(int64(ring["call_id"].(float64)))
	f.want(f.admin("DELETE", "/api/admin/v1/intercoms/"+itoa(id), ""), 204)
	// The ringing device is told the call is over, not left ringing.
	if e := web.expect("intercom_cancel"); e.data()["reason"] != "hangup" {
		t.Fatalf("intercom_cancel %v, want reason hangup", e)
	}
	f.want(f.admin("DELETE", "/api/admin/v1/intercoms/"+itoa(id), ""), 404)
	f.want(f.admin("GET", "/api/admin/v1/intercoms/"+itoa(id), ""), 404)
	f.want(f.admin("GET", "/api/admin/v1/calls/"+call, ""), 404)
	f.want(f.hw(secret, "POST", "/api/hw/v1/heartbeat", `{}`), 401)
	f.want(f.as(alice, "GET", "/api/v1/intercom/"+itoa(id), ""), 404)
	f.want(f.as(alice, "POST", "/api/v1/intercom/calls/"+call+"/start", ""), 404)
	items, _ := dataOf(t, f.want(f.as(alice, "GET", "/api/v1/intercom", ""), 200))
	if !cmp.Equal(fieldOf(items, "id"), []any{180.0}) {
		t.Fatalf("alice's intercoms after the deletion: %v", fieldOf(items, "id"))
	}
	f.want(f.admin("PUT", "/api/admin/v1/intercoms/"+itoa(id)+"/members/"+itoa(aliceID), `{"title":"t","status":"confirmed"}`), 404)
	for _, path := range []string{"0", "abc", "99999"} {
		f.want(f.admin("DELETE", "/api/admin/v1/intercoms/"+path, ""), 404)
	}
}
