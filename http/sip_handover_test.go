package http_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"intercom"
)

// A SIP server that gave up on its ring request (its timeout passed and it
// closed the connection: the request's context is done) never learns the
// call's number and no panel waits on it: the call ends at once, missed,
// and the phone stops ringing.
func TestSIPRingNotTakenEndsAtOnce(t *testing.T) {
	f := newSIPFixture(t)
	w := newWorld(t, f)
	phone := f.socket(t, w.alice)
	body := `{"intercom":"` + intercom.SIPUsername(w.intercomID) + `","flat":15}`
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the SIP server is gone by the time intercomd answers
	req := httptest.NewRequestWithContext(ctx, "POST", "http://intercomd.test/api/sip/v1/ring", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+sipAPIToken)
	f.srv.ServeHTTP(httptest.NewRecorder(), req)

	ring := phone.expect("intercom_ring")
	end := phone.expect("intercom_cancel")
	if end.data()["call_id"] != ring.data()["call_id"] || end.data()["reason"] != intercom.CancelHangup {
		t.Errorf("cancel %v after ring %v", end, ring)
	}
	id := ring.data()["call_id"].(float64)
	c := f.want(f.admin("GET", "/api/admin/v1/calls/"+itoa(int64(id)), ""), 200).JSON(t)
	if c["status"] != intercom.CallMissed || c["end_reason"] != intercom.EndHandoverFailed {
		t.Errorf("the call: %v", c)
	}
}

// The SIP server's connect report: 200 for an answered call, again 200 for
// a repeat, 404 for a number no answered call has (unknown, ringing, over),
// 400/415 for a body that is not a JSON object; nothing changes on a 4xx.
func TestSIPConnectedReports(t *testing.T) {
	f := newSIPFixture(t)
	w := newWorld(t, f)
	f.socket(t, w.alice) // alice's web app rings over its socket
	v := f.want(f.sip("POST", "/api/sip/v1/ring", `{"intercom":"`+intercom.SIPUsername(w.intercomID)+`","flat":15}`), 201).JSON(t)
	number := v["number"].(string)
	path := "/api/sip/v1/calls/" + number + "/connected"
	f.want(f.sip("POST", path, ""), 404) // still ringing: nothing to connect
	f.want(f.sip("POST", "/api/sip/v1/calls/2999999999/connected", ""), 404)
	f.want(f.sip("POST", "/api/sip/v1/calls/15/connected", ""), 404)
	f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 200)
	f.want(f.do(request{method: "POST", path: path, body: `[1]`, headers: map[string]string{"Authorization": "Bearer " + sipAPIToken}}), 400)
	f.want(f.do(request{method: "POST", path: path, body: `{}`, headers: map[string]string{"Authorization": "Bearer " + sipAPIToken,
		"Content-Type": "text/plain"}}), 415)
	call := "/api/admin/v1/calls/" + itoa(int64(v["call_id"].(float64)))
	if c := f.want(f.admin("GET", call, ""), 200).JSON(t); c["connected_at"] != nil {
		t.Fatalf("connected after refused reports: %v", c)
	}
	first := f.want(f.sip("POST", path, `{}`), 200).JSON(t)
	if first["status"] != "answered" {
		t.Errorf("connect: %v", first)
	}
	at := f.want(f.admin("GET", call, ""), 200).JSON(t)["connected_at"]
	f.clock.Advance(time.Second)
	f.want(f.sip("POST", path, ""), 200) // a repeat changes nothing
	if again := f.want(f.admin("GET", call, ""), 200).JSON(t)["connected_at"]; at == nil || again != at {
		t.Errorf("connected_at %v, then %v", at, again)
	}
	f.want(f.as(w.alice, "POST", callPath(v, "end"), ""), 204)
	f.want(f.sip("POST", path, ""), 404) // late: the call is over
	f.want(f.do(request{method: "POST", path: path}), 401)
}
