package http

import (
	"net/http"

	"intercom"
)

// openDoor is POST /api/v1/intercom/{intercom}/open-door: the command goes
// to the intercom's control URL, and 204 means the intercom acknowledged it.
func (s *Server) openDoor(w http.ResponseWriter, r *http.Request, sess session) error {
	v, err := s.pathIntercom(r, sess)
	if err != nil {
		return err
	}
	if err := s.calls.OpenDoor(r.Context(), sess.device(), v); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
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
