package http_test

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"intercom/node"
)

func TestLogin(t *testing.T) {
	f := newFixture(t)
	id := f.user("carol")
	res := f.want(f.do(request{method: "POST", path: "/api/v1/token",
		body:    `{"login":"carol","password":"password-of-carol","session_id":null,"captcha":"x","key":"y","rememberMe":false}`,
		headers: map[string]string{"X-Client": "android", "X-UUID": "carol-phone"}}), 200)
	v := res.JSON(t)
	user := v["user"].(map[string]any)
	if user["id"] != float64(id) || user["login"] != "carol" || user["parent_id"] != nil || user["can_update_password"] != true {
		t.Errorf("user %v", user)
	}
	if tok, _ := v["access_token"].(string); len(tok) != 43 || strings.HasPrefix(tok, "Bearer") {
		t.Errorf("access_token %q", tok)
	}
	perms := user["permissions"].([]any)
	if len(perms) != 1 || perms[0].(map[string]any)["name"] != "intercom-index" {
		t.Errorf("permissions %v", perms)
	}
	// Two logins, two distinct tokens and token ids.
	a, b := f.login("carol", "p1"), f.login("carol", "p1")
	if a.token == b.token || a.tokenID == b.tokenID {
		t.Error("two logins gave the same token")
	}
	self := f.want(f.as(b, "GET", "/api/v1/users/self", ""), 200).JSON(t)
	if self["access_token_id"] != b.tokenID || self["id"] != float64(id) {
		t.Errorf("users/self %v", self)
	}
}

func TestLoginValidation(t *testing.T) {
	f := newFixture(t)
	f.user("dave")
	hdr := map[string]string{"X-Client": "ios", "X-UUID": "d-1"}
	for _, tt := range []struct {
		body string
		want map[string][]string
	}{
		{`{}`, map[string][]string{"login": {"The login field is required."}, "password": {"The password field is required."}}},
		{`{"login":5,"password":["x"]}`, map[string][]string{"login": {"The login field must be a string."}, "password": {"The password field must be a string."}}},
		{`{"login":"dave","password":"wrong"}`, map[string][]string{"login": {"These credentials do not match our records."}}},
		{`{"login":"nobody","password":"password-of-dave"}`, map[string][]string{"login": {"These credentials do not match our records."}}},
		{`{"Login":"dave","Password":"password-of-dave"}`, map[string][]string{"login": {"The login field is required."}, "password": {"The password field is required."}}},
	} {
		res := f.want(f.do(request{method: "POST", path: "/api/v1/token", body: tt.body, headers: hdr}), 422)
		if got := errorsOf(t, res); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.body, got, tt.want)
		}
	}
	// Without device headers a token cannot be bound: 422 on the headers.
	res := f.want(f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"dave","password":"password-of-dave"}`}), 422)
	if got := errorsOf(t, res); len(got["X-Client"]) != 1 || len(got["X-UUID"]) != 1 {
		t.Errorf("errors %v", got)
	}
}

// The 11th failed login in the window is refused with 429 and Retry-After,
// even with the right password; the window passing lets it in again.
func TestLoginThrottle(t *testing.T) {
	f := newFixture(t)
	f.user("erin")
	hdr := map[string]string{"X-Client": "ios", "X-UUID": "e-1"}
	login := func(pw string) *response {
		return f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"erin","password":"` + pw + `"}`, headers: hdr})
	}
	for i := 0; i < 10; i++ {
		f.want(login("wrong"), 422)
		f.clock.Advance(time.Minute)
	}
	res := f.want(login("password-of-erin"), 429)
	retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || retry != 5*60 {
		t.Errorf("Retry-After %q, want 300 (the first failure leaves the 15-minute window in 5 minutes)", res.Header.Get("Retry-After"))
	}
	if msg := res.JSON(t)["message"]; msg != "Too many login attempts. Please try again in 300 seconds." {
		t.Errorf("message %q", msg)
	}
	f.clock.Advance(5 * time.Minute)
	f.want(login("password-of-erin"), 200)
}

func TestLoginThrottlePerAddress(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) { c.LoginMax = 3 })
	f.user("frank")
	for i := 0; i < 3; i++ {
		f.want(f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"guess` + strconv.Itoa(i) + `","password":"x"}`,
			headers: map[string]string{"X-Client": "ios", "X-UUID": "f-1"}}), 422)
	}
	// Another login, the same address: refused.
	f.want(f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"frank","password":"password-of-frank"}`,
		headers: map[string]string{"X-Client": "ios", "X-UUID": "f-1"}}), 429)
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	path := "/api/v1/intercom/180"
	altered := alice.token[:42] + "A"
	if altered == alice.token {
		altered = alice.token[:42] + "B"
	}
	for name, hdr := range map[string]map[string]string{
		"no token":         {"X-Client": "ios", "X-UUID": alice.uuid},
		"garbage token":    {"Authorization": "Bearer " + strings.Repeat("x", 43), "X-Client": "ios", "X-UUID": alice.uuid},
		"short token":      {"Authorization": "Bearer abc", "X-Client": "ios", "X-UUID": alice.uuid},
		"binary token":     {"Authorization": "Bearer \x01\x02", "X-Client": "ios", "X-UUID": alice.uuid},
		"basic scheme":     {"Authorization": "Basic " + alice.token, "X-Client": "ios", "X-UUID": alice.uuid},
		"bare token":       {"Authorization": alice.token, "X-Client": "ios", "X-UUID": alice.uuid},
		"altered, no hdrs": {"Authorization": "Bearer " + altered},
		"another X-UUID":   {"Authorization": "Bearer " + alice.token, "X-Client": "ios", "X-UUID": "someone-else"},
		"huge header":      {"Authorization": "Bearer " + strings.Repeat("A", 10000), "X-Client": "ios", "X-UUID": alice.uuid},
		"lowercase bearer": {"Authorization": "bearer " + alice.token + "x", "X-Client": "ios", "X-UUID": alice.uuid},
	} {
		res := f.do(request{method: "GET", path: path, headers: hdr})
		if res.Code != http.StatusUnauthorized || string(res.Body) != "{\"message\":\"Unauthenticated.\"}\n" {
			t.Errorf("%s: %d %s", name, res.Code, res.Body)
		}
	}
	// Lowercase "bearer" is fine.
	f.want(f.do(request{method: "GET", path: path, headers: map[string]string{"Authorization": "bearer " + alice.token,
		"X-Client": "ios-cctv", "X-UUID": alice.uuid}}), 200)
}

func TestDeviceHeaders(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	for _, tt := range []struct {
		client, uuid string
		keys         []string
	}{
		{"", alice.uuid, []string{"X-Client"}},
		{"blackberry", alice.uuid, []string{"X-Client"}},
		{"ios", "", []string{"X-UUID"}},
		{"ios", "has space", []string{"X-UUID"}},
		{"ios", strings.Repeat("u", 129), []string{"X-UUID"}},
		{"", "bad/uuid", []string{"X-Client", "X-UUID"}},
	} {
		res := f.want(f.do(request{method: "GET", path: "/api/v1/intercom", headers: map[string]string{
			"Authorization": "Bearer " + alice.token, "X-Client": tt.client, "X-UUID": tt.uuid}}), 422)
		got := errorsOf(t, res)
		if len(got) != len(tt.keys) {
			t.Errorf("%q/%q: errors %v, want keys %v", tt.client, tt.uuid, got, tt.keys)
		}
		for _, k := range tt.keys {
			if _, ok := got[k]; !ok {
				t.Errorf("%q/%q: no error on %s: %v", tt.client, tt.uuid, k, got)
			}
		}
	}
	// Every documented client and alias is accepted.
	for _, c := range []string{"ios-cctv", "android-cctv", "thick-legal", "web", "ios", "android"} {
		f.want(f.do(request{method: "GET", path: "/api/v1/intercom", headers: map[string]string{
			"Authorization": "Bearer " + alice.token, "X-Client": c, "X-UUID": alice.uuid}}), 200)
	}
}

func TestLogoutRevokes(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	other := f.login("alice", "alice-tablet")
	f.want(f.as(alice, "POST", "/api/v1/logout", `{"uuid":"`+alice.uuid+`"}`), 204)
	f.want(f.as(alice, "GET", "/api/v1/intercom", ""), 401)
	f.want(f.as(alice, "POST", "/api/v1/logout", ""), 401)
	f.want(f.as(other, "GET", "/api/v1/intercom", ""), 200)
}

func TestTokenExpires(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) { c.TokenTTL = time.Hour })
	alice, _ := f.seedWorld()
	f.clock.Advance(time.Hour - time.Second)
	f.want(f.as(alice, "GET", "/api/v1/intercom", ""), 200)
	f.clock.Advance(time.Second)
	f.want(f.as(alice, "GET", "/api/v1/intercom", ""), 401)
}

func TestPutDevices(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	f.want(f.as(alice, "PUT", "/api/v1/devices", `{"fcm_token":"fcm:abc","voip_token":"0123abcd"}`), 204)
	f.want(f.as(alice, "PUT", "/api/v1/devices", `{"fcm_token":null,"apn_token":"apn-1"}`), 204)
	f.want(f.as(alice, "PUT", "/api/v1/devices", `{}`), 204)
	tok, err := f.store.AccessTokenByHash(t.Context(), hashOf(alice.token))
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.store.Device(t.Context(), tok.DeviceID)
	if err != nil || d.FCMToken != nil || d.APNToken == nil || *d.APNToken != "apn-1" || d.VoIPToken == nil || *d.VoIPToken != "0123abcd" {
		t.Fatalf("device %+v, %v", d, err)
	}
	for body, key := range map[string]string{
		`{"fcm_token":42}`:                                      "fcm_token",
		`{"voip_token":"has space"}`:                            "voip_token",
		`{"apn_token":"` + strings.Repeat("a", 4097) + `"}`:     "apn_token",
		`{"huawei_token":"naïve"}`:                              "huawei_token",
		`{"fcm_token":["x"],"voip_token":"ok","apn_token":"x"}`: "fcm_token",
	} {
		res := f.want(f.as(alice, "PUT", "/api/v1/devices", body), 422)
		if _, ok := errorsOf(t, res)[key]; !ok {
			t.Errorf("%.60s: %s", body, res.Body)
		}
	}
	d, _ = f.store.Device(t.Context(), tok.DeviceID)
	if *d.VoIPToken != "0123abcd" || *d.APNToken != "apn-1" {
		t.Errorf("a rejected PUT changed the device: %+v", d)
	}
}

// Behind a trusted proxy, failures count against the address it names, so
// one attacker does not lock out everyone behind the proxy.
func TestLoginThrottleBehindProxy(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) { c.LoginMax = 2; c.RealIPHeader = "X-Forwarded-For" })
	f.user("gus")
	try := func(from, login, pw string) *response {
		return f.do(request{method: "POST", path: "/api/v1/token", body: `{"login":"` + login + `","password":"` + pw + `"}`,
			headers: map[string]string{"X-Client": "ios", "X-UUID": "g-1", "X-Forwarded-For": "198.51.100.1, " + from}})
	}
	f.want(try("203.0.113.7", "nobody1", "x"), 422)
	f.want(try("203.0.113.7", "nobody2", "x"), 422)
	f.want(try("203.0.113.7", "gus", "password-of-gus"), 429)
	f.want(try("203.0.113.8", "gus", "password-of-gus"), 200)
}
