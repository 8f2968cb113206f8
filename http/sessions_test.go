package http_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom/node"
)

// loggedOut checks that the socket gets the logout event (App\Events\TokenPush
// on its token channel, Aipix's envelope), then pusher:error 4009 and the
// close: nothing after it.
func (s *sock) loggedOut() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), 5*time.Second)
	defer cancel()
	for {
		m, err := s.c.Next(ctx)
		if err != nil {
			s.t.Fatalf("waiting for the logout event: %v", err)
		}
		if m.Event == "pusher:error" {
			s.t.Fatalf("the socket was closed before its logout event: %s", m.Data)
		}
		if m.Event != `App\Events\TokenPush` {
			continue
		}
		if want := `{"data":{"type":"logout"},"subject":null,"message":null}`; m.Data != want {
			s.t.Fatalf("logout event %s, want %s", m.Data, want)
		}
		if m.Channel == "" || m.Channel[:len("private-token.")] != "private-token." {
			s.t.Fatalf("logout event on %q, want the token channel", m.Channel)
		}
		break
	}
	s.closed()
}

// sessionsOf lists a device's account's sessions, keyed by id.
func (f *fixture) sessionsOf(d device) map[string]map[string]any {
	f.t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(f.want(f.as(d, "GET", "/api/v1/sessions", ""), 200).Body, &list); err != nil {
		f.t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, s := range list {
		out[s["id"].(string)] = s
	}
	return out
}

// loginWith posts a login with extra fields and headers.
func (f *fixture) loginWith(body, uuid string, headers map[string]string) *response {
	f.t.Helper()
	h := map[string]string{"X-Client": "android", "X-UUID": uuid, "User-Agent": "Pixel 8 / 14 / ANDROID"}
	for k, v := range headers {
		h[k] = v
	}
	return f.do(request{method: "POST", path: "/api/v1/token", body: body, headers: h})
}

func TestSessionsList(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	res := f.want(f.loginWith(`{"login":"alice","password":"password-of-alice"}`, "alice-tablet", nil), 200).JSON(t)
	tablet := device{token: res["access_token"].(string), uuid: "alice-tablet", client: "android", userID: alice.userID,
		tokenID: res["user"].(map[string]any)["access_token_id"].(string)}
	f.user("bob")
	bob := f.login("bob", "bob-phone")

	got := f.sessionsOf(alice)
	want := map[string]map[string]any{
		alice.tokenID: {"id": alice.tokenID, "online": false, "is_current": true, "user_agent": "", "client": "ios",
			"ip": "192.0.2.1", "last": "2022-04-20 12:34:32"},
		tablet.tokenID: {"id": tablet.tokenID, "online": false, "is_current": false, "user_agent": "Pixel 8 / 14 / ANDROID",
			"client": "android", "ip": "192.0.2.1", "last": "2022-04-20 12:34:32"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GET /api/v1/sessions (-want +got):\n%s", diff)
	}
	if _, ok := f.sessionsOf(bob)[alice.tokenID]; ok {
		t.Fatal("bob sees alice's sessions")
	}

	// online while a socket the session authorized is open.
	f.socket(t, tablet).drain()
	if s := f.sessionsOf(alice)[tablet.tokenID]; s["online"] != true {
		t.Fatalf("the tablet with a socket open: %v", s)
	}

	// Uses are coalesced: one shows at once, but is written only when its
	// address or User-Agent changed, or a minute after the last written.
	f.clock.Advance(30 * time.Second)
	f.want(f.as(tablet, "GET", "/api/v1/intercom", ""), 200) // no User-Agent now: a change, due at once
	f.clock.Advance(10 * time.Second)
	h := tablet.headers()
	h["User-Agent"] = ""
	f.want(f.do(request{method: "GET", path: "/api/v1/intercom", headers: h}), 200) // same as the one written: not due
	stored := func() time.Time {
		t.Helper()
		live, err := f.store.LiveAccessTokens(t.Context(), alice.userID, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range live {
			if tok.PublicID == tablet.tokenID {
				return tok.LastUsedAt
			}
		}
		t.Fatal("the tablet's session is gone")
		return time.Time{}
	}
	if got, want := stored(), start.Add(30*time.Second); !got.Equal(want) {
		t.Fatalf("written last use %v, want %v (the change of User-Agent, not the use after it)", got, want)
	}
	if s := f.sessionsOf(alice)[tablet.tokenID]; s["last"] != "2022-04-20 12:35:12" || s["user_agent"] != "" {
		t.Fatalf("listed %v, want the latest use (12:35:12, no User-Agent)", s)
	}
	f.clock.Advance(time.Minute)
	f.want(f.do(request{method: "GET", path: "/api/v1/intercom", headers: h}), 200) // a minute after: due
	if got, want := stored(), start.Add(100*time.Second); !got.Equal(want) {
		t.Fatalf("written last use %v, want %v", got, want)
	}
}

func TestEndSession(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	tablet := f.login("alice", "alice-tablet")
	f.user("bob")
	bob := f.login("bob", "bob-phone")
	tabletSock, phoneSock := f.socket(t, tablet), f.socket(t, alice)

	// Another account's session, an unknown or malformed id: 404, nothing
	// changed.
	for _, tc := range []struct {
		name string
		as   device
		id   string
	}{
		{"another account's", bob, tablet.tokenID},
		{"unknown", alice, "0000000000000000000000000000000000000000"},
		{"malformed", alice, "not-a-session"},
		{"upper case", alice, "ABCDEF0000000000000000000000000000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.want(f.as(tc.as, "POST", "/api/v1/sessions/"+tc.id, ""), 404)
			if diff := cmp.Diff(map[string]any{"message": "Not found."}, res.JSON(t)); diff != "" {
				t.Fatal(diff)
			}
		})
	}
	f.want(f.as(tablet, "GET", "/api/v1/users/self", ""), 200)
	tabletSock.none("logout")

	res := f.want(f.as(alice, "POST", "/api/v1/sessions/"+tablet.tokenID, ""), 200)
	if diff := cmp.Diff(map[string]any{"status": "ok"}, res.JSON(t)); diff != "" {
		t.Fatal(diff)
	}
	tabletSock.loggedOut()
	f.want(f.as(tablet, "GET", "/api/v1/users/self", ""), 401)
	f.want(f.as(alice, "POST", "/api/v1/sessions/"+tablet.tokenID, ""), 404) // once
	if _, ok := f.sessionsOf(alice)[tablet.tokenID]; ok {
		t.Fatal("the ended session is still listed")
	}
	f.want(f.as(bob, "GET", "/api/v1/users/self", ""), 200)

	// Its own session too.
	f.want(f.as(alice, "POST", "/api/v1/sessions/"+alice.tokenID, ""), 200)
	phoneSock.loggedOut()
	f.want(f.as(alice, "GET", "/api/v1/users/self", ""), 401)
}

func TestSessionsLimit(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) { c.SessionsLimit = 2 })
	alice, _ := f.seedWorld()
	tablet := f.login("alice", "alice-tablet")
	f.user("bob")
	tabletSock := f.socket(t, tablet)
	const creds = `"login":"alice","password":"password-of-alice"`

	res := f.want(f.loginWith(`{`+creds+`}`, "alice-laptop", nil), 419)
	body := res.JSON(t)
	key, _ := body["key"].(string)
	if body["sessions_limit"] != 2.0 || key == "" || body["message"] == "" {
		t.Fatalf("419 body %s", res.Body)
	}
	var ids []string
	for _, s := range body["sessions"].([]any) {
		ids = append(ids, s.(map[string]any)["id"].(string))
	}
	if diff := cmp.Diff([]string{alice.tokenID, tablet.tokenID}, ids); diff != "" {
		t.Fatalf("sessions in the 419 (-want +got):\n%s", diff)
	}
	// A wrong password at the limit is still a wrong password.
	f.want(f.loginWith(`{"login":"alice","password":"nope"}`, "alice-laptop", nil), 422)
	// iOS sends session_id null and a captcha key: a plain login.
	f.want(f.loginWith(`{`+creds+`,"session_id":null,"key":"captcha","rememberMe":false}`, "alice-laptop", nil), 419)

	// bob at his limit gets a key of his own.
	f.login("bob", "bob-1")
	f.login("bob", "bob-2")
	bobRes := f.want(f.loginWith(`{"login":"bob","password":"password-of-bob"}`, "bob-3", nil), 419)

	for _, tc := range []struct {
		name, body, key string
	}{
		{"no key", `{` + creds + `,"session_id":"` + tablet.tokenID + `"}`, "key"},
		{"a forged key", `{` + creds + `,"session_id":"` + tablet.tokenID + `","key":"9999999999.AAAA"}`, "key"},
		{"another login's key", `{` + creds + `,"session_id":"` + tablet.tokenID + `","key":"` + bobRes.JSON(t)["key"].(string) + `"}`, "key"},
		{"a session not the account's", `{` + creds + `,"session_id":"0000000000000000000000000000000000000000","key":"` + key + `"}`, "session_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.want(f.loginWith(tc.body, "alice-laptop", nil), 422)
			if errs := errorsOf(t, res); len(errs[tc.key]) == 0 {
				t.Fatalf("422 %s, want it on %s", res.Body, tc.key)
			}
		})
	}
	f.want(f.as(tablet, "GET", "/api/v1/users/self", ""), 200) // nothing ended

	// An expired key.
	f.clock.Advance(5*time.Minute + time.Second)
	res = f.want(f.loginWith(`{`+creds+`,"session_id":"`+tablet.tokenID+`","key":"`+key+`"}`, "alice-laptop", nil), 422)
	if errs := errorsOf(t, res); len(errs["key"]) == 0 {
		t.Fatalf("an expired key: %s", res.Body)
	}
	f.want(f.as(tablet, "GET", "/api/v1/users/self", ""), 200)

	// A fresh one ends the tablet's session and logs in.
	key = f.want(f.loginWith(`{`+creds+`}`, "alice-laptop", nil), 419).JSON(t)["key"].(string)
	res = f.want(f.loginWith(`{`+creds+`,"session_id":"`+tablet.tokenID+`","key":"`+key+`"}`, "alice-laptop", nil), 200)
	laptop := res.JSON(t)["user"].(map[string]any)["access_token_id"].(string)
	tabletSock.loggedOut()
	f.want(f.as(tablet, "GET", "/api/v1/users/self", ""), 401)
	got := f.sessionsOf(alice)
	if len(got) != 2 || got[alice.tokenID] == nil || got[laptop] == nil {
		t.Fatalf("sessions after ending one: %v", got)
	}
}

func TestUpdateSelf(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.seedWorld()
	tablet := f.login("alice", "alice-tablet")
	tabletSock := f.socket(t, tablet)
	f.user("bob")
	bob := f.login("bob", "bob-phone")

	res := f.want(f.as(alice, "PUT", "/api/v1/users/self", `{"language":"ru"}`), 200).JSON(t)
	if res["language"] != "ru" || res["access_token_id"] != alice.tokenID {
		t.Fatalf("after choosing ru: %v", res)
	}
	if got := f.want(f.as(tablet, "GET", "/api/v1/users/self", ""), 200).JSON(t)["language"]; got != "ru" {
		t.Fatalf("the account's language from the tablet: %v", got)
	}
	if got := f.want(f.as(bob, "GET", "/api/v1/users/self", ""), 200).JSON(t)["language"]; got != nil {
		t.Fatalf("bob's language: %v", got)
	}

	for _, tc := range []struct {
		name, body string
		want       map[string][]string
	}{
		{"unknown language", `{"language":"xx"}`, map[string][]string{"language": {"The selected language is invalid."}}},
		{"language not a string", `{"language":1}`, map[string][]string{"language": {"The language field must be a string."}}},
		{"nothing", `{}`, map[string][]string{"language": {"The language field is required when password is not present."}}},
		{"no current password", `{"password":"new-password","password_confirmation":"new-password"}`,
			map[string][]string{"current_password": {"The current password field is required."}}},
		{"short", `{"current_password":"password-of-alice","password":"short","password_confirmation":"short"}`,
			map[string][]string{"password": {"The password field must be at least 8 characters."}}},
		{"unconfirmed", `{"current_password":"password-of-alice","password":"new-password","password_confirmation":"other"}`,
			map[string][]string{"password": {"The password field confirmation does not match."}}},
		{"wrong current password", `{"current_password":"nope","password":"new-password","password_confirmation":"new-password"}`,
			map[string][]string{"current_password": {"The password is incorrect."}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.want(f.as(alice, "PUT", "/api/v1/users/self", tc.body), 422)
			if diff := cmp.Diff(tc.want, errorsOf(t, res)); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
		})
	}
	tabletSock.none("logout")
	f.want(f.as(tablet, "GET", "/api/v1/users/self", ""), 200)

	// The password change ends the account's other sessions, not this one.
	res = f.want(f.as(alice, "PUT", "/api/v1/users/self",
		`{"current_password":"password-of-alice","password":"new-password","password_confirmation":"new-password"}`), 200).JSON(t)
	if res["access_token_id"] != alice.tokenID {
		t.Fatalf("the user after the change: %v", res)
	}
	tabletSock.loggedOut()
	f.want(f.as(tablet, "GET", "/api/v1/users/self", ""), 401)
	f.want(f.as(alice, "GET", "/api/v1/users/self", ""), 200)
	f.want(f.as(bob, "GET", "/api/v1/users/self", ""), 200)
	f.want(f.loginWith(`{"login":"alice","password":"password-of-alice"}`, "alice-laptop", nil), 422)
	f.want(f.loginWith(`{"login":"alice","password":"new-password"}`, "alice-laptop", nil), 200)
}

// A wrong current password counts as a failed login of the account: the
// throttle refuses both past its allowance.
func TestUpdateSelfWrongPasswordIsThrottled(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) { c.LoginMax = 3 })
	alice, _ := f.seedWorld()
	const wrong = `{"current_password":"nope","password":"new-password","password_confirmation":"new-password"}`
	for range 3 {
		f.want(f.as(alice, "PUT", "/api/v1/users/self", wrong), 422)
	}
	res := f.want(f.as(alice, "PUT", "/api/v1/users/self", wrong), 429)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	f.want(f.loginWith(`{"login":"alice","password":"password-of-alice"}`, "alice-laptop", nil), 429)
	f.want(f.as(alice, "PUT", "/api/v1/users/self",
		`{"current_password":"password-of-alice","password":"new-password","password_confirmation":"new-password"}`), 429)
}
