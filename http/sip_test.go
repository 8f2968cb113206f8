package http_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"intercom"
	"intercom/node"
)

const sipAPIToken = "sip-api-token"

func newSIPFixture(t *testing.T) *fixture {
	return newFixtureWith(t, func(c *node.Config) { c.SIPAPIToken = sipAPIToken })
}

// sip sends a request as the SIP server.
func (f *fixture) sip(method, path, body string) *response {
	f.t.Helper()
	return f.do(request{method: method, path: path, body: body, headers: map[string]string{"Authorization": "Bearer " + sipAPIToken}})
}

// TestSIPRingDialsAFlat: a panel dials flat 15 over SIP; the SIP server asks
// intercomd, which rings it as /api/hw/v1/ring does and names the number.
func TestSIPRingDialsAFlat(t *testing.T) {
	f := newSIPFixture(t)
	w := newWorld(t, f)
	phone := f.socket(t, w.alice)
	user := intercom.SIPUsername(w.intercomID)

	v := f.want(f.sip("POST", "/api/sip/v1/ring", `{"intercom":"`+user+`","flat":15}`), 201).JSON(t)
	if v["status"] != "ring" || !intercom.IsCallNumber(v["number"].(string)) || len(v["recipients"].([]any)) != 1 {
		t.Fatalf("ring %v", v)
	}
	if e := phone.expect("intercom_ring"); e.data()["call_id"] != v["call_id"] {
		t.Errorf("intercom_ring %v for call %v", e, v["call_id"])
	}
	number := v["number"].(string)

	// The SIP server finds the call by its number, for its intercom only.
	c := f.want(f.sip("GET", "/api/sip/v1/calls/"+number+"?intercom="+user, ""), 200).JSON(t)
	if c["call_id"] != v["call_id"] || c["status"] != "ring" || c["intercom"] != user {
		t.Errorf("call by number %v", c)
	}
	other, _ := f.provision(`{"address":"elsewhere"}`)
	f.want(f.sip("GET", "/api/sip/v1/calls/"+number+"?intercom="+intercom.SIPUsername(other), ""), 404)
	f.want(f.sip("GET", "/api/sip/v1/calls/15?intercom="+user, ""), 404) // a flat is never a number
	f.want(f.sip("GET", "/api/sip/v1/calls/9999999999", ""), 404)

	// Answered: the answer's number is the ring's.
	ans := f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 200).JSON(t)
	if ans["number"] != number {
		t.Errorf("answer number %v, ring number %s", ans["number"], number)
	}
	// The app's BYE ends it, without the app calling end.
	e := f.want(f.sip("POST", "/api/sip/v1/calls/"+number+"/end", `{"by":"app"}`), 200).JSON(t)
	if e["status"] != "ended" {
		t.Errorf("after the app's BYE: %v", e)
	}
	phone.none("intercom_cancel") // the app hung up: it knows
	if got := f.want(f.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t); got["status"] != "ended" {
		t.Errorf("call %v", got)
	}
	// Told again (a retry): the call is over, 404, nothing changes.
	f.want(f.sip("POST", "/api/sip/v1/calls/"+number+"/end", `{"by":"app"}`), 404)
}

// TestSIPEndWhileRinging: the visitor gives up while the INVITE waits
// (CANCEL): the call is missed and the devices stop ringing.
func TestSIPEndWhileRinging(t *testing.T) {
	f := newSIPFixture(t)
	w := newWorld(t, f)
	phone := f.socket(t, w.alice)
	v := w.ring(`{"flat":15}`) // a panel that rings over HTTP, then INVITEs the number
	number := v["number"].(string)
	phone.expect("intercom_ring")
	f.want(f.sip("GET", "/api/sip/v1/calls/"+number+"?intercom="+intercom.SIPUsername(w.intercomID), ""), 200)
	e := f.want(f.sip("POST", "/api/sip/v1/calls/"+number+"/end", `{}`), 200).JSON(t)
	if e["status"] != "missed" {
		t.Errorf("after CANCEL: %v", e)
	}
	if c := phone.expect("intercom_cancel"); c["reason"] != "hangup" {
		t.Errorf("cancel %v", c)
	}
	f.want(f.sip("POST", "/api/sip/v1/calls/"+number+"/end", `{"by":"someone"}`), 422)
}

// TestSIPPanelByeEndsAnsweredCall: the panel's BYE after an answer ends the
// call and tells the answering device, as the visitor leaving does.
func TestSIPPanelByeEndsAnsweredCall(t *testing.T) {
	f := newSIPFixture(t)
	w := newWorld(t, f)
	phone := f.socket(t, w.alice)
	v := w.ring(`{"flat":15}`)
	phone.expect("intercom_ring")
	f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 200)
	f.clock.Advance(10 * time.Second)
	e := f.want(f.sip("POST", "/api/sip/v1/calls/"+v["number"].(string)+"/end", `{"by":"panel"}`), 200).JSON(t)
	if e["status"] != "ended" {
		t.Errorf("after the panel's BYE: %v", e)
	}
	if c := phone.expect("intercom_cancel"); c["reason"] != "hangup" {
		t.Errorf("cancel %v", c)
	}
}

// TestSIPAPICredential: the SIP API takes its own token only; without one
// configured it does not exist.
func TestSIPAPICredential(t *testing.T) {
	f := newSIPFixture(t)
	w := newWorld(t, f)
	body := `{"intercom":"` + intercom.SIPUsername(w.intercomID) + `","flat":15}`
	f.want(f.do(request{method: "POST", path: "/api/sip/v1/ring", body: body}), 401)
	f.want(f.hw(w.secret, "POST", "/api/sip/v1/ring", body), 401) // an intercom's secret
	f.want(f.as(w.alice, "POST", "/api/sip/v1/ring", body), 401)  // an app's token
	f.want(f.do(request{method: "POST", path: "/api/sip/v1/ring", body: body, headers: map[string]string{"Authorization": "Bearer " + adminToken}}), 401)
	f.want(f.sip("POST", "/api/sip/v1/ring", `{"intercom":"intercom999999","flat":15}`), 404)
	f.want(f.sip("POST", "/api/sip/v1/ring", `{"intercom":"180","flat":15}`), 404)
	f.want(f.sip("POST", "/api/sip/v1/ring", `{"flat":15}`), 422)

	off := newFixture(t) // no --sip-api-token
	off.want(off.do(request{method: "POST", path: "/api/sip/v1/ring", body: body, headers: map[string]string{"Authorization": "Bearer "}}), 404)
}

// TestSIPCredentials: an intercom's SIP digest credentials are shown at
// provisioning and again on request, derived from the SIP secret as the SIP
// server derives them.
func TestSIPCredentials(t *testing.T) {
	f := newFixture(t)
	v := f.want(f.admin("POST", "/api/admin/v1/intercoms", `{"address":"Lenina 1"}`), 201).JSON(t)
	id := int64(v["id"].(float64))
	sip := v["sip"].(map[string]any)
	mac := hmac.New(sha256.New, []byte("sip-secret"))
	mac.Write([]byte("panel:intercom" + itoa(id)))
	want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if sip["username"] != "intercom"+itoa(id) || sip["password"] != want || sip["domain"] != "sip.intercomd.test" {
		t.Errorf("sip credentials %v, want password %s", sip, want)
	}
	again := f.want(f.admin("POST", "/api/admin/v1/intercoms/"+itoa(id)+"/sip-credentials", ""), 200).JSON(t)
	if again["password"] != want || again["username"] != sip["username"] {
		t.Errorf("again %v", again)
	}
	f.want(f.admin("POST", "/api/admin/v1/intercoms/424242/sip-credentials", ""), 404)
}

// TestSIPCallOverAfterDecline: while the SIP server holds the panel's
// INVITE it asks for the call by number and id; once every rung device
// declined it learns the call is over and that it was declined (the panel
// hears 603), and a call that ended otherwise is over without "declined".
func TestSIPCallOverAfterDecline(t *testing.T) {
	f := newSIPFixture(t)
	w := newWorld(t, f)
	phone := f.socket(t, w.alice)
	user := intercom.SIPUsername(w.intercomID)
	v := f.want(f.sip("POST", "/api/sip/v1/ring", `{"intercom":"`+user+`","flat":15}`), 201).JSON(t)
	phone.expect("intercom_ring")
	number, id := v["number"].(string), itoa(int64(v["call_id"].(float64)))
	if c := f.want(f.sip("GET", "/api/sip/v1/calls/"+number+"?call="+id, ""), 200).JSON(t); c["status"] != "ring" || c["declined"] != nil {
		t.Errorf("ringing %v", c)
	}
	f.want(f.as(w.alice, "POST", callPath(v, "cancel"), ""), 204)
	f.want(f.sip("GET", "/api/sip/v1/calls/"+number, ""), 404) // no live call has the number
	c := f.want(f.sip("GET", "/api/sip/v1/calls/"+number+"?call="+id+"&intercom="+user, ""), 200).JSON(t)
	if c["status"] != "missed" || c["declined"] != true {
		t.Errorf("after every device declined: %v", c)
	}
	other, _ := f.provision(`{"address":"elsewhere"}`)
	f.want(f.sip("GET", "/api/sip/v1/calls/"+number+"?call="+id+"&intercom="+intercom.SIPUsername(other), ""), 404)
	f.want(f.sip("GET", "/api/sip/v1/calls/2000000000?call="+id, ""), 404) // not that call's number
	f.want(f.sip("GET", "/api/sip/v1/calls/"+number+"?call=x", ""), 404)

	// The visitor left over HTTP: over, not declined.
	v = w.ring(`{"flat":15}`)
	number, id = v["number"].(string), itoa(int64(v["call_id"].(float64)))
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/calls/"+id+"/end", ""), 204)
	if c := f.want(f.sip("GET", "/api/sip/v1/calls/"+number+"?call="+id, ""), 200).JSON(t); c["status"] != "missed" || c["declined"] != nil {
		t.Errorf("after the visitor left: %v", c)
	}
}

// TestSIPRingFlat: the SIP server sends the user part the panel dialled as
// a string. 1 to 5 digits ring that flat, leading zeros ignored; anything
// else is 422 on flat and rings nobody. An integer is taken as the hardware
// API takes it.
func TestSIPRingFlat(t *testing.T) {
	f := newSIPFixture(t)
	w := newWorld(t, f)
	phone := f.socket(t, w.alice)
	user := intercom.SIPUsername(w.intercomID)
	ring := func(flat string) *response {
		t.Helper()
		return f.sip("POST", "/api/sip/v1/ring", `{"intercom":"`+user+`","flat":`+flat+`}`)
	}

	rung := 0
	for _, flat := range []string{`"15"`, `"015"`, `"00015"`, `15`} {
		v := f.want(ring(flat), 201).JSON(t)
		rung++
		if v["status"] != "ring" || len(v["recipients"].([]any)) != 1 {
			t.Errorf("flat %s: %v, want alice's flat 15 rung", flat, v)
		}
		if e := phone.expect("intercom_ring"); e.data()["call_id"] != v["call_id"] {
			t.Errorf("flat %s: intercom_ring %v for call %v", flat, e, v["call_id"])
		}
		f.want(f.sip("POST", "/api/sip/v1/calls/"+v["number"].(string)+"/end", `{"by":"panel"}`), 200)
		phone.expect("intercom_cancel")
	}

	for _, flat := range []string{`"0"`, `"00000"`, `"+7"`, `"99999999999"`, `"000015"`, `"1;x"`, `"\""`, `"\\"`,
		`"` + strings.Repeat("1", 64) + `"`, `""`, `" 15"`, `"15 "`, `"1.5"`, `"-1"`, `"١٥"`, `"15\u0000"`, `1.5`, `-1`, `true`, `[15]`} {
		res := ring(flat)
		f.want(res, 422)
		if msgs := errorsOf(t, res)["flat"]; len(msgs) != 1 || msgs[0] == "" {
			t.Errorf("flat %s: errors %s, want one on flat", flat, res.Body)
		}
	}
	phone.none("intercom_ring")
	res := f.want(f.as(w.alice, "GET", "/api/v1/intercom/calls", ""), 200).JSON(t)
	if res["meta"].(map[string]any)["total"] != float64(rung) {
		t.Errorf("calls: %v, want the %d good rings' only", res["meta"], rung)
	}
}
