package http

import (
	"net/http"
	"strconv"

	"intercom"
	"intercom/calls"
	"intercom/wire"
)

func (s *Server) callJSON(cv intercom.CallView) wire.Call {
	return wire.CallOf(cv, s.calls.Online(cv.Intercom.Intercom))
}

// callTypes maps the history's types[] filter to call statuses.
var callTypes = map[string][]string{
	"missed_intercom_call":   {intercom.CallMissed},
	"answered_intercom_call": {intercom.CallAnswered, intercom.CallEnded},
}

// listCalls is GET /api/v1/intercom/calls.
func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, sess session) error {
	q := r.URL.Query()
	var p intercom.Problems
	page := parsePage(q, &p)
	f := intercom.CallFilter{IntercomID: queryID(q, "intercom", &p), CameraID: queryID(q, "camera", &p)}
	for i, t := range queryArray(q, "types") {
		statuses, ok := callTypes[t]
		if !ok {
			k := "types." + strconv.Itoa(i)
			p.Add(k, intercom.MsgIn(k))
		}
		f.Statuses = append(f.Statuses, statuses...)
	}
	if err := p.Err(); err != nil {
		return err
	}
	views, total, err := s.store.CallsOf(r.Context(), sess.token.UserID, f, page)
	if err != nil {
		return err
	}
	return encodePage(s, w, r, page, total, views, s.callJSON)
}

// getCall is GET /api/v1/intercom/calls/{call}.
func (s *Server) getCall(w http.ResponseWriter, r *http.Request, sess session) error {
	id, err := pathID(r.PathValue("call"))
	if err != nil {
		return err
	}
	cv, err := s.store.CallOf(r.Context(), sess.token.UserID, id)
	if err != nil {
		return err
	}
	s.calls.Seen(r.Context(), sess.device(), cv.Call)
	return encode(w, http.StatusOK, s.callJSON(cv))
}

// device is the session's device, as the call lifecycle names it.
func (sess session) device() calls.Device {
	return calls.Device{UserID: sess.token.UserID, DeviceID: sess.token.DeviceID, UUID: sess.token.DeviceUUID}
}

// startCall answers: the first rung device wins, the others stop ringing.
func (s *Server) startCall(w http.ResponseWriter, r *http.Request, sess session) error {
	id, err := pathID(r.PathValue("call"))
	if err != nil {
		return err
	}
	_, answer, err := s.calls.Answer(r.Context(), sess.device(), id)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, answer)
}

// cancelCall declines on this device only; the others ring on. The device's
// other sockets (another window of the app) stop ringing too.
func (s *Server) cancelCall(w http.ResponseWriter, r *http.Request, sess session) error {
	id, err := pathID(r.PathValue("call"))
	if err != nil {
		return err
	}
	if err := s.calls.Decline(r.Context(), sess.device(), id, r.Header.Get("X-Socket-ID")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// endCall hangs up an answered call.
func (s *Server) endCall(w http.ResponseWriter, r *http.Request, sess session) error {
	id, err := pathID(r.PathValue("call"))
	if err != nil {
		return err
	}
	if err := s.calls.HangUp(r.Context(), sess.device(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminCall is GET /api/admin/v1/calls/{call}: every device the call
// concerned, how it was reached or why not.
func (s *Server) adminCall(w http.ResponseWriter, r *http.Request) error {
	c, err := s.pathCall(r)
	if err != nil {
		return err
	}
	sends, err := s.store.CallSends(r.Context(), c.ID)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toAdminCall(c, sends))
}

type adminSendJSON struct {
	Channel    string `json:"channel"`
	Type       string `json:"type"`
	Attempts   int    `json:"attempts"`
	Outcome    string `json:"outcome"`
	Status     int    `json:"status"`
	Reason     string `json:"reason"`
	ProviderID string `json:"provider_id"`
	At         string `json:"at"`
}

type adminRecipientJSON struct {
	Device     string          `json:"device"`
	UserID     int64           `json:"user_id"`
	Client     string          `json:"client"`
	Channels   []string        `json:"channels"`
	DeclinedAt *string         `json:"declined_at"`
	Answered   bool            `json:"answered"`
	SeenAt     *string         `json:"seen_at"`
	SeenBy     *string         `json:"seen_by"`
	Sends      []adminSendJSON `json:"sends"`
}

type adminSkippedJSON struct {
	Device string          `json:"device"`
	UserID int64           `json:"user_id"`
	Client string          `json:"client"`
	Reason string          `json:"reason"`
	Sends  []adminSendJSON `json:"sends"` // its missed-call notification
}

type adminCallJSON struct {
	ID          int64                `json:"id"`
	IntercomID  int64                `json:"intercom_id"`
	Flat        *int64               `json:"flat"`
	Status      string               `json:"status"`
	EndReason   *string              `json:"end_reason"`
	CreatedAt   string               `json:"created_at"`
	StartedAt   *string              `json:"started_at"`
	ConnectedAt *string              `json:"connected_at"`
	EndedAt     *string              `json:"ended_at"`
	Analog      bool                 `json:"analog"`
	Landline    *string              `json:"landline"`
	AnsweredOn  *string              `json:"answered_on"`
	Recipients  []adminRecipientJSON `json:"recipients"`
	Skipped     []adminSkippedJSON   `json:"skipped"`
}

// toAdminCall is a call as the operator sees it: every device it concerned,
// how it was reached (sends, the call's pushes) or why not.
func toAdminCall(c intercom.Call, sends []intercom.CallSend) adminCallJSON {
	sendsOf := map[int64][]adminSendJSON{}
	for _, cs := range sends {
		sendsOf[cs.DeviceID] = append(sendsOf[cs.DeviceID], adminSendJSON{cs.Channel, cs.Type, cs.Attempts, cs.Outcome, cs.Status, cs.Reason,
			cs.ProviderID, sqlTime(cs.At)})
	}
	out := adminCallJSON{ID: c.ID, IntercomID: c.IntercomID, Flat: c.Flat, Status: c.Status, EndReason: nonEmpty(c.EndReason), CreatedAt: sqlTime(c.CreatedAt),
		StartedAt: sqlTimePtr(c.StartedAt), ConnectedAt: sqlTimePtr(c.ConnectedAt), EndedAt: sqlTimePtr(c.EndedAt),
		Analog: c.Lines.Analog, Landline: nonEmpty(c.Lines.Landline), AnsweredOn: nonEmpty(c.AnsweredVia()),
		Recipients: []adminRecipientJSON{}, Skipped: []adminSkippedJSON{}}
	for _, d := range c.Devices {
		if d.Rung() {
			out.Recipients = append(out.Recipients, adminRecipientJSON{d.UUID, d.UserID, d.Client, d.Channels, sqlTimePtr(d.DeclinedAt),
				c.AnsweredBy != nil && *c.AnsweredBy == d.DeviceID, sqlTimePtr(d.SeenAt), nonEmpty(d.SeenBy),
				append([]adminSendJSON{}, sendsOf[d.DeviceID]...)})
		} else {
			out.Skipped = append(out.Skipped, adminSkippedJSON{d.UUID, d.UserID, d.Client, d.Reason, append([]adminSendJSON{}, sendsOf[d.DeviceID]...)})
		}
	}
	return out
}

// pathCall loads the call named by the {call} path value.
func (s *Server) pathCall(r *http.Request) (intercom.Call, error) {
	id, err := pathID(r.PathValue("call"))
	if err != nil {
		return intercom.Call{}, err
	}
	return s.store.Call(r.Context(), id)
}
