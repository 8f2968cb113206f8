package http_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

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
