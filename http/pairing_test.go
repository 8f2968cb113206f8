package http_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// pairWorld is an intercom that opens by key and code, serves flats 1–50,
// and has keys "04A1" (any flat) and "04B2" (flat 20) registered.
type pairWorld struct {
	f          *fixture
	intercomID int64
	secret     string
}

func newPairWorld(t *testing.T, f *fixture) *pairWorld {
	t.Helper()
	id, secret := f.provision(`{"address":"Lenina 1","department":7}`)
	path := "/api/admin/v1/intercoms/" + itoa(id)
	v := f.want(f.admin("PATCH", path, `{"first_flat":1,"last_flat":50,"is_open_door_code":true,"is_open_door_key":true}`), 200).JSON(t)
	if v["first_flat"] != 1.0 || v["last_flat"] != 50.0 || v["is_open_door_key"] != true {
		t.Fatalf("settings %v", v)
	}
	f.want(f.admin("PUT", path+"/keys/04A1", `{"note":"spare"}`), 201)
	f.want(f.admin("PUT", path+"/keys/04B2", `{"flat":20}`), 201)
	return &pairWorld{f: f, intercomID: id, secret: secret}
}

// code asks for a pairing code as device d.
func (w *pairWorld) code(d device) string {
	w.f.t.Helper()
	v := w.f.want(w.f.as(d, "POST", "/api/v1/intercom", ""), 200).JSON(w.f.t)
	if v["expire_in_seconds"] != 60.0 {
		w.f.t.Fatalf("pairing code %v", v)
	}
	return v["code"].(string)
}

func (w *pairWorld) pair(code, key string) *response {
	w.f.t.Helper()
	return w.f.hw(w.secret, "POST", "/api/hw/v1/pairing", `{"code":"`+code+`","key":"`+key+`"}`)
}

func (w *pairWorld) flat(d device, body string) *response {
	w.f.t.Helper()
	return w.f.as(d, "POST", "/api/v1/intercom/"+itoa(w.intercomID)+"/flat", body)
}

// TestPairingEndToEnd plays app and panel: code → key at the panel →
// intercom.key_confirmed on the app's socket → flat → a ring reaches the new
// device. It runs on both engines (TestMain).
func TestPairingEndToEnd(t *testing.T) {
	for _, c := range []struct{ client, status string }{{"web", "key_confirmed"}, {"ios", "keyConfirmed"}} {
		t.Run(c.client, func(t *testing.T) {
			f := newFixture(t)
			w := newPairWorld(t, f)
			f.user("alice")
			app := f.loginAs("alice", "alice-app", c.client)
			sock := f.socket(t, app)
			tablet := f.loginAs("alice", "alice-tablet", "web")
			tabletSock := f.socket(t, tablet)

			code := w.code(app)
			if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
				t.Fatalf("code %q: want 6 digits", code)
			}
			v := f.want(w.pair(code, "04A1"), 200).JSON(t)
			if v["status"] != "key_confirmed" || v["expire_in_seconds"] != 600.0 {
				t.Errorf("panel got %v", v)
			}
			e := sock.expect("intercom.key_confirmed")
			ic := e["intercom"].(map[string]any)
			if ic["id"] != float64(w.intercomID) || ic["status"] != c.status || ic["title"] != "Lenina 1" ||
				e["expire_in_seconds"] != 600.0 || ic["is_open_door_key"] != true {
				t.Errorf("intercom.key_confirmed %v", e)
			}
			// A pairing in progress is not the account's intercom yet.
			if n := f.want(f.as(app, "GET", "/api/v1/intercom", ""), 200).JSON(t)["meta"].(map[string]any)["total"]; n != 0.0 {
				t.Errorf("intercoms during pairing: %v", n)
			}
			f.want(f.as(app, "GET", "/api/v1/intercom/"+itoa(w.intercomID), ""), 404)

			got := f.want(f.do(request{method: "POST", path: "/api/v1/intercom/" + itoa(w.intercomID) + "/flat", body: `{"flat":"15"}`,
				headers: withSocket(app.headers(), sock.c.SocketID)}), 200).JSON(t)
			if got["status"] != "confirmed" || got["is_open_door_code"] != true {
				t.Errorf("flat: %v", got)
			}
			if e := tabletSock.expect("intercom.store"); e["intercom"].(map[string]any)["status"] != "confirmed" {
				t.Errorf("intercom.store %v", e)
			}
			sock.none("intercom.store")             // not to the socket that asked
			f.want(w.flat(app, `{"flat":16}`), 404) // the flat is fixed

			ring := f.want(f.hw(w.secret, "POST", "/api/hw/v1/ring", `{"flat":15}`), 201).JSON(t)
			recipients, _ := json.Marshal(ring["recipients"])
			if !strings.Contains(string(recipients), `"device":"alice-tablet"`) {
				t.Fatalf("ring recipients %s", recipients)
			}
			if d := tabletSock.expect("intercom_ring").data(); d["call_id"] != ring["call_id"] || d["title"] != "Lenina 1" {
				t.Errorf("intercom_ring %v", d)
			}
			f.srv.Wait()
		})
	}
}

func withSocket(h map[string]string, socketID string) map[string]string {
	h["X-Socket-ID"] = socketID
	return h
}

func TestPairingBadInputAndAbuse(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	f.user("alice")
	alice := f.login("alice", "alice-phone")
	sock := f.socket(t, alice)

	t.Run("UnregisteredKey", func(t *testing.T) {
		res := f.want(w.pair(w.code(alice), "FFFF"), 422)
		if errorsOf(t, res)["key"] == nil {
			t.Errorf("body %s", res.Body)
		}
		if e := sock.expect("intercom.key_error"); e["error"] != "The key is not registered for this intercom." {
			t.Errorf("intercom.key_error %v", e)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		code := w.code(alice)
		f.clock.Advance(60 * time.Second)
		if errorsOf(t, f.want(w.pair(code, "04A1"), 422))["code"] == nil {
			t.Error("want 422 on code")
		}
	})
	t.Run("Reused", func(t *testing.T) {
		code := w.code(alice)
		f.want(w.pair(code, "FFFF"), 422) // used up by a wrong key
		f.want(w.pair(code, "04A1"), 422)
	})
	t.Run("ReplacedByANewCode", func(t *testing.T) {
		old := w.code(alice)
		w.code(alice)
		f.want(w.pair(old, "04A1"), 422)
	})
	t.Run("BadBodies", func(t *testing.T) {
		for _, body := range []string{`{}`, `{"code":"123456"}`, `{"code":123456,"key":"04A1"}`, `{"code":"1","key":"has space"}`} {
			f.want(f.hw(w.secret, "POST", "/api/hw/v1/pairing", body), 422)
		}
		f.want(f.hw("not-a-secret", "POST", "/api/hw/v1/pairing", `{"code":"1","key":"04A1"}`), 401)
	})
	t.Run("AnotherIntercomsKey", func(t *testing.T) {
		other := newPairWorld(t, f)
		f.want(other.pair(w.code(alice), "04A1"), 200) // 04A1 of the other intercom
		f.want(w.pair(w.code(alice), "04A1"), 200)     // and of this one: a pairing each
	})
	t.Run("AlreadyAdded", func(t *testing.T) {
		f.want(w.flat(alice, `{"flat":3}`), 200)
		f.want(w.pair(w.code(alice), "04A1"), 422)
		if e := sock.expect("intercom.add_error"); e["error"] != "The intercom has already been added." {
			t.Errorf("intercom.add_error %v", e)
		}
	})
	t.Run("GuessingIsThrottled", func(t *testing.T) {
		f.clock.Advance(time.Hour) // the failures above are forgotten
		bob := f.user("bob")
		_ = bob
		for i := range 10 {
			f.want(w.pair(fmt.Sprintf("9%05d", i), "04A1"), 422)
		}
		code := w.code(f.login("bob", "bob-phone"))
		res := f.want(w.pair(code, "04A1"), 429) // even a right code, until the window passes
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		f.clock.Advance(5 * time.Minute)
		f.want(w.pair(w.code(f.login("bob", "bob-phone")), "04B2"), 200)
	})
}

func TestChooseFlatBadInput(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	f.user("alice")
	alice := f.login("alice", "alice-phone")
	f.want(w.pair(w.code(alice), "04A1"), 200)
	f.user("bob")
	bob := f.login("bob", "bob-phone")
	f.want(w.pair(w.code(bob), "04B2"), 200) // bob's key is flat 20's

	for _, c := range []struct {
		name, body, msg string
	}{
		{"Missing", `{}`, "The flat field is required."},
		{"NotANumber", `{"flat":"abc"}`, "The flat field must be an integer."},
		{"Fraction", `{"flat":15.5}`, "The flat field must be an integer."},
		{"Negative", `{"flat":-1}`, "The flat field must be between 1 and 50."},
		{"OutOfRange", `{"flat":51}`, "The flat field must be between 1 and 50."},
		{"Array", `{"flat":[15]}`, "The flat field must be an integer."},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := f.want(w.flat(alice, c.body), 422)
			if got := errorsOf(t, res)["flat"]; len(got) != 1 || got[0] != c.msg {
				t.Errorf("errors %v, want %q", got, c.msg)
			}
		})
	}
	t.Run("NotTheKeysFlat", func(t *testing.T) {
		f.want(w.flat(bob, `{"flat":15}`), 422)
	})
	t.Run("Taken", func(t *testing.T) {
		f.want(w.flat(bob, `{"flat":20}`), 200)
		res := f.want(w.flat(alice, `{"flat":20}`), 422)
		if got := errorsOf(t, res)["flat"]; len(got) != 1 || got[0] != "The flat has already been taken." {
			t.Errorf("errors %v", got)
		}
	})
	t.Run("NoPairing", func(t *testing.T) {
		f.user("carol")
		f.want(w.flat(f.login("carol", "carol-phone"), `{"flat":5}`), 404)
		f.want(f.as(alice, "POST", "/api/v1/intercom/999999/flat", `{"flat":5}`), 404)
		f.want(f.as(alice, "POST", "/api/v1/intercom/abc/flat", `{"flat":5}`), 404)
	})
	t.Run("TooLate", func(t *testing.T) {
		f.clock.Advance(10 * time.Minute)
		f.want(w.flat(alice, `{"flat":5}`), 404)
	})
}

func TestVisitorCodes(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	aliceID := f.user("alice")
	f.memberOf(w.intercomID, aliceID, "15", "confirmed")
	alice := f.loginAs("alice", "alice-phone", "ios")
	tablet := f.loginAs("alice", "alice-tablet", "web")
	tabletSock := f.socket(t, tablet)
	codes := "/api/v1/intercom/" + itoa(w.intercomID) + "/codes"
	// now is 2022-04-20 12:34:32 UTC
	for _, c := range []struct {
		name, body, key, msg string
	}{
		{"Past", `{"title":"x","expired_at":"2022-04-20 12:34:31"}`, "expired_at", "The expired at field must be a date after now."},
		{"Now", `{"title":"x","expired_at":"2022-04-20T12:34:32.000000Z"}`, "expired_at", "The expired at field must be a date after now."},
		{"Beyond30Days", `{"title":"x","expired_at":"2022-05-20 12:34:33"}`, "expired_at",
			"The expired at field must be a date before or equal to 2022-05-20 12:34:32."},
		{"Unparseable", `{"title":"x","expired_at":"tomorrow"}`, "expired_at", "The expired at field must be a valid date."},
		{"SeedStyleBadDate", `{"title":"x","expired_at":"2022-04-21T10:00:00:00+01:00"}`, "expired_at", "The expired at field must be a valid date."},
		{"NotAString", `{"title":"x","expired_at":1650000000}`, "expired_at", "The expired at field must be a valid date."},
		{"NoTitle", `{"expired_at":"2022-04-21 12:00:00"}`, "title", "The title field is required."},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := f.want(f.as(alice, "POST", codes, c.body), 422)
			if got := errorsOf(t, res)[c.key]; len(got) != 1 || got[0] != c.msg {
				t.Errorf("errors %v, want %q", errorsOf(t, res), c.msg)
			}
		})
	}
	var ids []int64
	for i, date := range []string{"2022-04-21T12:00:00.000000Z", "2022-04-21T12:00:00.000000+0000", "2022-04-21 12:00:00",
		"2022-04-21 15:00", "2022-04-21T15:00:00+03:00"} {
		v := f.want(f.as(alice, "POST", codes, fmt.Sprintf(`{"title":"Guest %d","expired_at":%q}`, i, date)), 200).JSON(t)
		if v["expired_at"] != map[bool]string{true: "2022-04-21T15:00:00.000000Z", false: "2022-04-21T12:00:00.000000Z"}[i == 3] ||
			v["created_at"] != "2022-04-20T12:34:32.000000Z" || v["is_expired"] != false || len(v["code"].(string)) != 5 {
			t.Errorf("code %d (%s): %v", i, date, v)
		}
		if i == 0 && v["will_deleted_at"] != "2022-04-22T12:00:00.000000Z" {
			t.Errorf("will_deleted_at %v", v["will_deleted_at"])
		}
		if e := tabletSock.expect("intercom.code.store"); e["intercom_code"].(map[string]any)["id"] != v["id"] {
			t.Errorf("intercom.code.store %v", e)
		}
		ids = append(ids, int64(v["id"].(float64)))
	}
	t.Run("Sixth", func(t *testing.T) {
		res := f.want(f.as(alice, "POST", codes, `{"title":"one too many","expired_at":"2022-04-21 12:00:00"}`), 422)
		if errorsOf(t, res)["intercom"] == nil {
			t.Errorf("body %s", res.Body)
		}
	})
	list := f.want(f.as(alice, "GET", "/api/v1/intercom/codes?per_page=2", ""), 200).JSON(t)
	if list["meta"].(map[string]any)["total"] != 5.0 || len(list["data"].([]any)) != 2 {
		t.Errorf("list %v", list)
	}

	// The panel: a live code opens, a wrong one does not; another intercom's
	// panel does not know it.
	first := f.want(f.as(alice, "GET", "/api/v1/intercom/codes?per_page=100", ""), 200).JSON(t)["data"].([]any)[4].(map[string]any)
	code := first["code"].(string)
	if v := f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"code":"`+code+`"}`), 200).JSON(t); v["open"] != true || v["door_open_seconds"] != 7.0 {
		t.Errorf("access %v", v)
	}
	if v := f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"key":"04A1"}`), 200).JSON(t); v["open"] != true {
		t.Errorf("key access %v", v)
	}
	other := newPairWorld(t, f)
	if v := f.want(f.hw(other.secret, "POST", "/api/hw/v1/access", `{"code":"`+code+`"}`), 200).JSON(t); v["open"] != false || v["reason"] != "unknown_code" {
		t.Errorf("another intercom's panel: %v", v)
	}
	creds := f.want(f.hw(other.secret, "GET", "/api/hw/v1/credentials", ""), 200).JSON(t)
	if len(creds["codes"].([]any)) != 0 {
		t.Errorf("another intercom's credentials %v", creds)
	}
	for _, body := range []string{`{}`, `{"key":"04A1","code":"1"}`, `{"code":"12a"}`, `{"code":12345}`, `{"key":"a b"}`} {
		f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", body), 422)
	}

	t.Run("Credentials", func(t *testing.T) {
		res := f.want(f.hw(w.secret, "GET", "/api/hw/v1/credentials", ""), 200)
		v := res.JSON(t)
		etag := res.Header.Get("ETag")
		if len(v["codes"].([]any)) != 5 || len(v["keys"].([]any)) != 2 || etag == "" {
			t.Fatalf("credentials %v, ETag %q", v, etag)
		}
		hdr := map[string]string{"Authorization": "Bearer " + w.secret, "If-None-Match": etag}
		f.want(f.do(request{method: "GET", path: "/api/hw/v1/credentials", headers: hdr}), 304)
		f.want(f.admin("PUT", "/api/admin/v1/intercoms/"+itoa(w.intercomID)+"/keys/0C0C", `{}`), 201)
		res = f.want(f.do(request{method: "GET", path: "/api/hw/v1/credentials", headers: hdr}), 200)
		if res.Header.Get("ETag") == etag {
			t.Error("a new key kept the ETag")
		}
	})

	t.Run("DeleteOthersIDsIgnored", func(t *testing.T) {
		f.user("bob")
		bob := f.login("bob", "bob-phone")
		f.want(f.as(bob, "DELETE", "/api/v1/intercom/codes", `{"ids":[`+itoa(ids[0])+`]}`), 204)
		f.want(f.as(alice, "DELETE", "/api/v1/intercom/codes", `{"ids":[`+itoa(ids[1])+`]}`), 204)
		if e := tabletSock.expect("intercom.code.delete"); fmt.Sprint(e["deleted_ids"]) != fmt.Sprintf("[%d]", ids[1]) {
			t.Errorf("intercom.code.delete %v", e)
		}
		if n := f.want(f.as(alice, "GET", "/api/v1/intercom/codes", ""), 200).JSON(t)["meta"].(map[string]any)["total"]; n != 4.0 {
			t.Errorf("alice has %v codes", n)
		}
		f.want(f.as(bob, "POST", codes, `{"title":"x","expired_at":"2022-04-21 12:00:00"}`), 404) // not bob's intercom
	})

	t.Run("ExpiryAndRemoval", func(t *testing.T) {
		f.clock.Advance(24 * time.Hour) // 2022-04-21 12:34:32: the 12:00 codes expired
		v := f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"code":"`+code+`"}`), 200).JSON(t)
		if v["open"] != false || v["reason"] != "expired_code" {
			t.Errorf("expired code: %v", v)
		}
		data := f.want(f.as(alice, "GET", "/api/v1/intercom/codes", ""), 200).JSON(t)["data"].([]any)
		expired := 0
		for _, d := range data {
			if d.(map[string]any)["is_expired"] == true {
				expired++
			}
		}
		if len(data) != 4 || expired != 3 {
			t.Errorf("%d codes, %d expired: %v", len(data), expired, data)
		}
		f.clock.Advance(26 * time.Hour) // 2022-04-22 14:34:32: the 12:00 codes are gone, the 15:00 one not yet
		if n := f.want(f.as(alice, "GET", "/api/v1/intercom/codes", ""), 200).JSON(t)["meta"].(map[string]any)["total"]; n != 1.0 {
			t.Errorf("codes a day after expiry: %v", n)
		}
		f.clock.Advance(30 * time.Minute) // 15:04:32: past every will_deleted_at
		if n := f.want(f.as(alice, "GET", "/api/v1/intercom/codes", ""), 200).JSON(t)["meta"].(map[string]any)["total"]; n != 0.0 {
			t.Errorf("codes after will_deleted_at: %v", n)
		}
	})

	t.Run("UnlinkRemovesCodes", func(t *testing.T) {
		f.want(f.as(alice, "POST", codes, `{"title":"x","expired_at":"2022-04-23 12:00:00"}`), 200)
		f.want(f.as(alice, "DELETE", "/api/v1/intercom", `{"ids":[`+itoa(w.intercomID)+`]}`), 204)
		if n := f.want(f.as(alice, "GET", "/api/v1/intercom/codes", ""), 200).JSON(t)["meta"].(map[string]any)["total"]; n != 0.0 {
			t.Errorf("codes after unlinking: %v", n)
		}
	})
}

func TestAccessBruteForce(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	for i := range 10 {
		v := f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", fmt.Sprintf(`{"code":"%05d"}`, i)), 200).JSON(t)
		if v["open"] != false || v["reason"] != "unknown_code" {
			t.Fatalf("guess %d: %v", i, v)
		}
	}
	res := f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"code":"00011"}`), 429)
	if res.Header.Get("Retry-After") != "300" {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"key":"04A1"}`), 200) // keys are not guessed on a keypad
	base := "/api/admin/v1/intercoms/" + itoa(w.intercomID) + "/access-log"
	log := f.want(f.admin("GET", base+"?kind=code&per_page=5", ""), 200).JSON(t)
	if log["meta"].(map[string]any)["total"] != 11.0 || log["data"].([]any)[0].(map[string]any)["reason"] != "throttled" {
		t.Errorf("access log %v", log)
	}
	if n := f.want(f.admin("GET", base+"?open=true", ""), 200).JSON(t)["meta"].(map[string]any)["total"]; n != 1.0 {
		t.Errorf("open entries: %v", n)
	}
	f.want(f.admin("GET", base+"?kind=face", ""), 422)
	f.want(f.admin("GET", "/api/admin/v1/intercoms/999999/access-log", ""), 404)
	f.clock.Advance(5 * time.Minute)
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"code":"00012"}`), 200)
}

func TestAdminKeys(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	path := "/api/admin/v1/intercoms/" + itoa(w.intercomID)
	v := f.want(f.admin("PUT", path+"/keys/04A1", `{"flat":7,"note":"lobby"}`), 200).JSON(t)
	if v["flat"] != 7.0 || v["note"] != "lobby" || v["user_id"] != nil {
		t.Errorf("key %v", v)
	}
	list := f.want(f.admin("GET", path+"/keys", ""), 200).JSON(t)
	if list["meta"].(map[string]any)["total"] != 2.0 {
		t.Errorf("keys %v", list)
	}
	f.want(f.admin("PUT", path+"/keys/04A1", `{"flat":"abc"}`), 422)
	f.want(f.admin("PUT", path+"/keys/bad%20key", `{}`), 404)
	f.want(f.admin("PUT", "/api/admin/v1/intercoms/999999/keys/04A1", `{}`), 404)
	f.want(f.admin("PATCH", path, `{"first_flat":60}`), 422) // above last_flat 50
	f.want(f.admin("PATCH", path, `{"is_open_door_key":"maybe"}`), 422)
	f.want(f.admin("DELETE", path+"/keys/04A1", ""), 204)
	f.want(f.admin("DELETE", path+"/keys/04A1", ""), 404)
	if v := f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"key":"04A1"}`), 200).JSON(t); v["reason"] != "unknown_key" {
		t.Errorf("a deleted key: %v", v)
	}
	f.want(f.admin("PATCH", path, `{"is_open_door_key":false}`), 200)
	if v := f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"key":"04B2"}`), 200).JSON(t); v["reason"] != "keys_not_supported" {
		t.Errorf("keys off: %v", v)
	}
}

// TestChooseFlatOthersIntercom: an account without a pairing learns nothing
// of an intercom from its flat choice, neither that it exists nor its range:
// 404 whatever the flat.
func TestChooseFlatOthersIntercom(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	f.user("mallory")
	m := f.login("mallory", "mallory-phone")
	for _, body := range []string{`{"flat":0}`, `{"flat":51}`, `{"flat":-1}`, `{"flat":"99999"}`} {
		res := f.want(w.flat(m, body), 404)
		if strings.Contains(string(res.Body), "50") {
			t.Errorf("%s: the range leaks: %s", body, res.Body)
		}
	}
}

// TestChooseFlatKeyRevoked: a key the operator deletes while its pairing
// waits for a flat pairs no more: the flat choice is 404 and the account
// does not get the intercom.
func TestChooseFlatKeyRevoked(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	f.user("alice")
	alice := f.login("alice", "alice-phone")
	f.want(w.pair(w.code(alice), "04B2"), 200) // 04B2 is flat 20's
	f.want(f.admin("DELETE", "/api/admin/v1/intercoms/"+itoa(w.intercomID)+"/keys/04B2", ""), 204)
	f.want(w.flat(alice, `{"flat":5}`), 404)
	f.want(w.flat(alice, `{"flat":20}`), 404)
	f.want(f.as(alice, "GET", "/api/v1/intercom/"+itoa(w.intercomID), ""), 404)
}

// TestVisitorCodesGoWithTheMembership: an operator who takes a confirmed
// membership back to key_confirmed takes the intercom from the account
// (intercom.delete): its visitor codes stop opening the door, at the panel
// and in the panel's offline copy, as an unlink's do.
func TestVisitorCodesGoWithTheMembership(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	aliceID := f.user("alice")
	alice := f.login("alice", "alice-phone")
	f.want(w.pair(w.code(alice), "04A1"), 200)
	f.want(w.flat(alice, `{"flat":3}`), 200)
	code := f.want(f.as(alice, "POST", "/api/v1/intercom/"+itoa(w.intercomID)+"/codes",
		`{"title":"Guest","expired_at":"2022-04-21 12:00:00"}`), 200).JSON(t)["code"].(string)
	if v := f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"code":"`+code+`"}`), 200).JSON(t); v["open"] != true {
		t.Fatalf("access before: %v", v)
	}
	f.want(f.admin("PUT", "/api/admin/v1/intercoms/"+itoa(w.intercomID)+"/members/"+itoa(aliceID),
		`{"title":"Lenina 1","status":"key_confirmed"}`), 200)
	if v := f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"code":"`+code+`"}`), 200).JSON(t); v["open"] != false {
		t.Errorf("access after the membership was taken back: %v", v)
	}
	if creds := f.want(f.hw(w.secret, "GET", "/api/hw/v1/credentials", ""), 200).JSON(t); len(creds["codes"].([]any)) != 0 {
		t.Errorf("credentials after the membership was taken back: %v", creds["codes"])
	}
}

// TestPairingExpiredHoldsNoKey: a pairing whose time to choose a flat has
// passed holds its key no more: another account pairs with it.
func TestPairingExpiredHoldsNoKey(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	f.user("alice")
	alice := f.login("alice", "alice-phone")
	f.want(w.pair(w.code(alice), "04A1"), 200)
	f.clock.Advance(10*time.Minute + time.Second) // alice never chose her flat
	f.want(w.flat(alice, `{"flat":5}`), 404)
	bobID := f.user("bob")
	bob := f.login("bob", "bob-phone")
	f.want(w.pair(w.code(bob), "04A1"), 200)
	f.want(w.flat(bob, `{"flat":5}`), 200)
	keys := f.want(f.admin("GET", "/api/admin/v1/intercoms/"+itoa(w.intercomID)+"/keys", ""), 200).JSON(t)["data"].([]any)
	if k := keys[0].(map[string]any); k["key"] != "04A1" || k["user_id"] != float64(bobID) {
		t.Errorf("key %v: want bob's", k)
	}
}

// TestDeletedKeyIsForgotten: a key the operator deletes is no longer the
// account's that paired with it: registered again (a new resident's), it
// pairs another account, and its door openings are not the old account's.
func TestDeletedKeyIsForgotten(t *testing.T) {
	f := newFixture(t)
	w := newPairWorld(t, f)
	f.user("alice")
	alice := f.login("alice", "alice-phone")
	f.want(w.pair(w.code(alice), "04A1"), 200)
	f.want(w.flat(alice, `{"flat":3}`), 200)
	path := "/api/admin/v1/intercoms/" + itoa(w.intercomID)
	f.want(f.admin("DELETE", path+"/keys/04A1", ""), 204)
	if k := f.want(f.admin("PUT", path+"/keys/04A1", `{}`), 201).JSON(t); k["user_id"] != nil {
		t.Errorf("the key registered again: %v", k)
	}
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/access", `{"key":"04A1"}`), 200)
	log := f.want(f.admin("GET", path+"/access-log?kind=key", ""), 200).JSON(t)["data"].([]any)
	if e := log[0].(map[string]any); e["user_id"] != nil {
		t.Errorf("access entry %v: not alice's", e)
	}
	bobID := f.user("bob")
	bob := f.login("bob", "bob-phone")
	f.want(w.pair(w.code(bob), "04A1"), 200)
	f.want(w.flat(bob, `{"flat":4}`), 200)
	if k := f.want(f.admin("GET", path+"/keys", ""), 200).JSON(t)["data"].([]any)[0].(map[string]any); k["user_id"] != float64(bobID) {
		t.Errorf("key %v: want bob's", k)
	}
	// alice keeps her intercom.
	f.want(f.as(alice, "GET", "/api/v1/intercom/"+itoa(w.intercomID), ""), 200)
}
