package calls

import (
	"context"
	"strconv"
	"time"

	"intercom"
	"intercom/wire"
)

// effects is what must happen once a transition is saved. The functions
// below compute it from the call alone; apply carries it out.
type effects struct {
	ring     bool                   // intercom_ring to the devices rung over sockets
	pushes   []intercom.PushMessage // with Type; channel in pushChannels
	pushVia  []string
	cancel   []intercom.CallDevice // intercom_cancel to these devices
	reason   string                // of the cancel
	except   string                // the socket that asked, spared the cancel
	control  []controlEvent        // to the intercom's control URL
	schedule []intercom.Deadline
	cancelAt []intercom.Deadline // deadlines that no longer apply
	history  bool                // intercom.call.store to every account the call concerned

	// pushCancel are rung devices that learn by push that the ring ended
	// (with reason), those rung through a channel that can tell them
	// (intercom.CancelsByPush).
	pushCancel []intercom.CallDevice
	missed     bool // the call ended missed: the missed-call notifications
	ringOver   bool // the ring is over: its pushes are counted seen or unseen
}

type controlEvent struct {
	event  string
	fields map[string]any
}

func ringDeadline(c intercom.Call, timeout time.Duration) intercom.Deadline {
	return intercom.Deadline{Kind: intercom.DeadlineRing, ID: c.ID, At: c.CreatedAt.Add(timeout)}
}

// conversationDeadlines are an answered call's: its voice connects within
// connect, and it lasts at most longest.
func conversationDeadlines(id int64, started time.Time, connected *time.Time, connect, longest time.Duration) []intercom.Deadline {
	ds := []intercom.Deadline{{Kind: intercom.DeadlineEnd, ID: id, At: started.Add(longest)}}
	if connected == nil {
		ds = append(ds, intercom.Deadline{Kind: intercom.DeadlineConnect, ID: id, At: started.Add(connect)})
	}
	return ds
}

// collapseID ties the ring of a call and its end together at the provider.
func collapseID(c intercom.Call) string { return "call-" + itoa(c.ID) }

// rung: a new call. A ringing one rings its devices until its deadline; one
// that reached nobody is missed at once.
func rung(c intercom.Call, cands []*intercom.RingCandidate, timeout time.Duration, pushToken func(*intercom.RingCandidate) (string, string)) effects {
	e := effects{history: true}
	if c.Status != intercom.CallRing {
		e.control, e.missed = ending(c), true
		return e
	}
	e.ring = true
	e.schedule = []intercom.Deadline{ringDeadline(c, timeout)}
	byDevice := make(map[int64]*intercom.RingCandidate, len(cands))
	for _, cand := range cands {
		byDevice[cand.DeviceID] = cand
	}
	for _, d := range c.Devices {
		if !d.Rung() {
			continue
		}
		cand, ok := byDevice[d.DeviceID]
		if !ok {
			continue
		}
		token, ch := pushToken(cand)
		if token == "" || !hasChannel(d, ch) {
			continue
		}
		e.pushes = append(e.pushes, intercom.PushMessage{CallID: c.ID, DeviceID: d.DeviceID, Token: token,
			Type: intercom.PushRing, CollapseID: collapseID(c), Expires: c.CreatedAt.Add(timeout)})
		e.pushVia = append(e.pushVia, ch)
	}
	return e
}

// answered: the other devices stop ringing, the intercom learns who took it,
// and the conversation's deadlines start.
func answered(c intercom.Call, before []intercom.CallDevice, who Device, number string, connect, longest time.Duration) effects {
	e := effects{history: true, reason: intercom.CancelAnsweredElsewhere, ringOver: true,
		cancelAt: []intercom.Deadline{{Kind: intercom.DeadlineRing, ID: c.ID}},
		schedule: conversationDeadlines(c.ID, *c.StartedAt, c.ConnectedAt, connect, longest),
		control:  []controlEvent{{intercom.ControlCallAnswered, map[string]any{"number": number, "device": who.UUID}}}}
	for _, d := range before {
		if d.DeviceID != who.DeviceID {
			e.cancel = append(e.cancel, d)
		}
	}
	e.pushCancel = e.cancel
	return e
}

// answeredOn: the flat's handset or landline took the call (its panel
// said so, so it is not told again). The devices that were ringing stop,
// told which line answered; the conversation's voice is the panel's, so
// only its longest duration applies.
func answeredOn(c intercom.Call, before []intercom.CallDevice, longest time.Duration) effects {
	return effects{history: true, reason: intercom.CancelAnsweredOn(c.AnsweredOn), ringOver: true,
		cancel: before, pushCancel: before,
		cancelAt: []intercom.Deadline{{Kind: intercom.DeadlineRing, ID: c.ID}},
		schedule: conversationDeadlines(c.ID, *c.StartedAt, c.ConnectedAt, 0, longest)}
}

// declined: the device's other sockets stop ringing; when it was the last
// one ringing, the call is missed.
func declined(c intercom.Call, who Device, exceptSocket string) effects {
	e := effects{reason: intercom.CancelDeclined, except: exceptSocket}
	for _, d := range c.Devices {
		if d.DeviceID == who.DeviceID {
			e.cancel = append(e.cancel, d)
		}
	}
	if c.Status == intercom.CallMissed {
		e.history, e.missed, e.ringOver = true, true, true
		e.cancelAt = []intercom.Deadline{{Kind: intercom.DeadlineRing, ID: c.ID}}
		e.control = ending(c)
	}
	return e
}

// ended: the answering device hung up.
func ended(c intercom.Call) effects {
	return effects{history: true, control: ending(c), cancelAt: conversationOver(c.ID)}
}

// over: a live call that was was ended otherwise than by a device of its
// own (the visitor left, the ring timed out, a deadline passed, the SIP
// server lost it); notify are the devices that were still in it, told so
// with reason.
func over(c intercom.Call, was string, notify []intercom.CallDevice, reason string) effects {
	e := effects{history: true, cancel: notify, reason: reason, control: ending(c), missed: c.Status == intercom.CallMissed}
	switch was {
	case intercom.CallRing:
		e.cancelAt = []intercom.Deadline{{Kind: intercom.DeadlineRing, ID: c.ID}}
		e.pushCancel, e.ringOver = notify, true
	case intercom.CallAnswered:
		e.cancelAt = conversationOver(c.ID)
	}
	return e
}

// conversationOver are the deadlines an answered call no longer has once it
// is over.
func conversationOver(id int64) []intercom.Deadline {
	return []intercom.Deadline{{Kind: intercom.DeadlineConnect, ID: id}, {Kind: intercom.DeadlineEnd, ID: id}}
}

// left: the visitor hung up; notify are the devices still in the call.
func left(c intercom.Call, was string, notify []intercom.CallDevice) effects {
	return over(c, was, notify, intercom.CancelHangup)
}

// timedOut: nobody answered in time. The ring's deadline is what fired.
func timedOut(c intercom.Call, ringing []intercom.CallDevice) effects {
	e := over(c, intercom.CallRing, ringing, intercom.CancelTimeout)
	e.cancelAt = nil
	return e
}

// ending tells the intercom how a call ended, from its status.
func ending(c intercom.Call) []controlEvent {
	switch c.Status {
	case intercom.CallMissed:
		return []controlEvent{{intercom.ControlCallMissed, nil}}
	case intercom.CallEnded:
		return []controlEvent{{intercom.ControlCallEnded, nil}}
	}
	return nil
}

// applyLoaded loads the call's intercom and applies e.
func (s *Service) applyLoaded(ctx context.Context, c intercom.Call, e effects) {
	ic, err := s.store.IntercomByID(context.WithoutCancel(ctx), c.IntercomID)
	if err != nil {
		// The deadlines and the history still change, and the pushes of the
		// ring's end are made (pushEnd loads the intercom again, off this
		// path); the rest needs the intercom.
		s.log.Error("loading a call's intercom", "call_id", c.ID, "intercom_id", c.IntercomID, "error", err)
		s.apply(ctx, c, intercom.Intercom{}, effects{schedule: e.schedule, cancelAt: e.cancelAt, history: e.history,
			pushCancel: e.pushCancel, reason: e.reason, missed: e.missed, ringOver: e.ringOver})
		return
	}
	s.apply(ctx, c, ic, e)
}

// apply carries out e for call c of intercom ic: deadlines and socket events
// at once, pushes, history and control POSTs off the caller's path.
func (s *Service) apply(ctx context.Context, c intercom.Call, ic intercom.Intercom, e effects) {
	s.applyDeadlines(ctx, e)
	if e.ring {
		// The call data differs by title only: encoded once per title, not
		// once per device (a thousand at a large house).
		rings := map[string]wire.DataNotifications{}
		for _, d := range c.Devices {
			if d.Rung() { // over the socket it rings on, or as an event beside its push
				n, ok := rings[d.Title]
				if !ok {
					n = wire.NewDataNotifications("intercom_ring", wire.CallData(c, ic, d.Title))
					rings[d.Title] = n
				}
				s.toDevice(d, n.New(), "")
			}
		}
	}
	for _, d := range e.cancel {
		data := wire.CallData(c, ic, d.Title)
		data["reason"] = e.reason
		s.toDevice(d, wire.Notification("intercom_cancel", map[string]any{"data": data, "reason": e.reason}), e.except)
	}
	if e.ringOver {
		s.over.add(c.ID, c.CreatedAt.Add(s.ringTimeout))
	}
	if len(e.pushCancel) > 0 || e.missed || e.ringOver {
		s.spawn(func() { s.pushEnd(c, ic, e) })
	}
	if len(e.pushes) > 0 {
		titles := make(map[int64]string, len(c.Devices))
		for _, d := range c.Devices {
			titles[d.DeviceID] = d.Title
		}
		s.spawn(func() { // a thousand sends are not queued on the ring's time
			// One data map per title, shared by the sends, which only read it.
			data := map[string]map[string]any{}
			for i, m := range e.pushes {
				title := titles[m.DeviceID]
				if m.Data = data[title]; m.Data == nil {
					m.Data = wire.CallData(c, ic, title)
					data[title] = m.Data
				}
				s.push.Send(e.pushVia[i], m)
			}
		})
	}
	if e.history {
		s.spawn(func() { s.sendHistory(c) })
	}
	for _, ev := range e.control {
		s.sendControl(c, ic, ev)
	}
}

func (s *Service) applyDeadlines(ctx context.Context, e effects) {
	ctx = context.WithoutCancel(ctx) // a deadline set is part of the transition the caller was told of
	for _, d := range e.cancelAt {
		if err := s.sched.Cancel(ctx, d.Kind, d.ID); err != nil {
			s.log.Error("cancelling a deadline", "kind", d.Kind, "id", d.ID, "error", err)
		}
	}
	for _, d := range e.schedule {
		if err := s.sched.Schedule(ctx, d); err != nil {
			s.log.Error("setting a deadline", "kind", d.Kind, "id", d.ID, "error", err)
		}
	}
}

// toDevice publishes to every token channel of a device.
func (s *Service) toDevice(d intercom.CallDevice, payload []byte, exceptSocket string) {
	for _, t := range d.Tokens {
		s.bus.Publish(wire.TokenChannel(t), wire.EventName, payload, exceptSocket)
	}
}

// sendHistory puts the call, as each account sees it, into the history of
// every account it concerned that listens.
func (s *Service) sendHistory(c intercom.Call) {
	ctx := context.Background()
	for _, u := range c.Users() {
		if !s.presence.Subscribed(wire.UserChannel(u)) {
			continue
		}
		cv, err := s.store.CallOf(ctx, u, c.ID)
		if intercom.ErrorCode(err) == intercom.ENOTFOUND {
			continue // the account forgot it meanwhile
		} else if err != nil {
			s.log.Error("intercom.call.store: loading the call", "call_id", c.ID, "user_id", u, "error", err)
			continue
		}
		call := wire.CallOf(cv, s.Online(cv.Intercom.Intercom))
		s.ToAccount(u, "intercom.call.store", func() map[string]any { return map[string]any{"intercom_call": call} }, "")
	}
}

// sendControl tells the intercom's control URL what became of a call, off
// the caller's path, and records how that went.
func (s *Service) sendControl(c intercom.Call, ic intercom.Intercom, ev controlEvent) {
	if s.controller == nil || ic.ControlURL == nil {
		return
	}
	s.spawn(func() {
		ctx := context.Background()
		fields := map[string]any{"call_id": c.ID}
		for k, v := range ev.fields {
			fields[k] = v
		}
		res := s.controller.Send(ctx, ic, ev.event, fields)
		callID := c.ID
		if err := s.store.RecordControl(ctx, intercom.ControlEntry{IntercomID: ic.ID, Event: ev.event, CallID: &callID,
			At: s.clock.Now(), Result: res}); err != nil {
			s.log.Error("recording a call event", "call_id", c.ID, "error", err)
		}
		if !res.OK {
			s.log.Warn("the intercom's control URL did not take a call event", "intercom_id", ic.ID, "event", ev.event,
				"call_id", c.ID, "status", res.Status, "error", res.Error)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
