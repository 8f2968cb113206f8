package http

import (
	"net/http"

	"intercom"
)

type intercomHandler func(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error

// intercom authenticates a request of an intercom (or its SIP server) by the
// secret it was provisioned with.
func (s *Server) intercom(h intercomHandler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok || len(secret) > 256 {
			return errUnauthenticated
		}
		ic, err := s.store.IntercomBySecretHash(r.Context(), intercom.IntercomSecretHash(secret))
		if intercom.ErrorCode(err) == intercom.ENOTFOUND {
			return errUnauthenticated
		} else if err != nil {
			return err
		}
		return h(w, r, ic)
	})
}

type ringRecipientJSON struct {
	Device   string   `json:"device"`
	Client   string   `json:"client"`
	Channels []string `json:"channels"`
}

type ringSkippedJSON struct {
	Device string `json:"device"`
	Reason string `json:"reason"`
}

type hwCallJSON struct {
	CallID     int64               `json:"call_id"`
	Status     string              `json:"status"`
	Number     string              `json:"number"`
	CreatedAt  string              `json:"created_at"`
	StartedAt  *string             `json:"started_at"`
	EndedAt    *string             `json:"ended_at"`
	Analog     bool                `json:"analog"`
	Landline   *string             `json:"landline"`
	AnsweredOn *string             `json:"answered_on"`
	Recipients []ringRecipientJSON `json:"recipients"`
	Skipped    []ringSkippedJSON   `json:"skipped"`
}

func toHWCall(c intercom.Call) hwCallJSON {
	out := hwCallJSON{CallID: c.ID, Status: c.Status, Number: c.Number, CreatedAt: sqlTime(c.CreatedAt), StartedAt: sqlTimePtr(c.StartedAt),
		EndedAt: sqlTimePtr(c.EndedAt), Analog: c.Lines.Analog, Landline: nonEmpty(c.Lines.Landline), AnsweredOn: nonEmpty(c.AnsweredVia()),
		Recipients: []ringRecipientJSON{}, Skipped: []ringSkippedJSON{}}
	for _, d := range c.Devices {
		if d.Rung() {
			out.Recipients = append(out.Recipients, ringRecipientJSON{d.UUID, d.Client, d.Channels})
		} else {
			out.Skipped = append(out.Skipped, ringSkippedJSON{d.UUID, d.Reason})
		}
	}
	return out
}

// ring is POST /api/hw/v1/ring: a visitor calls a flat (or, without one, a
// private house). It answers at once with who rings and who does not.
func (s *Server) ring(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	flat := intercom.Body(body).Int("flat", 0, 1<<31-1, &p)
	if err := p.Err(); err != nil {
		return err
	}
	c, err := s.calls.Ring(r.Context(), ic, flat)
	if err != nil {
		return err
	}
	return encode(w, http.StatusCreated, toRingJSON(c))
}

// ringJSON is the answer to a ring: the call, its number on the SIP server
// (which a panel INVITEs), who rings and who does not, and what the panel
// rings itself: the flat's handset (analog) and the landline's URI to
// forward to (null: none).
type ringJSON struct {
	CallID     int64               `json:"call_id"`
	Status     string              `json:"status"`
	Number     string              `json:"number"`
	Analog     bool                `json:"analog"`
	Landline   *string             `json:"landline"`
	Recipients []ringRecipientJSON `json:"recipients"`
	Skipped    []ringSkippedJSON   `json:"skipped"`
}

func toRingJSON(c intercom.Call) ringJSON {
	out := toHWCall(c)
	return ringJSON{out.CallID, out.Status, out.Number, out.Analog, out.Landline, out.Recipients, out.Skipped}
}

// hwCall is GET /api/hw/v1/calls/{call}: a call of this intercom.
func (s *Server) hwCall(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	c, err := s.pathCall(r)
	if err != nil {
		return err
	}
	if c.IntercomID != ic.ID {
		return intercom.ErrNotFound
	}
	return encode(w, http.StatusOK, toHWCall(c))
}

// hwEndCall is POST /api/hw/v1/calls/{call}/end: the visitor hung up.
func (s *Server) hwEndCall(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	id, err := pathID(r.PathValue("call"))
	if err != nil {
		return err
	}
	if _, err := s.calls.VisitorLeft(r.Context(), ic, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// hwAnswered is POST /api/hw/v1/calls/{call}/answered {"by"}: the flat's
// handset or landline took the call. 200 with the call.
func (s *Server) hwAnswered(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	id, err := pathID(r.PathValue("call"))
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	by := intercom.Body(body).OneOf("by", "", intercom.Lines, &p)
	if by == "" && !p.Has("by") {
		p.Add("by", intercom.MsgRequired("by"))
	}
	if err := p.Err(); err != nil {
		return err
	}
	c, err := s.calls.AnsweredOn(r.Context(), ic, id, by)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toHWCall(c))
}

// heartbeat is POST /api/hw/v1/heartbeat: the intercom is alive.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	if err := s.calls.Heartbeat(r.Context(), ic); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
