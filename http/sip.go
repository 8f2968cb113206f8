package http

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"intercom"
	"intercom/calls"
)

// The SIP server's API (/api/sip/v1), what deploy/kamailio calls. A panel
// that dials a flat over SIP is rung here as /api/hw/v1/ring rings it; the
// SIP server identifies the panel by its digest username (an intercom's
// SIPUsername) and reports how each call's SIP side ended.

// sipIntercom is the intercom whose SIP username is name; ENOTFOUND.
func (s *Server) sipIntercom(r *http.Request, name string) (intercom.Intercom, error) {
	id, ok := intercom.ParseSIPUsername(name)
	if !ok {
		return intercom.Intercom{}, intercom.ErrNotFound
	}
	return s.store.IntercomByID(r.Context(), id)
}

// sipRing is POST /api/sip/v1/ring {"intercom": "<SIP username>", "flat"?}:
// the panel dialled a flat. 201 with the call's number, which the SIP server
// routes the INVITE to; 404 for an unknown intercom; 422 when flat is not
// one (sipFlat), ringing nobody.
func (s *Server) sipRing(w http.ResponseWriter, r *http.Request) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	name := intercom.Body(body).RequiredString("intercom", 64, &p)
	flat := sipFlat(body, &p)
	if err := p.Err(); err != nil {
		return err
	}
	// A ring that reached intercomd is settled whatever the SIP server does
	// meanwhile: rung, then ended below if the SIP server went away.
	settled := r.WithContext(context.WithoutCancel(r.Context()))
	ic, err := s.sipIntercom(settled, name)
	if err != nil {
		return err
	}
	c, err := s.calls.RingApps(settled.Context(), ic, flat)
	if err != nil {
		return err
	}
	// A SIP server that gave up on its request (its timeout passed: the
	// connection is closed) never learns the call's number, and no panel
	// waits on the call: it ends at once rather than ringing the flat for
	// nothing. Likewise when the answer cannot be written.
	if r.Context().Err() != nil {
		s.handoverFailed(r, c)
		return r.Context().Err()
	}
	if err := encode(w, http.StatusCreated, toRingJSON(c)); err != nil {
		s.handoverFailed(r, c)
		return err
	}
	return nil
}

// handoverFailed ends a ringing call whose ring the SIP server did not take.
func (s *Server) handoverFailed(r *http.Request, c intercom.Call) {
	if c.Status != intercom.CallRing {
		return
	}
	if _, err := s.calls.HandoverFailed(context.WithoutCancel(r.Context()), c.ID); err != nil && intercom.ErrorCode(err) != intercom.ENOTFOUND {
		s.log.Error("ending a ring the SIP server did not take", "call_id", c.ID, "error", err)
	}
}

// sipConnected is POST /api/sip/v1/calls/{number}/connected: the answered
// call's voice connected (the app's 200 OK passed the SIP server), so its
// connect deadline is off. 200 with the call, also for a report repeated;
// 404 when no answered call has the number (over already: the SIP server
// may stop telling).
func (s *Server) sipConnected(w http.ResponseWriter, r *http.Request) error {
	if _, err := decode(r); err != nil { // empty, or a JSON object (its fields unused)
		return err
	}
	c, err := s.calls.SIPConnected(r.Context(), r.PathValue("number"))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toSIPCallJSON(c))
}

// sipFlatDigits is how many digits a dialled flat has at most.
const sipFlatDigits = 5

// msgSIPFlat is the 422 message of a dialled user that is no flat.
var msgSIPFlat = fmt.Sprintf("The flat field must be a flat: 1 to %d digits, not all zeros.", sipFlatDigits)

// sipFlat is the ring's "flat": absent or null (nil: every member, as
// /api/hw/v1/ring), an integer as /api/hw/v1/ring takes it, or the user
// part the panel dialled, a string of 1 to sipFlatDigits ASCII digits whose
// leading zeros are ignored (a panel that pads its flats dials "071" for
// flat 71). Anything else ("0", "+7", "1;x", "", longer numbers) is a
// problem on flat.
func sipFlat(body map[string]any, p *intercom.Problems) *int64 {
	v, ok := body["flat"].(string)
	if !ok {
		return intercom.Body(body).Int("flat", 0, 1<<31-1, p)
	}
	var n int64
	for i := 0; i < len(v) && len(v) <= sipFlatDigits; i++ {
		if v[i] < '0' || v[i] > '9' {
			n = 0
			break
		}
		n = n*10 + int64(v[i]-'0')
	}
	if n == 0 { // "", too long, not digits, or all zeros
		p.Add("flat", msgSIPFlat)
		return nil
	}
	return &n
}

type sipCallJSON struct {
	CallID   int64  `json:"call_id"`
	Status   string `json:"status"`
	Number   string `json:"number"`
	Intercom string `json:"intercom"`
	Declined bool   `json:"declined,omitempty"`
	// AnsweredOn is set when the flat's handset or landline answered: the
	// conversation is the panel's, and no app will take the INVITE.
	AnsweredOn string `json:"answered_on,omitempty"`
}

func toSIPCallJSON(c intercom.Call) sipCallJSON {
	return sipCallJSON{c.ID, c.Status, c.Number, intercom.SIPUsername(c.IntercomID), calls.AllDeclined(c), c.AnsweredOn}
}

// sipCall is GET /api/sip/v1/calls/{number}?intercom=<SIP username>: the
// live call with that number, when it is that intercom's (a panel that rang
// over HTTP INVITEs the number it was given). 404 otherwise. With
// ?call=<id>, the call that had the number is answered even once over
// (status missed or ended; declined when every rung device declined): the
// SIP server asks it while it holds the panel's INVITE.
func (s *Server) sipCall(w http.ResponseWriter, r *http.Request) error {
	var ic *intercom.Intercom
	if name := r.URL.Query().Get("intercom"); name != "" {
		found, err := s.sipIntercom(r, name)
		if err != nil {
			return err
		}
		ic = &found
	}
	var callID int64
	if v := r.URL.Query().Get("call"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return intercom.ErrNotFound
		}
		callID = id
	}
	c, err := s.calls.SIPCall(r.Context(), ic, r.PathValue("number"), callID)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toSIPCallJSON(c))
}

// sipEnd is POST /api/sip/v1/calls/{number}/end {"by": "panel"|"app"}: the
// call's SIP side is over (CANCEL, BYE, no answer). A ringing call is
// missed, an answered one ended. 200 with the call as it now is; 404 when no
// live call has the number (it is over already: the SIP server may stop
// telling).
func (s *Server) sipEnd(w http.ResponseWriter, r *http.Request) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	by := intercom.Body(body).OneOf("by", calls.SIPByPanel, []string{calls.SIPByPanel, calls.SIPByApp}, &p)
	if err := p.Err(); err != nil {
		return err
	}
	c, err := s.calls.SIPEnded(r.Context(), r.PathValue("number"), by)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toSIPCallJSON(c))
}
