package http

import (
	"context"
	"net/http"
	"slices"

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
		ic, err := s.store.IntercomBySecretHash(r.Context(), intercom.HashToken(secret))
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
	CreatedAt  string              `json:"created_at"`
	StartedAt  *string             `json:"started_at"`
	EndedAt    *string             `json:"ended_at"`
	Recipients []ringRecipientJSON `json:"recipients"`
	Skipped    []ringSkippedJSON   `json:"skipped"`
}

func toHWCall(c intercom.Call) hwCallJSON {
	out := hwCallJSON{CallID: c.ID, Status: c.Status, CreatedAt: sqlTime(c.CreatedAt), StartedAt: sqlTimePtr(c.StartedAt),
		EndedAt: sqlTimePtr(c.EndedAt), Recipients: []ringRecipientJSON{}, Skipped: []ringSkippedJSON{}}
	for _, d := range c.Devices {
		if d.Rung() {
			out.Recipients = append(out.Recipients, ringRecipientJSON{d.UUID, d.Client, d.Channels})
		} else {
			out.Skipped = append(out.Skipped, ringSkippedJSON{d.UUID, d.Reason})
		}
	}
	return out
}

// channels says how a device is rung right now (intercom.RingChannels): its
// open Pusher socket when its client rings over one, and the push provider of
// its platform when it registered a token and that provider is configured.
func (s *Server) channels(c intercom.RingCandidate) []string {
	socketOpen := false
	if intercom.RingsOverSocket(c.Client) {
		for _, t := range c.Tokens {
			if s.hub.Subscribed(tokenChannel(t)) {
				socketOpen = true
				break
			}
		}
	}
	_, push := s.pushToken(c)
	return intercom.RingChannels(c.Client, socketOpen, push)
}

// pushToken is the token and channel a device is pushed to: the first of its
// platform's push channels (intercom.PushChannels) for which it registered a
// token and whose provider is configured.
func (s *Server) pushToken(c intercom.RingCandidate) (string, string) {
	for _, ch := range intercom.PushChannels(c.Client) {
		if token := c.PushToken(ch); token != "" && s.push.Has(ch) {
			return token, ch
		}
	}
	return "", ""
}

// sendPushes hands the ring to the push providers of the rung devices.
func (s *Server) sendPushes(c intercom.Call, ic intercom.Intercom, cands []intercom.RingCandidate) {
	byDevice := make(map[int64]intercom.RingCandidate, len(cands))
	for _, cand := range cands {
		byDevice[cand.DeviceID] = cand
	}
	for _, d := range c.Devices {
		token, ch := s.pushToken(byDevice[d.DeviceID])
		if !d.Rung() || token == "" || !slices.Contains(d.Channels, ch) {
			continue
		}
		s.push.Send(ch, intercom.PushMessage{CallID: c.ID, DeviceID: d.DeviceID, Token: token, Type: "intercom_ring",
			Data: callData(c, ic, d.Title), Expires: c.CreatedAt.Add(s.ringTimeout)})
	}
}

// ring is POST /api/hw/v1/ring: a visitor calls a flat (or, without one, a
// private house). It answers at once with who rings and who does not.
func (s *Server) ring(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	flat := optionalInt(body, "flat", 0, 1<<31-1, &p)
	if err := p.Err(); err != nil {
		return err
	}
	now := s.now()
	cands, err := s.store.RingCandidates(r.Context(), ic.ID, flat, now)
	if err != nil {
		return err
	}
	c, err := s.store.CreateCall(r.Context(), intercom.NewCall(ic.ID, flat, intercom.Decide(cands, now, s.channels), now))
	if err != nil {
		return err
	}
	s.rings.WithLabelValues(c.Status).Inc()
	if c.Status == intercom.CallRing {
		s.timers.startRing(s.clock, c.ID, s.ringTimeout, func() { s.timeOut(c.ID) })
		s.sendRing(c, ic)
		s.spawn(func() { s.sendPushes(c, ic, cands) }) // a thousand sends are not queued on the ring's time
	}
	s.sendCallStore(c, "")
	s.callEnded(c, ic) // missed at once when nobody could ring
	out := toHWCall(c)
	return encode(w, http.StatusCreated, struct {
		CallID     int64               `json:"call_id"`
		Status     string              `json:"status"`
		Recipients []ringRecipientJSON `json:"recipients"`
		Skipped    []ringSkippedJSON   `json:"skipped"`
	}{out.CallID, out.Status, out.Recipients, out.Skipped})
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
	var notify []intercom.CallDevice
	c, err := s.store.UpdateCall(r.Context(), id, func(c *intercom.Call) error {
		if c.IntercomID != ic.ID {
			return intercom.ErrNotFound
		}
		notify = c.Ringing()
		if c.Status == intercom.CallAnswered {
			notify = nil
			for _, d := range c.Devices {
				if d.DeviceID == *c.AnsweredBy {
					notify = append(notify, d)
				}
			}
		}
		return c.VisitorLeft(s.now())
	})
	if err != nil {
		return err
	}
	s.timers.stopRing(c.ID)
	s.sendCancel(c, ic, notify, intercom.CancelHangup, "")
	s.sendCallStore(c, "")
	s.callEnded(c, ic)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// timeOut makes a call still ringing at its ring timeout missed.
func (s *Server) timeOut(id int64) {
	ctx := s.backgroundContext()
	var ringing []intercom.CallDevice
	c, err := s.store.UpdateCall(ctx, id, func(c *intercom.Call) error {
		ringing = c.Ringing()
		return c.TimeOut(s.now())
	})
	if intercom.ErrorCode(err) == intercom.ENOTFOUND {
		return // answered, declined or ended meanwhile
	} else if err != nil {
		s.log.Error("ring timeout", "call_id", id, "error", err)
		return
	}
	if ic, err := s.callIntercom(ctx, c); err != nil {
		s.log.Error("ring timeout: loading the intercom", "call_id", id, "intercom_id", c.IntercomID, "error", err)
	} else {
		s.sendCancel(c, ic, ringing, intercom.CancelTimeout, "")
		s.callEnded(c, ic)
	}
	s.sendCallStore(c, "")
}

// callIntercom loads the intercom of a call, by the call's own intercom id:
// not through any account's history, which may have forgotten the call.
func (s *Server) callIntercom(ctx context.Context, c intercom.Call) (intercom.Intercom, error) {
	return s.store.IntercomByID(ctx, c.IntercomID)
}

// heartbeat is POST /api/hw/v1/heartbeat: the intercom is alive.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	now := s.now()
	prev, err := s.store.RecordHeartbeat(r.Context(), ic.ID, now)
	if err != nil {
		return err
	}
	if prev == nil || now.Sub(*prev) >= s.offlineAfter {
		s.sendStatus(ic.ID, true)
	}
	s.timers.resetOffline(s.clock, ic.ID, s.offlineAfter, func() { s.checkOffline(ic.ID) })
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkOffline runs when an intercom's heartbeats stopped for offlineAfter.
func (s *Server) checkOffline(id int64) {
	ctx := s.backgroundContext()
	last, err := s.store.LastHeartbeat(ctx, id)
	if err != nil {
		s.log.Error("offline check", "intercom_id", id, "error", err)
		return
	}
	now := s.now()
	if last == nil || now.Sub(*last) >= s.offlineAfter {
		s.sendStatus(id, false)
		return
	}
	// A heartbeat came another way (another node): look again when it expires.
	s.timers.resetOffline(s.clock, id, s.offlineAfter-now.Sub(*last), func() { s.checkOffline(id) })
}

// sendStatus tells every member account that an intercom went on or offline.
func (s *Server) sendStatus(id int64, online bool) {
	users, err := s.store.IntercomMembers(s.backgroundContext(), id)
	if err != nil {
		s.log.Error("intercom.status", "intercom_id", id, "error", err)
		return
	}
	for _, u := range users {
		s.toUser(u, "intercom.status", func() map[string]any { return map[string]any{"intercom_id": id, "is_online": online} }, "")
	}
}

// backgroundContext is the context of work done off a request: timers and
// event deliveries.
func (s *Server) backgroundContext() context.Context { return context.Background() }
