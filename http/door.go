package http

import (
	"net/http"
	"strconv"

	"intercom"
)

// Door openings allowed per account per minute.
const doorOpensPerMinute = 10

var (
	errIntercomTimeout = &intercom.Error{Code: ETIMEOUT, Message: "The intercom did not answer in time."}
	errIntercomRefused = &intercom.Error{Code: EBADGATEWAY, Message: "The intercom did not open the door."}
)

// openDoor is POST /api/v1/intercom/{intercom}/open-door: the command goes
// to the intercom's control URL, and 204 means the intercom acknowledged it.
func (s *Server) openDoor(w http.ResponseWriter, r *http.Request, sess session) error {
	v, err := s.pathIntercom(r, sess)
	if err != nil {
		return err
	}
	id := v.Intercom.ID
	if v.Membership.Status != intercom.StatusConfirmed {
		return intercom.ErrNotFound
	}
	key := "door:" + strconv.FormatInt(sess.token.UserID, 10)
	if wait, blocked := s.doors.Blocked(key); blocked {
		return &intercom.Error{Code: intercom.ETOOMANY, RetryAfter: wait,
			Message: "Too many door openings. Please try again in " + secondsText(wait) + "."}
	}
	s.doors.Fail(key) // every attempt counts
	switch {
	case !v.Intercom.Online(s.now(), s.offlineAfter):
		return intercom.Invalid("intercom", "The intercom is offline.")
	case s.controller == nil || v.Intercom.ControlURL == nil:
		return intercom.Invalid("intercom", "The intercom cannot open its door from the app.")
	}
	res := s.controller.Send(r.Context(), v.Intercom, intercom.ControlDoorOpen, map[string]any{
		"duration": v.Intercom.DoorOpenSeconds, "user_id": sess.token.UserID, "device": sess.token.DeviceUUID,
	})
	userID := sess.token.UserID
	if err := s.store.RecordControl(r.Context(), intercom.ControlEntry{IntercomID: id, Event: intercom.ControlDoorOpen,
		UserID: &userID, Device: sess.token.DeviceUUID, At: s.now(), Result: res}); err != nil {
		s.log.Error("recording a door opening", "request_id", requestID(r.Context()), "error", err)
	}
	switch {
	case res.OK:
		w.WriteHeader(http.StatusNoContent)
		return nil
	case res.TimedOut:
		return errIntercomTimeout
	}
	return errIntercomRefused
}

// callEvent tells the intercom's control URL what became of a call, off the
// request path, and records how that went.
func (s *Server) callEvent(c intercom.Call, ic intercom.Intercom, event string, fields map[string]any) {
	if s.controller == nil || ic.ControlURL == nil {
		return
	}
	s.spawn(func() {
		ctx := s.backgroundContext()
		if fields == nil {
			fields = map[string]any{}
		}
		fields["call_id"] = c.ID
		res := s.controller.Send(ctx, ic, event, fields)
		callID := c.ID
		if err := s.store.RecordControl(ctx, intercom.ControlEntry{IntercomID: ic.ID, Event: event, CallID: &callID,
			At: s.now(), Result: res}); err != nil {
			s.log.Error("recording a call event", "call_id", c.ID, "error", err)
		}
		if !res.OK {
			s.log.Warn("the intercom's control URL did not take a call event", "intercom_id", ic.ID, "event", event,
				"call_id", c.ID, "status", res.Status, "error", res.Error)
		}
	})
}

// callEnded tells the intercom how a call ended, from its status.
func (s *Server) callEnded(c intercom.Call, ic intercom.Intercom) {
	switch c.Status {
	case intercom.CallMissed:
		s.callEvent(c, ic, intercom.ControlCallMissed, nil)
	case intercom.CallEnded:
		s.callEvent(c, ic, intercom.ControlCallEnded, nil)
	}
}

// controlLog is GET /api/admin/v1/intercoms/{intercom}/control-log: door
// openings (who, which device, when, how it went) and call events.
func (s *Server) controlLog(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var p intercom.Problems
	page := parsePage(q, &p)
	event := q.Get("event")
	switch event {
	case "", intercom.ControlDoorOpen, intercom.ControlCallAnswered, intercom.ControlCallMissed, intercom.ControlCallEnded:
	default:
		p.Add("event", intercom.MsgIn("event"))
	}
	if err := p.Err(); err != nil {
		return err
	}
	entries, total, err := s.store.ControlLog(r.Context(), id, event, page)
	if err != nil {
		return err
	}
	type entryJSON struct {
		ID       int64  `json:"id"`
		Event    string `json:"event"`
		CallID   *int64 `json:"call_id"`
		UserID   *int64 `json:"user_id"`
		Device   string `json:"device"`
		At       string `json:"at"`
		OK       bool   `json:"ok"`
		Status   int    `json:"status"`
		TimedOut bool   `json:"timed_out"`
		Error    string `json:"error"`
	}
	out := make([]entryJSON, len(entries))
	for i, e := range entries {
		out[i] = entryJSON{e.ID, e.Event, e.CallID, e.UserID, e.Device, sqlTime(e.At), e.Result.OK, e.Result.Status, e.Result.TimedOut, e.Result.Error}
	}
	return encode(w, http.StatusOK, s.paginate(r, page, total, out))
}
