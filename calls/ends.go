package calls

import (
	"context"
	"slices"
	"sync"
	"time"

	"intercom"
	"intercom/wire"
)

// missedPushLife is how long a missed-call notification is worth
// delivering: a phone away for longer learns of the call from its history.
const missedPushLife = 24 * time.Hour

// pushEnd carries out the pushes of a ring's end, off the caller's path:
// intercom_cancel to the Android devices that were pushed the ring, the
// missed-call notifications of a missed call, and the count of the ring's
// pushes seen and unseen. Devices are pushed as they are now: a device
// logged out since (no live token) gets nothing, a token renewed meanwhile
// is the one used.
func (s *Service) pushEnd(c intercom.Call, ic intercom.Intercom, e effects) {
	ctx := context.Background()
	if e.ringOver {
		s.countSeen(ctx, c)
	}
	if s.push == nil {
		return
	}
	var ids []int64
	cancelVia := make(map[int64]string, len(e.pushCancel))
	for _, d := range e.pushCancel {
		if ch := cancelChannel(d); ch != "" && s.push.Has(ch) {
			cancelVia[d.DeviceID] = ch
			ids = append(ids, d.DeviceID)
		}
	}
	var missed []intercom.CallDevice
	if e.missed {
		for _, d := range missedFor(c) {
			if len(intercom.AlertChannels(d.Client)) > 0 { // web and thick-legal have no notifications
				missed = append(missed, d)
				ids = append(ids, d.DeviceID)
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	if ic.ID == 0 { // the transition's effects could not load it
		var err error
		if ic, err = s.store.IntercomByID(ctx, c.IntercomID); err != nil {
			s.log.Error("the pushes of a ring's end: loading the intercom; none is sent", "call_id", c.ID, "error", err)
			return
		}
	}
	now := s.clock.Now()
	targets, err := s.store.PushTargets(ctx, ids, now)
	if err != nil {
		s.log.Error("the pushes of a ring's end: loading the devices", "call_id", c.ID, "error", err)
		return
	}
	byID := make(map[int64]intercom.PushTarget, len(targets))
	for _, t := range targets {
		byID[t.DeviceID] = t
	}
	for _, d := range e.pushCancel {
		ch, ok := cancelVia[d.DeviceID]
		t, live := byID[d.DeviceID]
		if !ok || !live || t.Token(ch) == "" {
			continue
		}
		data := wire.CallData(c, ic, d.Title)
		data["reason"] = e.reason
		// Useful while the phone could still be ringing: as long as a ring
		// pushed now would ring.
		s.push.Send(ch, intercom.PushMessage{CallID: c.ID, DeviceID: d.DeviceID, Token: t.Token(ch), Type: intercom.PushCancel,
			Data: data, Reason: e.reason, CollapseID: collapseID(c), Expires: now.Add(s.ringTimeout)})
	}
	for _, d := range missed {
		t, live := byID[d.DeviceID]
		if !live {
			continue
		}
		for _, ch := range intercom.AlertChannels(t.Client) {
			token := t.Token(ch)
			if token == "" || !s.push.Has(ch) {
				continue
			}
			alert := intercom.MissedAlert(t.Lang, d.Title)
			s.push.Send(ch, intercom.PushMessage{CallID: c.ID, DeviceID: d.DeviceID, Token: token, Type: intercom.PushMissed,
				Data: wire.CallData(c, ic, d.Title), Alert: &alert, CollapseID: "missed-" + itoa(c.ID),
				Expires: now.Add(missedPushLife)})
			break
		}
	}
}

// cancelChannel is the push channel that tells device d its ring ended:
// the one its ring was pushed through, when that one can (Android's).
func cancelChannel(d intercom.CallDevice) string {
	for _, ch := range d.Channels {
		if intercom.CancelsByPush(ch) {
			return ch
		}
	}
	return ""
}

// missedFor lists the devices a missed call's notification goes to: every
// device the call was for, rung or not (ringing off, outside its
// timetable), but those of an account one of whose devices declined it and
// those of a member not confirmed (a pairing in progress: the call was not
// for it).
func missedFor(c intercom.Call) []intercom.CallDevice {
	declined := map[int64]bool{}
	for _, d := range c.Devices {
		if d.DeclinedAt != nil {
			declined[d.UserID] = true
		}
	}
	var out []intercom.CallDevice
	for _, d := range c.Devices {
		if !declined[d.UserID] && d.Reason != intercom.SkipNotConfirmed {
			out = append(out, d)
		}
	}
	return out
}

// countSeen observes, once a ring is over, each device whose ring push the
// provider accepted, by whether the device was seen acting on the call: a
// phone pushed and never seen did not wake, or its resident never looked.
func (s *Service) countSeen(ctx context.Context, c intercom.Call) {
	if s.ringSeen == nil || !slices.ContainsFunc(c.Devices, pushed) {
		return
	}
	sends, err := s.store.CallSends(ctx, c.ID)
	if err != nil {
		s.log.Error("counting a ring's pushes", "call_id", c.ID, "error", err)
		return
	}
	devices := make(map[int64]intercom.CallDevice, len(c.Devices))
	for _, d := range c.Devices {
		devices[d.DeviceID] = d
	}
	for _, cs := range sends {
		if d, ok := devices[cs.DeviceID]; ok && cs.Type == intercom.PushRing && cs.Outcome == intercom.SendSent {
			s.ringSeen(cs.Channel, d.Client, d.SeenAt != nil)
		}
	}
}

// pushed reports whether the ring was pushed to d (a channel beside ws).
func pushed(d intercom.CallDevice) bool {
	return slices.ContainsFunc(d.Channels, func(ch string) bool { return ch != intercom.ChannelWS })
}

// ringLookEvery is how often, at most, RingOver asks the store about a
// call still ringing as far as this node knows: its pushes are sent many at
// a time, and one look serves them all.
const ringLookEvery = 250 * time.Millisecond

// RingOver reports whether call id's ring ended (answered, missed): a ring
// push not yet sent is then not worth sending — it would reach the phone
// after its cancel. An end seen on this node is known at once; one on
// another node when the store is next asked (at most every ringLookEvery
// per call). A store that does not answer says nothing: the push is sent.
func (s *Service) RingOver(id int64) bool {
	if s.over.has(id) {
		return true
	}
	now := s.clock.Now()
	if !s.over.lookDue(id, now, ringLookEvery) {
		return false
	}
	status, err := s.store.CallStatus(context.Background(), id)
	if err != nil || status == intercom.CallRing {
		return false
	}
	s.over.add(id, now.Add(s.ringTimeout))
	return true
}

// ringsOver is a set of calls whose ring ended, each kept until the ring
// would have timed out: after that no ring push of it is sent anyway.
type ringsOver struct {
	mu     sync.Mutex
	until  map[int64]time.Time
	order  []ringOver          // by insertion, for pruning
	looked map[int64]time.Time // calls still ringing: when the store was last asked
	pruned time.Time           // when looked was last rid of old looks
}

type ringOver struct {
	id    int64
	until time.Time
}

func (r *ringsOver) add(id int64, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.until == nil {
		r.until = map[int64]time.Time{}
	}
	// Forget those whose time passed; ring timeouts are all alike, so the
	// oldest entries go first.
	for len(r.order) > 0 && r.order[0].until.Before(until.Add(-time.Minute)) {
		if r.until[r.order[0].id].Equal(r.order[0].until) {
			delete(r.until, r.order[0].id)
		}
		r.order = r.order[1:]
	}
	r.until[id] = until
	r.order = append(r.order, ringOver{id, until})
}

// lookDue reports whether the store should be asked about call id now, and
// if so notes that it is. Looks older than a minute are forgotten as they
// come, in one pass a minute at most.
func (r *ringsOver) lookDue(id int64, now time.Time, every time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.looked == nil {
		r.looked = map[int64]time.Time{}
	}
	if last, ok := r.looked[id]; ok && now.Sub(last) < every {
		return false
	}
	if now.Sub(r.pruned) > time.Minute {
		r.pruned = now
		for k, at := range r.looked {
			if now.Sub(at) > time.Minute {
				delete(r.looked, k)
			}
		}
	}
	r.looked[id] = now
	return true
}

func (r *ringsOver) has(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.until[id]
	return ok
}
