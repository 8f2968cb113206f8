package http_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"intercom"
	"intercom/node"
)

// world is an intercom with residents in flat 15 and one in flat 16.
type world struct {
	f          *fixture
	intercomID int64
	secret     string
	alice      device // confirmed, flat 15
	aliceID    int64
}

// newWorld is a world whose alice is a web client: it rings over its Pusher
// socket once one is open (API.md §6).
func newWorld(t *testing.T, f *fixture) *world {
	t.Helper()
	return newWorldWith(t, f, "web")
}

// newWorldWith is a world whose alice signs in with the given X-Client.
func newWorldWith(t *testing.T, f *fixture, client string) *world {
	t.Helper()
	id, secret := f.provision(`{"address":"Lenina 1","department":7}`)
	aliceID := f.user("alice")
	f.memberOf(id, aliceID, "15", "confirmed")
	return &world{f: f, intercomID: id, secret: secret, alice: f.loginAs("alice", "alice-phone", client), aliceID: aliceID}
}

func (w *world) ring(body string) map[string]any {
	w.f.t.Helper()
	return w.f.want(w.f.hw(w.secret, "POST", "/api/hw/v1/ring", body), 201).JSON(w.f.t)
}

func callPath(v map[string]any, action string) string {
	p := "/api/v1/intercom/calls/" + itoa(int64(v["call_id"].(float64)))
	if action != "" {
		p += "/" + action
	}
	return p
}

func TestRingDecidesWhoRings(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	phone := f.socket(t, w.alice)
	tablet := f.loginAs("alice", "alice-tablet", "web") // switched off
	tabletSock := f.socket(t, tablet)
	f.want(f.as(tablet, "PATCH", "/api/v1/intercom/"+itoa(w.intercomID), `{"is_enabled":false}`), 200)
	watch := f.loginAs("alice", "alice-watch", "thick-legal") // outside its timetable: now is Wednesday 12:34 UTC
	watchSock := f.socket(t, watch)
	f.want(f.as(watch, "PATCH", "/api/v1/intercom/"+itoa(w.intercomID),
		`{"timetable":{"days":[{"type":"wednesday","from":"13:00Z","to":"14:00Z"}]}}`), 200)
	f.loginAs("alice", "alice-laptop", "web") // no socket: no channel
	gone := f.login("alice", "alice-old")
	f.want(f.as(gone, "POST", "/api/v1/logout", ""), 204) // no live token: not listed at all
	bobID := f.user("bob")
	f.memberOf(w.intercomID, bobID, "15", "key_confirmed")
	f.socket(t, f.login("bob", "bob-phone"))
	carolID := f.user("carol")
	f.memberOf(w.intercomID, carolID, "16", "confirmed")
	carolSock := f.socket(t, f.loginAs("carol", "carol-phone", "web"))

	v := w.ring(`{"flat":15}`)
	if v["status"] != "ring" {
		t.Fatalf("ring: %v", v)
	}
	recipients, _ := json.Marshal(v["recipients"])
	if string(recipients) != `[{"channels":["ws"],"client":"web","device":"alice-phone"}]` {
		t.Errorf("recipients %s", recipients)
	}
	skipped := map[string]string{}
	for _, s := range v["skipped"].([]any) {
		m := s.(map[string]any)
		skipped[m["device"].(string)] = m["reason"].(string)
	}
	want := map[string]string{"alice-tablet": "disabled", "alice-watch": "outside_timetable", "alice-laptop": "no_channel", "bob-phone": "not_confirmed"}
	if len(skipped) != len(want) {
		t.Errorf("skipped %v, want %v", skipped, want)
	}
	for k, r := range want {
		if skipped[k] != r {
			t.Errorf("skipped[%s] = %q, want %q", k, skipped[k], r)
		}
	}
	e := phone.expect("intercom_ring")
	d := e.data()
	if d["call_id"] != v["call_id"] || d["id"] != float64(w.intercomID) || d["address"] != "Lenina 1" ||
		d["title"] != "Door of "+itoa(w.aliceID) || d["is_open_door_app"] != false /* no control URL */ || d["call_created_at"] != "2022-04-20 12:34:32" {
		t.Errorf("intercom_ring data %v", d)
	}
	if id, _ := e["id"].(string); len(id) != 36 {
		t.Errorf("notification id %q is not a uuid", e["id"])
	}
	tabletSock.none("intercom_ring")
	watchSock.none("intercom_ring")
	carolSock.none("intercom_ring")
	// The history of every account concerned has it.
	f.srv.Wait()
	if e := phone.expect("intercom.call.store"); e["intercom_call"].(map[string]any)["status"] != "ring" {
		t.Errorf("intercom.call.store %v", e)
	}
	f.want(f.as(f.login("bob", "bob-2"), "GET", callPath(v, ""), ""), 200)

	// Without a flat: a private house, every member.
	all := w.ring(`{}`)
	if len(all["recipients"].([]any)) != 2 { // alice's phone and carol's
		t.Errorf("ring without flat: %v", all["recipients"])
	}
}

func TestRingWithNobodyIsMissed(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f) // alice has no socket
	v := w.ring(`{"flat":"15"}`)
	if v["status"] != "missed" || len(v["recipients"].([]any)) != 0 {
		t.Fatalf("ring: %v", v)
	}
	c := f.want(f.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t)
	if c["status"] != "missed" {
		t.Errorf("call %v", c)
	}
	res := f.want(f.as(w.alice, "GET", "/api/v1/intercom/calls?types[]=missed_intercom_call", ""), 200).JSON(t)
	if res["meta"].(map[string]any)["total"] != float64(1) {
		t.Errorf("missed calls: %v", res["meta"])
	}
}

func TestFirstAnswerWins(t *testing.T) {
	f := newSIPFixture(t)
	w := newWorld(t, f)
	tablet := f.loginAs("alice", "alice-tablet", "web")
	phoneSock, tabletSock := f.socket(t, w.alice), f.socket(t, tablet)
	v := w.ring(`{"flat":15}`)
	phoneSock.expect("intercom_ring")
	tabletSock.expect("intercom_ring")

	ans := f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 200).JSON(t)
	f.want(f.as(tablet, "POST", callPath(v, "start"), ""), 404)
	f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 404) // twice: the second is 404 too
	if e := tabletSock.expect("intercom_cancel"); e.data()["reason"] != "answered_elsewhere" || e["reason"] != "answered_elsewhere" {
		t.Errorf("cancel %v", e)
	}
	phoneSock.none("intercom_cancel")

	// The answer: SIP over WebSocket with a token the SIP server can verify.
	// The number is the ring's: ten digits, never a flat, the token's sub.
	if ans["host"] != "sip.intercomd.test" || ans["number"] != v["number"] || !intercom.IsCallNumber(v["number"].(string)) {
		t.Errorf("answer %v to ring %v", ans, v)
	}
	u, err := url.Parse(ans["sip"].(string))
	if err != nil || u.Scheme != "wss" || u.Host != "sip.intercomd.test" {
		t.Fatalf("sip %v: %v", ans["sip"], err)
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(u.Query().Get("token"), claims, func(*jwt.Token) (any, error) { return []byte("sip-secret"), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(f.clock.Now))
	if err != nil || !tok.Valid {
		t.Fatalf("SIP token: %v", err)
	}
	exp, _ := claims.GetExpirationTime()
	if claims["call"] != v["call_id"] || claims["device"] != "alice-phone" || claims["sub"] != v["number"] || claims["user"] != float64(w.aliceID) ||
		exp.Sub(f.clock.Now()) > 60*time.Second {
		t.Errorf("claims %v", claims)
	}
	if _, err := jwt.Parse(u.Query().Get("token"), func(*jwt.Token) (any, error) { return []byte("wrong"), nil }); err == nil {
		t.Error("token verifies with another secret")
	}

	c := f.want(f.as(tablet, "GET", callPath(v, ""), ""), 200).JSON(t)
	if c["status"] != "answered" || c["started_at"] != "2022-04-20 12:34:32" {
		t.Errorf("call %v", c)
	}
	f.want(f.as(tablet, "POST", callPath(v, "end"), ""), 404) // not the device that answered
	f.want(f.as(tablet, "POST", callPath(v, "cancel"), ""), 404)
	// The SIP server reports the voice connected: the connect deadline is
	// off, and the conversation outlives the ring timeout.
	f.want(f.sip("POST", "/api/sip/v1/calls/"+v["number"].(string)+"/connected", ""), 200)
	f.clock.Advance(95 * time.Second)
	f.want(f.as(w.alice, "GET", callPath(v, "end"), ""), 204) // GET, as older app builds send
	f.want(f.as(w.alice, "POST", callPath(v, "end"), ""), 404)
	c = f.want(f.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t)
	if c["status"] != "ended" || c["ended_at"] != "2022-04-20 12:36:07" {
		t.Errorf("call %v", c)
	}
	// The ring timeout does not touch an answered call.
	f.srv.Wait()
	tabletSock.none("intercom_cancel")
}

// The answer names the TURN and STUN servers of --turn-url, the TURN ones
// with a credential good until the conversation's latest end (answer +
// connect timeout + longest conversation, on the server's clock); without
// them it has no ice_servers key at all, as the mobile SDKs know it.
func TestStartGivesICEServers(t *testing.T) {
	turnURLs := []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"}
	stunURLs := []string{"stun:turn.example.com:3478"}
	for _, tt := range []struct {
		name string
		urls []string
	}{
		{"none", nil},
		{"turn and stun", append(append([]string{}, stunURLs...), turnURLs...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureWith(t, func(c *node.Config) {
				c.ICEURLs, c.TURNSecret = tt.urls, []byte("turn-secret")
				c.AnswerConnectTimeout, c.MaxCallDuration = 15*time.Second, 3*time.Minute
			})
			w := newWorld(t, f)
			sock := f.socket(t, w.alice)
			v := w.ring(`{"flat":15}`)
			sock.expect("intercom_ring")
			f.clock.Advance(5 * time.Second)
			ans := f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 200).JSON(t)
			if tt.urls == nil {
				if servers, ok := ans["ice_servers"]; ok {
					t.Errorf("ice_servers %v with no --turn-url", servers)
				}
				return
			}
			expires := start.Add(5*time.Second + 15*time.Second + 3*time.Minute).Unix()
			username := strconv.FormatInt(expires, 10) + ":" + strconv.FormatInt(w.aliceID, 10)
			mac := hmac.New(sha1.New, []byte("turn-secret"))
			mac.Write([]byte(username))
			want := []any{
				map[string]any{"urls": []any{turnURLs[0], turnURLs[1]}, "username": username,
					"credential": base64.StdEncoding.EncodeToString(mac.Sum(nil))},
				map[string]any{"urls": []any{stunURLs[0]}},
			}
			if diff := cmp.Diff(want, ans["ice_servers"]); diff != "" {
				t.Errorf("ice_servers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeclineEverywhereIsMissed(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	tablet := f.loginAs("alice", "alice-tablet", "web")
	phoneSock, tabletSock := f.socket(t, w.alice), f.socket(t, tablet)
	v := w.ring(`{"flat":15}`)
	f.want(f.as(w.alice, "POST", callPath(v, "cancel"), ""), 204)
	f.want(f.as(w.alice, "POST", callPath(v, "cancel"), ""), 404)
	f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 404) // declined: may not answer
	if c := f.want(f.as(tablet, "GET", callPath(v, ""), ""), 200).JSON(t); c["status"] != "ring" {
		t.Fatalf("after one decline: %v", c)
	}
	tabletSock.none("intercom_cancel")
	phoneSock.expect("intercom_cancel")
	f.want(f.as(tablet, "GET", callPath(v, "cancel"), ""), 204)
	if c := f.want(f.as(tablet, "GET", callPath(v, ""), ""), 200).JSON(t); c["status"] != "missed" {
		t.Fatalf("after every device declined: %v", c)
	}
}

func TestRingTimeout(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	sock := f.socket(t, w.alice)
	v := w.ring(`{"flat":15}`)
	sock.expect("intercom_ring")
	f.clock.Advance(29 * time.Second)
	if c := f.want(f.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t); c["status"] != "ring" {
		t.Fatalf("at 29 s: %v", c)
	}
	f.clock.Advance(time.Second)
	f.srv.Wait()
	if c := f.want(f.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t); c["status"] != "missed" || c["ended_at"] != "2022-04-20 12:35:02" {
		t.Fatalf("at 30 s: %v", c)
	}
	if e := sock.expect("intercom_cancel"); e["reason"] != "timeout" {
		t.Errorf("cancel %v", e)
	}
	f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 404)
}

// A restarted server picks up the timeouts of calls left ringing.
func TestRingTimeoutSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	f.socket(t, w.alice)
	v := w.ring(`{"flat":15}`)
	f.srv.Close()
	f2 := newFixtureOn(t, f)
	if err := f2.srv.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	f2.clock.Advance(30 * time.Second)
	f2.srv.Wait()
	if c := f2.want(f2.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t); c["status"] != "missed" {
		t.Fatalf("after restart and timeout: %v", c)
	}
}

func TestVisitorHangsUp(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	sock := f.socket(t, w.alice)
	v := w.ring(`{"flat":15}`)
	path := "/api/hw/v1/calls/" + itoa(int64(v["call_id"].(float64)))
	if c := f.want(f.hw(w.secret, "GET", path, ""), 200).JSON(t); c["status"] != "ring" {
		t.Fatalf("hw call %v", c)
	}
	f.want(f.hw(w.secret, "POST", path+"/end", ""), 204)
	if e := sock.expect("intercom_cancel"); e["reason"] != "hangup" {
		t.Errorf("cancel %v", e)
	}
	if c := f.want(f.hw(w.secret, "GET", path, ""), 200).JSON(t); c["status"] != "missed" {
		t.Errorf("after hangup: %v", c)
	}
	f.want(f.hw(w.secret, "POST", path+"/end", ""), 404)

	// An answered call ends.
	v = w.ring(`{"flat":15}`)
	f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 200)
	path = "/api/hw/v1/calls/" + itoa(int64(v["call_id"].(float64)))
	f.want(f.hw(w.secret, "POST", path+"/end", ""), 204)
	if c := f.want(f.hw(w.secret, "GET", path, ""), 200).JSON(t); c["status"] != "ended" {
		t.Errorf("answered then hung up: %v", c)
	}
}

func TestIntercomAuth(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	_, otherSecret := f.provision(`{"address":"Elsewhere"}`)
	for _, auth := range []string{"", "Bearer ", "Bearer wrong", "Basic " + w.secret, w.secret, "Bearer " + strings.Repeat("x", 300)} {
		f.want(f.do(request{method: "POST", path: "/api/hw/v1/ring", body: `{"flat":15}`, headers: map[string]string{"Authorization": auth}}), 401)
	}
	v := w.ring(`{"flat":15}`)
	path := "/api/hw/v1/calls/" + itoa(int64(v["call_id"].(float64)))
	f.want(f.hw(otherSecret, "GET", path, ""), 404)
	f.want(f.hw(otherSecret, "POST", path+"/end", ""), 404)
	f.want(f.hw(w.secret, "GET", "/api/hw/v1/calls/x", ""), 404)
	for body, key := range map[string]string{`{"flat":-1}`: "flat", `{"flat":"fifteen"}`: "flat", `{"flat":1.5}`: "flat"} {
		if _, ok := errorsOf(t, f.want(f.hw(w.secret, "POST", "/api/hw/v1/ring", body), 422))[key]; !ok {
			t.Errorf("%s: no error on %s", body, key)
		}
	}
	// Only the one good ring made a call.
	res := f.want(f.as(w.alice, "GET", "/api/v1/intercom/calls", ""), 200).JSON(t)
	if res["meta"].(map[string]any)["total"] != float64(1) {
		t.Errorf("calls: %v", res["meta"])
	}
}

func TestCallsOfOtherAccountsAreNotFound(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	f.socket(t, w.alice)
	v := w.ring(`{"flat":15}`)
	f.user("mallory")
	mallory := f.login("mallory", "m-phone")
	for _, action := range []string{"", "start", "cancel", "end"} {
		method := "POST"
		if action == "" {
			method = "GET"
		}
		f.want(f.as(mallory, method, callPath(v, action), ""), 404)
	}
	// A device of the account that was not rung (it logged in later) cannot answer.
	late := f.login("alice", "alice-late")
	f.want(f.as(late, "POST", callPath(v, "start"), ""), 404)
	f.want(f.as(late, "GET", callPath(v, ""), ""), 200) // but the account sees the call
	if c := f.want(f.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t); c["status"] != "ring" {
		t.Errorf("call changed: %v", c)
	}
	if res := f.want(f.as(mallory, "GET", "/api/v1/intercom/calls", ""), 200).JSON(t); res["meta"].(map[string]any)["total"] != float64(0) {
		t.Errorf("mallory's history: %v", res["meta"])
	}
}

func TestCallHistory(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	f.socket(t, w.alice)
	var ids []float64
	for i := 0; i < 3; i++ {
		if i > 0 {
			f.clock.Advance(time.Minute) // the call before times out
		}
		v := w.ring(`{"flat":15}`)
		ids = append(ids, v["call_id"].(float64))
	}
	f.want(f.as(w.alice, "POST", "/api/v1/intercom/calls/"+itoa(int64(ids[2]))+"/start", ""), 200)
	res := f.want(f.as(w.alice, "GET", "/api/v1/intercom/calls?per_page=2", ""), 200).JSON(t)
	data := res["data"].([]any)
	if len(data) != 2 || data[0].(map[string]any)["id"] != ids[2] || res["meta"].(map[string]any)["total"] != float64(3) {
		t.Fatalf("history %v", res)
	}
	ic := data[0].(map[string]any)["intercom"].(map[string]any)
	if ic["address"] != "Lenina 1" || ic["title"] != "Door of "+itoa(w.aliceID) || ic["department"] != float64(7) {
		t.Errorf("embedded intercom %v", ic)
	}
	for q, n := range map[string]float64{
		"types[]=answered_intercom_call":                              n(1),
		"types[]=missed_intercom_call":                                n(2), // the first two timed out
		"types[]=missed_intercom_call&types[]=answered_intercom_call": n(3),
		"intercom=" + itoa(w.intercomID):                              n(3),
		"intercom=999":                                                n(0),
		"camera=833":                                                  n(0),
	} {
		res := f.want(f.as(w.alice, "GET", "/api/v1/intercom/calls?"+q, ""), 200).JSON(t)
		if res["meta"].(map[string]any)["total"] != n {
			t.Errorf("%s: total %v, want %v", q, res["meta"].(map[string]any)["total"], n)
		}
	}
	for q, key := range map[string]string{"types[]=rang": "types.0", "intercom=abc": "intercom", "camera=-1": "camera", "per_page=500": "per_page"} {
		if _, ok := errorsOf(t, f.want(f.as(w.alice, "GET", "/api/v1/intercom/calls?"+q, ""), 422))[key]; !ok {
			t.Errorf("%s: no error on %s", q, key)
		}
	}
	// The admin sees every recipient.
	a := f.want(f.admin("GET", "/api/admin/v1/calls/"+itoa(int64(ids[2])), ""), 200).JSON(t)
	recips := a["recipients"].([]any)
	if len(recips) != 1 || recips[0].(map[string]any)["device"] != "alice-phone" || recips[0].(map[string]any)["answered"] != true {
		t.Errorf("admin call %v", a)
	}
	f.want(f.admin("GET", "/api/admin/v1/calls/999", ""), 404)
}

func n(v float64) float64 { return v }

func TestOnlineState(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	sock := f.socket(t, w.alice)
	path := "/api/v1/intercom/" + itoa(w.intercomID)
	if v := f.want(f.as(w.alice, "GET", path, ""), 200).JSON(t); v["is_online"] != false {
		t.Fatalf("before any heartbeat: %v", v["is_online"])
	}
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/heartbeat", ""), 204)
	if e := sock.expect("intercom.status"); e["is_online"] != true || e["intercom_id"] != float64(w.intercomID) {
		t.Errorf("status %v", e)
	}
	if v := f.want(f.as(w.alice, "GET", path, ""), 200).JSON(t); v["is_online"] != true {
		t.Fatal("not online after a heartbeat")
	}
	// Heartbeats every 60 s keep it online without further events.
	for i := 0; i < 3; i++ {
		f.clock.Advance(60 * time.Second)
		f.want(f.hw(w.secret, "POST", "/api/hw/v1/heartbeat", ""), 204)
	}
	sock.none("intercom.status")
	f.clock.Advance(89 * time.Second)
	if v := f.want(f.as(w.alice, "GET", path, ""), 200).JSON(t); v["is_online"] != true {
		t.Fatal("offline before --offline-after")
	}
	sock.none("intercom.status")
	f.clock.Advance(time.Second)
	if e := sock.expect("intercom.status"); e["is_online"] != false {
		t.Errorf("status %v", e)
	}
	if v := f.want(f.as(w.alice, "GET", path, ""), 200).JSON(t); v["is_online"] != false {
		t.Fatal("still online after --offline-after")
	}
	f.want(f.hw("wrong", "POST", "/api/hw/v1/heartbeat", ""), 401)
}

func TestBroadcastingAuth(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	f.user("bob")
	bob := f.login("bob", "bob-phone")
	for ch, code := range map[string]int{
		"private-user." + itoa(w.aliceID):  200,
		"private-token." + w.alice.tokenID: 200,
		"private-user." + itoa(bob.userID): 403,
		"private-token." + bob.tokenID:     403,
		"presence-user." + itoa(w.aliceID): 403,
		"private-user.*":                   403,
	} {
		if res := f.auth(w.alice, "123.456", ch); res.Code != code {
			t.Errorf("%s: %d %s", ch, res.Code, res.Body)
		}
	}
	for _, sid := range []string{"", "123", "abc.def", "1.2.3"} {
		f.want(f.auth(w.alice, sid, "private-user."+itoa(w.aliceID)), 422)
	}
	res := f.want(f.auth(w.alice, "123.456", "private-user."+itoa(w.aliceID)), 200).JSON(t)
	if a := res["auth"].(string); !strings.HasPrefix(a, "test-key:") || len(a) != len("test-key:")+64 {
		t.Errorf("auth %q", a)
	}
	ws := f.want(f.as(w.alice, "GET", "/api/v1/wsurl", ""), 200).JSON(t)
	if ws["ws_url"] != "ws://intercomd.test/ws" || ws["app_key"] != "test-key" || ws["port"] != float64(80) || ws["path"] != "/ws" || ws["is_encrypted"] != false {
		t.Errorf("wsurl %v", ws)
	}
}

// TestBroadcastingAuthTokenAlone: stock Pusher clients (both SDKs') send only
// Authorization to broadcasting/auth; the token suffices there, and an X-UUID
// that is sent must still be the token's device (API.md §1).
func TestBroadcastingAuthTokenAlone(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	ch := "private-token." + w.alice.tokenID
	tests := []struct {
		name    string
		headers map[string]string
		code    int
	}{
		{"token alone", map[string]string{}, 200},
		{"with the token's X-UUID only", map[string]string{"X-UUID": "alice-phone"}, 200},
		{"with X-Client only", map[string]string{"X-Client": "android"}, 200},
		{"with an invalid X-Client", map[string]string{"X-Client": "nokia"}, 200},
		{"another device's X-UUID", map[string]string{"X-UUID": "alice-tablet"}, 401},
		{"a malformed X-UUID", map[string]string{"X-UUID": "not a uuid"}, 401},
		{"no token", map[string]string{"Authorization": ""}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Authorization": "Bearer " + w.alice.token, "Content-Type": "application/x-www-form-urlencoded"}
			for k, v := range tt.headers {
				h[k] = v
			}
			res := f.do(request{method: "POST", path: "/api/v1/broadcasting/auth", headers: h,
				body: url.Values{"socket_id": {"123.456"}, "channel_name": {ch}}.Encode()})
			if res.Code != tt.code {
				t.Errorf("status %d, want %d; body %s", res.Code, tt.code, res.Body)
			}
		})
	}
	// Still only the token's own channels.
	res := f.do(request{method: "POST", path: "/api/v1/broadcasting/auth",
		headers: map[string]string{"Authorization": "Bearer " + w.alice.token, "Content-Type": "application/x-www-form-urlencoded"},
		body:    url.Values{"socket_id": {"123.456"}, "channel_name": {"private-user.999"}}.Encode()})
	f.want(res, 403)
}

// Renames and settings reach the account's other devices, not the socket
// that asked (X-Socket-ID).
func TestPatchBroadcasts(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	tablet := f.loginAs("alice", "alice-tablet", "web")
	phoneSock, tabletSock := f.socket(t, w.alice), f.socket(t, tablet)
	h := w.alice.headers()
	h["X-Socket-ID"] = phoneSock.c.SocketID
	h["Content-Type"] = "application/json"
	f.want(f.do(request{method: "PATCH", path: "/api/v1/intercom/" + itoa(w.intercomID), body: `{"title":"Gate","is_enabled":false}`, headers: h}), 200)
	if e := tabletSock.expect("intercom.rename"); e["intercom"].(map[string]any)["title"] != "Gate" {
		t.Errorf("rename %v", e)
	}
	tabletSock.expect("intercom.update")
	phoneSock.none("intercom.rename")
	phoneSock.none("intercom.update")
}

// 1,000 rings at once make exactly 1,000 calls; two devices racing to answer
// each produce one winner when any device was rung. (Under a flood like this
// a socket whose reader falls behind is dropped, and the rings after that do
// not reach it: the ring's own answer says who was rung.)
func TestConcurrentRingsAndAnswers(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	tablet := f.loginAs("alice", "alice-tablet", "web")
	f.socket(t, w.alice).drain()
	f.socket(t, tablet).drain()
	const rings = 1000
	calls := make(chan map[string]any, rings)
	var wg sync.WaitGroup
	for i := 0; i < rings; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := f.hw(w.secret, "POST", "/api/hw/v1/ring", `{"flat":15}`)
			if res.Code != 201 {
				t.Errorf("ring: %d %s", res.Code, res.Body)
				return
			}
			calls <- res.JSON(t)
		}()
	}
	wg.Wait()
	close(calls)
	seen := map[float64]bool{}
	var winners, rung atomic.Int64
	for v := range calls {
		seen[v["call_id"].(float64)] = true
		var once sync.WaitGroup
		var won atomic.Int64
		for _, d := range []device{w.alice, tablet} {
			once.Add(1)
			go func() {
				defer once.Done()
				if f.as(d, "POST", callPath(v, "start"), "").Code == 200 {
					won.Add(1)
				}
			}()
		}
		once.Wait()
		want := int64(min(1, len(v["recipients"].([]any))))
		if won.Load() != want {
			t.Fatalf("call %v rang %d devices: %d winners", v["call_id"], len(v["recipients"].([]any)), won.Load())
		}
		winners.Add(won.Load())
		rung.Add(want)
	}
	if len(seen) != rings || rung.Load() == 0 {
		t.Fatalf("%d distinct calls, %d of them rang a device; want %d calls", len(seen), rung.Load(), rings)
	}
	res := f.want(f.as(w.alice, "GET", "/api/v1/intercom/calls?types[]=answered_intercom_call", ""), 200).JSON(t)
	if res["meta"].(map[string]any)["total"] != float64(winners.Load()) {
		t.Errorf("history: %v answered, %d winners", res["meta"], winners.Load())
	}
}

// The admin linking, renaming and unlinking an intercom reaches the account.
func TestAdminMembershipBroadcasts(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	sock := f.socket(t, w.alice)
	id, _ := f.provision(`{"address":"New gate"}`)
	f.memberOf(id, w.aliceID, "3", "confirmed")
	if e := sock.expect("intercom.store"); e["intercom"].(map[string]any)["address"] != "New gate" {
		t.Errorf("store %v", e)
	}
	f.memberOf(id, w.aliceID, "3", "confirmed")
	sock.expect("intercom.rename")
	f.want(f.admin("DELETE", "/api/admin/v1/intercoms/"+itoa(id)+"/members/"+itoa(w.aliceID), ""), 204)
	if e := sock.expect("intercom.delete"); e["deleted_ids"].([]any)[0] != float64(id) {
		t.Errorf("delete %v", e)
	}
}

func TestDeleteIntercomsAndCalls(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	tablet := f.loginAs("alice", "alice-tablet", "web")
	phoneSock, tabletSock := f.socket(t, w.alice), f.socket(t, tablet)
	bobID := f.user("bob")
	bob := f.login("bob", "bob-phone")
	f.memberOf(w.intercomID, bobID, "15", "confirmed")
	bobsOwn, _ := f.provision(`{"address":"Bob's"}`)
	f.memberOf(bobsOwn, bobID, "1", "confirmed")
	v := w.ring(`{"flat":15}`)
	call := int64(v["call_id"].(float64))

	for body, key := range map[string]string{
		`{}`:                  "ids",
		`{"ids":[]}`:          "ids",
		`{"ids":"1"}`:         "ids",
		`{"ids":[1,"x",2.5]}`: "ids.1",
		`{"ids":[` + strings.Repeat("1,", 200) + `1]}`: "ids",
	} {
		for _, path := range []string{"/api/v1/intercom", "/api/v1/intercom/calls"} {
			if _, ok := errorsOf(t, f.want(f.as(w.alice, "DELETE", path, body), 422))[key]; !ok {
				t.Errorf("DELETE %s %s: no error on %s", path, body, key)
			}
		}
	}

	// Another account's call and intercom ids are ignored, never deleted.
	h := w.alice.headers()
	h["X-Socket-ID"] = phoneSock.c.SocketID
	h["Content-Type"] = "application/json"
	f.want(f.do(request{method: "DELETE", path: "/api/v1/intercom/calls", body: `{"ids":[` + itoa(call) + `,999999]}`, headers: h}), 204)
	if e := tabletSock.expect("intercom.call.delete"); e["deleted_ids"].([]any)[0] != float64(call) || len(e["deleted_ids"].([]any)) != 1 {
		t.Errorf("call.delete %v", e)
	}
	phoneSock.none("intercom.call.delete")
	f.want(f.as(w.alice, "GET", "/api/v1/intercom/calls/"+itoa(call), ""), 404)
	f.want(f.as(bob, "GET", "/api/v1/intercom/calls/"+itoa(call), ""), 200)

	f.want(f.do(request{method: "DELETE", path: "/api/v1/intercom", body: `{"ids":[` + itoa(w.intercomID) + `,` + itoa(bobsOwn) + `]}`, headers: h}), 204)
	if e := tabletSock.expect("intercom.delete"); len(e["deleted_ids"].([]any)) != 1 || e["deleted_ids"].([]any)[0] != float64(w.intercomID) {
		t.Errorf("intercom.delete %v", e)
	}
	f.want(f.as(w.alice, "GET", "/api/v1/intercom/"+itoa(w.intercomID), ""), 404)
	f.want(f.as(bob, "GET", "/api/v1/intercom/"+itoa(bobsOwn), ""), 200)
	f.want(f.as(bob, "GET", "/api/v1/intercom/"+itoa(w.intercomID), ""), 200)
	if res := f.want(f.as(w.alice, "GET", "/api/v1/intercom", ""), 200).JSON(t); res["meta"].(map[string]any)["total"] != float64(0) {
		t.Errorf("alice still lists %v", res["meta"])
	}
	// Unlinked, alice's devices no longer ring.
	if v := w.ring(`{"flat":15}`); len(v["recipients"].([]any))+len(v["skipped"].([]any)) != 1 {
		t.Errorf("ring after unlink: %v", v)
	}
}
