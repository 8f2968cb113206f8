package http_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"intercom/node"
)

func TestAdminAPIHiddenWithoutToken(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) { c.AdminToken = "" })
	for _, rq := range []request{
		{method: "POST", path: "/api/admin/v1/users", body: `{"login":"x","password":"password1"}`},
		{method: "POST", path: "/api/admin/v1/users", body: `{}`, headers: map[string]string{"Authorization": "Bearer "}},
		{method: "GET", path: "/api/admin/v1/users"},
	} {
		f.want(f.do(rq), 404)
	}
}

func TestAdminAuth(t *testing.T) {
	f := newFixture(t)
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + adminToken + "x", adminToken} {
		f.want(f.do(request{method: "POST", path: "/api/admin/v1/users", body: `{"login":"x","password":"password1"}`,
			headers: map[string]string{"Authorization": auth}}), 401)
	}
}

func TestAdminUsers(t *testing.T) {
	f := newFixture(t)
	res := f.want(f.admin("POST", "/api/admin/v1/users", `{"login":" zoe ","password":"password-of-zoe","name":"Zoe Z"}`), 201).JSON(t)
	if res["login"] != "zoe" || res["name"] != "Zoe Z" {
		t.Errorf("created %v", res)
	}
	for body, key := range map[string]string{
		`{"login":"zoe","password":"long enough"}`:        "login",
		`{"login":"x","password":"short"}`:                "password",
		`{"password":"long enough"}`:                      "login",
		`{"login":"y","password":"long enough","name":7}`: "name",
	} {
		if _, ok := errorsOf(t, f.want(f.admin("POST", "/api/admin/v1/users", body), 422))[key]; !ok {
			t.Errorf("%s: no error on %s", body, key)
		}
	}
	id := itoa(int64(res["id"].(float64)))
	f.login("zoe", "z-1") // fails the test unless zoe can log in
	f.want(f.admin("DELETE", "/api/admin/v1/users/"+id, ""), 204)
	f.want(f.admin("DELETE", "/api/admin/v1/users/"+id, ""), 404)
	f.want(f.admin("DELETE", "/api/admin/v1/users/zoe", ""), 404)
}

func TestAdminUserDeletionEndsSessions(t *testing.T) {
	f := newFixture(t)
	alice, aliceID := f.seedWorld()
	f.want(f.admin("DELETE", "/api/admin/v1/users/"+itoa(aliceID), ""), 204)
	f.want(f.as(alice, "GET", "/api/v1/intercom", ""), 401)
}

func TestAdminCamerasAndIntercoms(t *testing.T) {
	f := newFixture(t)
	cam := f.want(f.admin("POST", "/api/admin/v1/cameras",
		`{"name":"Entrance","group_id":124,"lat":55.75,"lng":37.61,"is_archive_recording":true,"start_at":"2022-04-19 16:43:15"}`), 201).JSON(t)
	if cam["pretty_name"] != "Entrance" || cam["status"] != "active" || cam["start_at"] != "2022-04-19 16:43:15" || cam["lat"] != 55.75 {
		t.Errorf("camera %v", cam)
	}
	if _, ok := cam["is_favorite"]; ok {
		t.Error("the admin camera carries the per-account is_favorite")
	}
	for body, key := range map[string]string{
		`{}`:                                  "name",
		`{"name":"x","status":"broken"}`:      "status",
		`{"name":"x","lat":91}`:               "lat",
		`{"name":"x","lng":"east"}`:           "lng",
		`{"name":"x","start_at":"yesterday"}`: "start_at",
		`{"name":"x","is_bridge":"maybe"}`:    "is_bridge",
		`{"name":"x","group_id":1.5}`:         "group_id",
	} {
		if _, ok := errorsOf(t, f.want(f.admin("POST", "/api/admin/v1/cameras", body), 422))[key]; !ok {
			t.Errorf("%s: no error on %s", body, key)
		}
	}
	camID := itoa(int64(cam["id"].(float64)))
	ic := f.want(f.admin("POST", "/api/admin/v1/intercoms",
		`{"address":"Main st 1","department":100,"camera_id":`+camID+`,"control_url":"https://panel.example/api","door_open_seconds":5}`), 201).JSON(t)
	if s, _ := ic["secret"].(string); len(s) < 32 || ic["door_open_seconds"] != float64(5) {
		t.Errorf("intercom %v", ic)
	}
	for body, key := range map[string]string{
		`{}`:                               "address",
		`{"address":"a","camera_id":4242}`: "camera_id",
		`{"address":"a","control_url":"ftp://panel/x"}`:       "control_url",
		`{"address":"a","control_url":"javascript:alert(1)"}`: "control_url",
		`{"address":"a","control_url":"/relative"}`:           "control_url",
		`{"address":"a","door_open_seconds":0}`:               "door_open_seconds",
		`{"address":"a","department":"ten"}`:                  "department",
	} {
		if _, ok := errorsOf(t, f.want(f.admin("POST", "/api/admin/v1/intercoms", body), 422))[key]; !ok {
			t.Errorf("%s: no error on %s", body, key)
		}
	}
}

func TestAdminMembers(t *testing.T) {
	f := newFixture(t)
	uid := f.user("yan")
	d := f.login("yan", "yan-phone")
	ic := f.intercom(`{"address":"Somewhere 5"}`)
	path := "/api/admin/v1/intercoms/" + itoa(ic) + "/members/" + itoa(uid)
	m := f.want(f.admin("PUT", path, `{"title":"Home","status":"confirmed","flat":"15"}`), 200).JSON(t)
	if m["flat"] != float64(15) || m["title"] != "Home" {
		t.Errorf("membership %v", m)
	}
	v := f.want(f.as(d, "GET", "/api/v1/intercom/"+itoa(ic), ""), 200).JSON(t)
	if v["title"] != "Home" || v["camera"] != nil || v["is_online"] != false || v["status"] != "confirmed" {
		t.Errorf("intercom %v", v)
	}
	for body, key := range map[string]string{
		`{"status":"confirmed"}`:                                            "title",
		`{"title":"x"}`:                                                     "status",
		`{"title":"x","status":"keyConfirmed"}`:                             "status",
		`{"title":"x","status":"confirmed","flat":-1}`:                      "flat",
		`{"title":"` + strings.Repeat("t", 256) + `","status":"confirmed"}`: "title",
	} {
		if _, ok := errorsOf(t, f.want(f.admin("PUT", path, body), 422))[key]; !ok {
			t.Errorf("%s: no error on %s", body, key)
		}
	}
	f.want(f.admin("PUT", "/api/admin/v1/intercoms/4242/members/"+itoa(uid), `{"title":"x","status":"confirmed"}`), 404)
	f.want(f.admin("PUT", "/api/admin/v1/intercoms/"+itoa(ic)+"/members/4242", `{"title":"x","status":"confirmed"}`), 404)
	f.want(f.admin("DELETE", path, ""), 204)
	f.want(f.admin("DELETE", path, ""), 404)
	f.want(f.as(d, "GET", "/api/v1/intercom/"+itoa(ic), ""), 404)
}

// A control URL that redirects is refused when the intercom is provisioned;
// one that does not answer yet (an intercom still in its box) is accepted.
func TestControlURLThatRedirects(t *testing.T) {
	f := newFixture(t)
	redirector := httptest.NewServer(http.RedirectHandler("http://example.invalid/", http.StatusMovedPermanently))
	defer redirector.Close()
	res := f.want(f.admin("POST", "/api/admin/v1/intercoms", `{"address":"a","control_url":"`+redirector.URL+`/control"}`), 422)
	if _, ok := errorsOf(t, res)["control_url"]; !ok {
		t.Errorf("%s", res.Body)
	}
	silent := httptest.NewServer(http.NotFoundHandler())
	url := silent.URL
	silent.Close()
	f.want(f.admin("POST", "/api/admin/v1/intercoms", `{"address":"a","control_url":"`+url+`/control"}`), 201)
}
