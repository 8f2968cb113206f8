package http_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
	"intercom/node"
)

// The flat's handset and landline (API.md §6), end to end: the operator
// says which lines an intercom has and sets a flat's landline, the apps see
// what can answer and choose for the whole flat, the ring answer tells the
// panel, and a line that answers ends the devices' ringing like any answer.

// linesOf reads what an intercom object says of the lines.
func linesOf(v map[string]any) (devices []string, analog, landline bool) {
	for _, d := range v["available_answer_devices"].([]any) {
		devices = append(devices, d.(string))
	}
	return devices, v["is_analog_line_available"].(bool), v["is_landline_sip_line_available"].(bool)
}

func wantLines(t *testing.T, who string, v map[string]any, devices []string, analog, landline bool) {
	t.Helper()
	gotDevices, gotAnalog, gotLandline := linesOf(v)
	if !slices.Equal(gotDevices, devices) || gotAnalog != analog || gotLandline != landline {
		t.Errorf("%s sees available_answer_devices %v, analog %v, landline %v; want %v, %v, %v",
			who, gotDevices, gotAnalog, gotLandline, devices, analog, landline)
	}
}

const landlineURI = "sip:+15551234567@gateway.example"

func TestFlatLinesSettings(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	bobID := f.user("bob") // alice's flat-mate
	f.memberOf(w.intercomID, bobID, "15", "confirmed")
	bob := f.login("bob", "bob-phone")
	carolID := f.user("carol") // another flat
	f.memberOf(w.intercomID, carolID, "16", "confirmed")
	carol := f.login("carol", "carol-phone")
	icPath := "/api/v1/intercom/" + itoa(w.intercomID)
	adminPath := "/api/admin/v1/intercoms/" + itoa(w.intercomID)

	// Before the operator says anything, only the apps answer, and a line
	// cannot be chosen: 422, and nothing else of the request changes.
	wantLines(t, "alice", f.want(f.as(w.alice, "GET", icPath, ""), 200).JSON(t), []string{"is_enabled"}, false, false)
	res := f.want(f.as(w.alice, "PATCH", icPath, `{"title":"Home","is_analog_line_available":true,"is_landline_sip_line_available":"1"}`), 422)
	if diff := cmp.Diff(map[string][]string{
		"is_analog_line_available":       {"The intercom has no analog handset line."},
		"is_landline_sip_line_available": {"The flat has no landline to forward calls to."},
	}, errorsOf(t, res)); diff != "" {
		t.Errorf("422 (-want +got):\n%s", diff)
	}
	if v := f.want(f.as(w.alice, "GET", icPath, ""), 200).JSON(t); v["title"] == "Home" {
		t.Error("a refused PATCH renamed the intercom")
	}
	if r := w.ring(`{"flat":15}`); r["analog"] != false || r["landline"] != nil {
		t.Errorf("ring answer %v, want analog false, landline null", r)
	}
	// Off is what the object says of the lines the flat lacks: an app may
	// send it back with its other settings, and nothing of the lines changes.
	v := f.want(f.as(w.alice, "PATCH", icPath, `{"is_enabled":true,"is_analog_line_available":false,"is_landline_sip_line_available":false}`), 200).JSON(t)
	wantLines(t, "alice after sending the lines back", v, []string{"is_enabled"}, false, false)

	// The operator gives the intercom handsets and landline forwarding.
	ic := f.want(f.admin("PATCH", adminPath, `{"has_analog_line":true,"has_landline_sip_line":true}`), 200).JSON(t)
	if ic["has_analog_line"] != true || ic["has_landline_sip_line"] != true {
		t.Errorf("admin PATCH answered %v", ic)
	}
	// The handset rings by default; the landline needs the flat's URI first.
	wantLines(t, "alice", f.want(f.as(w.alice, "GET", icPath, ""), 200).JSON(t),
		[]string{"is_enabled", "is_analog_line_available"}, true, false)
	f.want(f.as(w.alice, "PATCH", icPath, `{"is_landline_sip_line_available":true}`), 422)

	flat := f.want(f.admin("PATCH", adminPath+"/flats/15", `{"landline_uri":"`+landlineURI+`"}`), 200).JSON(t)
	if diff := cmp.Diff(map[string]any{"intercom_id": float64(w.intercomID), "flat": float64(15), "landline_uri": landlineURI,
		"is_analog_line_available": true, "is_landline_sip_line_available": false,
		"available_answer_devices": []any{"is_enabled", "is_analog_line_available", "is_landline_sip_line_available"}}, flat); diff != "" {
		t.Errorf("admin flat (-want +got):\n%s", diff)
	}
	all := []string{"is_enabled", "is_analog_line_available", "is_landline_sip_line_available"}
	wantLines(t, "bob", f.want(f.as(bob, "GET", icPath, ""), 200).JSON(t), all, true, false)
	wantLines(t, "carol", f.want(f.as(carol, "GET", icPath, ""), 200).JSON(t), []string{"is_enabled", "is_analog_line_available"}, true, false)

	// Alice chooses for the flat, with the booleans the SDKs send; bob, of
	// the same flat, sees it in the list; carol's flat keeps its own.
	v = f.want(f.as(w.alice, "PATCH", icPath, `{"is_analog_line_available":"0","is_landline_sip_line_available":true,"is_enabled":null}`), 200).JSON(t)
	wantLines(t, "alice's PATCH", v, all, false, true)
	page := f.want(f.as(bob, "GET", "/api/v1/intercom", ""), 200).JSON(t)
	wantLines(t, "bob", page["data"].([]any)[0].(map[string]any), all, false, true)
	wantLines(t, "carol", f.want(f.as(carol, "GET", icPath, ""), 200).JSON(t), []string{"is_enabled", "is_analog_line_available"}, true, false)
	if r := w.ring(`{"flat":15}`); r["analog"] != false || r["landline"] != landlineURI || r["status"] != "ring" {
		t.Errorf("ring answer %v, want analog false, landline %s, ring", r, landlineURI)
	}
	if r := w.ring(`{"flat":16}`); r["analog"] != true || r["landline"] != nil {
		t.Errorf("flat 16's ring answer %v, want analog true, landline null", r)
	}

	// The operator removes the landline: it is no longer offered, nor rung.
	flat = f.want(f.admin("PATCH", adminPath+"/flats/15", `{"landline_uri":null}`), 200).JSON(t)
	if flat["landline_uri"] != nil {
		t.Errorf("landline_uri %v after removing it", flat["landline_uri"])
	}
	wantLines(t, "alice", f.want(f.as(w.alice, "GET", icPath, ""), 200).JSON(t), []string{"is_enabled", "is_analog_line_available"}, false, false)
	if r := w.ring(`{"flat":15}`); r["landline"] != nil {
		t.Errorf("ring answer %v rings a removed landline", r)
	}

	// Private houses: members without a flat share the "house" lines.
	f.want(f.admin("PATCH", adminPath+"/flats/house", `{"is_analog_line_available":false}`), 200)
	if got := f.want(f.admin("GET", adminPath+"/flats/house", ""), 200).JSON(t); got["flat"] != nil || got["is_analog_line_available"] != false {
		t.Errorf("house lines %v", got)
	}
	if r := w.ring(`{}`); r["analog"] != false {
		t.Errorf("a private house's ring answer %v rings its handset", r)
	}
}

func TestFlatLinesBadInput(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f)
	adminPath := "/api/admin/v1/intercoms/" + itoa(w.intercomID)
	f.want(f.admin("PATCH", adminPath, `{"has_analog_line":true,"has_landline_sip_line":true}`), 200)
	for _, tc := range []struct {
		body string
		key  string
	}{
		{`{}`, "landline_uri"},
		{`{"landline_uri":"tel:+15551234567"}`, "landline_uri"},
		{`{"landline_uri":"sip:"}`, "landline_uri"},
		{`{"landline_uri":"sip:@gw"}`, "landline_uri"},
		{`{"landline_uri":"sip:a b@gw"}`, "landline_uri"},
		{`{"landline_uri":"sip:x@gw\u0000"}`, "landline_uri"},
		{`{"landline_uri":"sip:x@` + strings.Repeat("g", 300) + `"}`, "landline_uri"},
		{`{"landline_uri":15}`, "landline_uri"},
		{`{"is_analog_line_available":"yes"}`, "is_analog_line_available"},
		{`{"is_landline_sip_line_available":[]}`, "is_landline_sip_line_available"},
		{`{"landline":"sip:x@gw"}`, "landline"},
		{`{"id":5,"is_analog_line_available":true}`, "id"},
	} {
		res := f.want(f.admin("PATCH", adminPath+"/flats/15", tc.body), 422)
		if _, ok := errorsOf(t, res)[tc.key]; !ok {
			t.Errorf("%s: 422 %s, want an error on %s", tc.body, res.Body, tc.key)
		}
	}
	// Nothing of it was kept.
	if got := f.want(f.admin("GET", adminPath+"/flats/15", ""), 200).JSON(t); got["landline_uri"] != nil || got["is_analog_line_available"] != true {
		t.Errorf("flat after refused PATCHes: %v", got)
	}
	for _, path := range []string{adminPath + "/flats/-1", adminPath + "/flats/015", adminPath + "/flats/x", adminPath + "/flats/99999999999",
		"/api/admin/v1/intercoms/999/flats/15"} {
		f.want(f.admin("GET", path, ""), 404)
		f.want(f.admin("PATCH", path, `{"is_analog_line_available":true}`), 404)
	}
	f.want(f.admin("PATCH", adminPath, `{"has_analog_line":"maybe"}`), 422)
	// The apps' PATCH: booleans as is_enabled.
	res := f.want(f.as(w.alice, "PATCH", "/api/v1/intercom/"+itoa(w.intercomID), `{"is_analog_line_available":"on"}`), 422)
	if _, ok := errorsOf(t, res)["is_analog_line_available"]; !ok {
		t.Errorf("422 %s", res.Body)
	}
	// Another account's intercom is not found, whatever the body.
	otherID, _ := f.provision(`{"address":"Elsewhere 2"}`)
	f.want(f.admin("PATCH", "/api/admin/v1/intercoms/"+itoa(otherID), `{"has_analog_line":true}`), 200)
	f.want(f.as(w.alice, "PATCH", "/api/v1/intercom/"+itoa(otherID), `{"is_analog_line_available":false}`), 404)
}

// TestLineAnswers: the handset or landline the panel rang answers. The call
// is answered; every device still ringing gets intercom_cancel with the
// line's reason, by socket and by push; the history says which line; the
// conversation is the panel's to end.
func TestLineAnswers(t *testing.T) {
	e := newEndsFixture(t, nil)
	w := newWorldWith(t, e.fixture, "android")
	e.register(w.alice, `{"fcm_token":"fcm-alice"}`, "")
	web := e.loginAs("alice", "alice-web", "web")
	webSock := e.socket(t, web)
	adminPath := "/api/admin/v1/intercoms/" + itoa(w.intercomID)
	e.want(e.admin("PATCH", adminPath, `{"has_analog_line":true,"has_landline_sip_line":true}`), 200)
	e.want(e.admin("PATCH", adminPath+"/flats/15", `{"landline_uri":"`+landlineURI+`","is_landline_sip_line_available":true}`), 200)
	otherID, otherSecret := e.provision(`{"address":"Elsewhere 2"}`)
	_ = otherID

	v := w.ring(`{"flat":15}`)
	if v["analog"] != true || v["landline"] != landlineURI || len(v["recipients"].([]any)) != 2 {
		t.Fatalf("ring %v", v)
	}
	webSock.expect("intercom_ring")
	e.srv.Wait()
	answered := "/api/hw/v1/calls/" + itoa(callID(v)) + "/answered"

	for _, tc := range []struct{ body, key string }{
		{`{}`, "by"}, {`{"by":null}`, "by"}, {`{"by":"phone"}`, "by"}, {`{"by":1}`, "by"}, {`{"by":"ANALOG"}`, "by"},
	} {
		res := e.want(e.hw(w.secret, "POST", answered, tc.body), 422)
		if _, ok := errorsOf(t, res)[tc.key]; !ok {
			t.Errorf("%s: 422 %s, want an error on %s", tc.body, res.Body, tc.key)
		}
	}
	e.want(e.hw(otherSecret, "POST", answered, `{"by":"analog"}`), 404) // another intercom's call
	e.want(e.hw(w.secret, "POST", "/api/hw/v1/calls/999999/answered", `{"by":"analog"}`), 404)
	e.want(e.hw("wrong", "POST", answered, `{"by":"analog"}`), 401)
	if got := e.want(e.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t); got["status"] != "ring" {
		t.Fatalf("the call is %v after refused reports", got["status"])
	}

	call := e.want(e.hw(w.secret, "POST", answered, `{"by":"landline"}`), 200).JSON(t)
	if call["status"] != "answered" || call["answered_on"] != "landline" || call["landline"] != landlineURI || call["started_at"] == nil {
		t.Errorf("answered call %v", call)
	}
	ev := webSock.expect("intercom_cancel")
	if ev["reason"] != "answered_landline" || ev.data()["reason"] != "answered_landline" || callID(ev.data()) != callID(v) {
		t.Errorf("socket intercom_cancel %v", ev)
	}
	e.srv.Wait()
	if c := e.fcmTo("fcm-alice", "intercom_cancel"); len(c) != 1 || c[0].Data["reason"] != "answered_landline" {
		t.Errorf("FCM intercom_cancel %+v", c)
	}
	if n := len(e.fcmTo("fcm-alice", "call.missed")); n != 0 {
		t.Errorf("%d missed-call notifications for an answered call", n)
	}

	// The same report again (a panel that got no answer repeats it) changes
	// nothing; the other line, or an app, can no longer answer.
	if again := e.want(e.hw(w.secret, "POST", answered, `{"by":"landline"}`), 200).JSON(t); again["started_at"] != call["started_at"] {
		t.Errorf("a repeated report moved the answer: %v, then %v", call, again)
	}
	e.srv.Wait()
	if c := e.fcmTo("fcm-alice", "intercom_cancel"); len(c) != 1 {
		t.Errorf("after a repeated report, %d FCM cancels", len(c))
	}
	res := e.want(e.hw(w.secret, "POST", answered, `{"by":"analog"}`), 409)
	if !strings.Contains(string(res.Body), "no longer ringing") {
		t.Errorf("409 %s", res.Body)
	}
	e.want(e.as(web, "POST", callPath(v, "start"), ""), 404)

	hist := e.want(e.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t)
	if hist["status"] != "answered" || hist["answered_on"] != "landline" {
		t.Errorf("history %v", hist)
	}
	// The panel ends the conversation.
	e.want(e.hw(w.secret, "POST", "/api/hw/v1/calls/"+itoa(callID(v))+"/end", ""), 204)
	hist = e.want(e.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t)
	if hist["status"] != "ended" || hist["answered_on"] != "landline" {
		t.Errorf("history after the end %v", hist)
	}

	// A call an app answers says so.
	v = w.ring(`{"flat":15}`)
	e.want(e.as(web, "POST", callPath(v, "start"), ""), 200)
	e.want(e.hw(w.secret, "POST", "/api/hw/v1/calls/"+itoa(callID(v))+"/answered", `{"by":"analog"}`), 409)
	if hist := e.want(e.as(w.alice, "GET", callPath(v, ""), ""), 200).JSON(t); hist["answered_on"] != "app" {
		t.Errorf("history of an app's answer %v", hist)
	}
}

// TestHandsetKeepsTheCallRinging: while the flat's handset rings, a call
// is not over when no device rings or every device declined: the handset
// may still answer, until the ring times out.
func TestHandsetKeepsTheCallRinging(t *testing.T) {
	e := newEndsFixture(t, nil)
	w := newWorldWith(t, e.fixture, "web")
	sock := e.socket(t, w.alice)
	e.want(e.admin("PATCH", "/api/admin/v1/intercoms/"+itoa(w.intercomID), `{"has_analog_line":true}`), 200)

	// Nobody's app rings at flat 16, but its handset does.
	v := w.ring(`{"flat":16}`)
	if v["status"] != "ring" || v["analog"] != true || len(v["recipients"].([]any)) != 0 {
		t.Fatalf("ring at a flat with a handset and no app %v", v)
	}
	e.want(e.hw(w.secret, "POST", "/api/hw/v1/calls/"+itoa(callID(v))+"/answered", `{"by":"analog"}`), 200)

	// Every device declines; the handset rings on.
	v = w.ring(`{"flat":15}`)
	sock.expect("intercom_ring")
	e.want(e.as(w.alice, "POST", callPath(v, "cancel"), ""), 204)
	hw := e.want(e.hw(w.secret, "GET", "/api/hw/v1/calls/"+itoa(callID(v)), ""), 200).JSON(t)
	if hw["status"] != "ring" {
		t.Fatalf("after every device declined, with the handset ringing, the call is %v", hw["status"])
	}
	e.clock.Advance(endsRingTimeout)
	e.srv.Wait()
	hw = e.want(e.hw(w.secret, "GET", "/api/hw/v1/calls/"+itoa(callID(v)), ""), 200).JSON(t)
	if hw["status"] != "missed" || hw["answered_on"] != nil {
		t.Errorf("after the ring timeout the call is %v", hw)
	}
}

// TestLineConversationIsThePanels: a call the handset answered has no voice
// for the SIP server to connect: no connect deadline ends it, the SIP
// server no longer finds it live (its end and connected are 404, and its
// look at the number says answered_on, so that it releases the panel's
// INVITE), and only the panel's end or the longest call ends it. A ring
// the SIP server hands over rings the apps alone.
func TestLineConversationIsThePanels(t *testing.T) {
	f := newFixtureWith(t, func(c *node.Config) {
		c.SIPAPIToken = sipAPIToken
		c.AnswerConnectTimeout, c.MaxCallDuration = 20*time.Second, 10*time.Minute
	})
	w := newWorld(t, f)
	user := intercom.SIPUsername(w.intercomID)
	f.want(f.admin("PATCH", "/api/admin/v1/intercoms/"+itoa(w.intercomID), `{"has_analog_line":true}`), 200)

	v := w.ring(`{"flat":15}`)
	number := v["number"].(string)
	hwPath := "/api/hw/v1/calls/" + itoa(callID(v))
	f.want(f.hw(w.secret, "POST", hwPath+"/answered", `{"by":"analog"}`), 200)
	f.want(f.sip("POST", "/api/sip/v1/calls/"+number+"/connected", ""), 404)
	f.want(f.sip("POST", "/api/sip/v1/calls/"+number+"/end", `{"by":"panel"}`), 404)
	seen := f.want(f.sip("GET", "/api/sip/v1/calls/"+number+"?intercom="+user+"&call="+itoa(callID(v)), ""), 200).JSON(t)
	if seen["answered_on"] != "analog" {
		t.Errorf("the SIP server sees %v", seen)
	}
	f.clock.Advance(time.Minute) // past the connect deadline
	f.srv.Wait()
	if got := f.want(f.hw(w.secret, "GET", hwPath, ""), 200).JSON(t); got["status"] != "answered" {
		t.Fatalf("a minute into the handset's conversation the call is %v", got["status"])
	}
	f.clock.Advance(10 * time.Minute)
	f.srv.Wait()
	if got := f.want(f.admin("GET", "/api/admin/v1/calls/"+itoa(callID(v)), ""), 200).JSON(t); got["status"] != "ended" ||
		got["end_reason"] != "max_duration" || got["answered_on"] != "analog" || got["analog"] != true {
		t.Errorf("after the longest call: %v", got)
	}

	// Over SIP, the flat's lines are not rung: nothing there rings them.
	s := f.want(f.sip("POST", "/api/sip/v1/ring", `{"intercom":"`+user+`","flat":16}`), 201).JSON(t)
	if s["status"] != "missed" {
		t.Errorf("a SIP ring at a flat with a handset and no app: %v", s)
	}
}
