// Package calls owns the life of a call: a visitor rings, devices ring, one
// answers (or all decline, or nobody does in time, or the visitor leaves),
// the conversation ends; and around it the intercom's heartbeat and its door.
// Transports (the HTTP API, a SIP server, a worker) call one method each.
//
// Every transition is saved through the Store first; what must then happen —
// events to sockets, pushes to phones, POSTs to the intercom, deadlines — is
// returned by a pure function as effects, and apply carries them out. The
// process-local parts sit behind the seams of package intercom (Broadcaster,
// Presence, Scheduler, Limiter), so the same lifecycle runs on one node or
// many.
package calls

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"intercom"
	"intercom/wire"
)

// Pusher hands rings to the push providers (package push).
type Pusher interface {
	// Has reports whether a provider serves channel.
	Has(channel string) bool
	// Send queues one ring to one device; it does not wait for the provider.
	Send(channel string, m intercom.PushMessage)
}

// Store is what the call lifecycle keeps: the calls, and the intercoms
// they come from.
type Store interface {
	intercom.Calls
	intercom.Intercoms
	// DeleteIntercom is intercom.Admin's.
	DeleteIntercom(ctx context.Context, id int64) error
}

// Config is what a Service needs. Zero durations take API.md's defaults.
type Config struct {
	Store       Store
	Broadcaster intercom.Broadcaster
	Presence    intercom.Presence
	Scheduler   intercom.Scheduler
	Doors       intercom.Limiter // door openings per account
	Push        Pusher           // nil: no push channel
	Controller  intercom.Controller
	Clock       intercom.Clock
	Logger      *slog.Logger

	RingTimeout  time.Duration // a call still ringing this long is missed
	OfflineAfter time.Duration // an intercom without a heartbeat this long is offline
	// AnswerConnectTimeout ends an answered call whose voice the SIP server
	// has not reported connected this long after the answer.
	AnswerConnectTimeout time.Duration
	// MaxCallDuration ends a conversation this long after its answer.
	MaxCallDuration time.Duration
	SIP             SIPConfig
	// HeartbeatBatch writes the heartbeats that refresh an online intercom
	// within it in one transaction; zero writes each at once. A heartbeat
	// that brings an intercom online, or that its intercom would otherwise
	// go offline before, is written (and the change announced) at once.
	HeartbeatBatch time.Duration

	// Rang observes each ring by the status its call started in.
	Rang func(status string)
	// RingSeen observes, once each ring is over, every device whose ring
	// push its provider accepted: the push channel, the device's client and
	// whether the device was seen acting on the call.
	RingSeen func(channel, client string, seen bool)
	// StatusChanged observes each intercom that came online (true) or went
	// offline (false): each change once in the cluster.
	StatusChanged func(online bool)
}

// Service runs the call lifecycle.
type Service struct {
	store      Store
	bus        intercom.Broadcaster
	presence   intercom.Presence
	sched      intercom.Scheduler
	ringSched  intercom.RingScheduler // sched, when it keeps its deadlines in store's database
	doors      intercom.Limiter
	push       Pusher
	controller intercom.Controller
	clock      intercom.Clock
	log        *slog.Logger
	sip        SIPConfig
	rang       func(string)

	ringTimeout    time.Duration
	offlineAfter   time.Duration
	connectTimeout time.Duration
	maxDuration    time.Duration
	ringSeen       func(channel, client string, seen bool)
	statusChanged  func(online bool)

	beatBatch time.Duration
	beatMu    sync.Mutex
	beats     map[int64]time.Time // heartbeats waiting for the batch's write
	beatTimer intercom.Timer

	over ringsOver // calls whose ring this node saw end

	bgMu    sync.Mutex
	bgDone  *sync.Cond // signalled when bgN drops to zero
	bgN     int        // effects being carried out off the caller's path
	closing bool
}

// New returns a Service and makes it the Scheduler's handler.
func New(c Config) *Service {
	s := &Service{store: c.Store, bus: c.Broadcaster, presence: c.Presence, sched: c.Scheduler, doors: c.Doors,
		push: c.Push, controller: c.Controller, clock: c.Clock, log: c.Logger, sip: c.SIP, rang: c.Rang,
		ringTimeout: c.RingTimeout, offlineAfter: c.OfflineAfter, beatBatch: c.HeartbeatBatch,
		connectTimeout: c.AnswerConnectTimeout, maxDuration: c.MaxCallDuration, ringSeen: c.RingSeen,
		statusChanged: c.StatusChanged}
	if rs, ok := s.sched.(intercom.RingScheduler); ok && rs.Store() == s.store {
		s.ringSched = rs
	}
	if s.clock == nil {
		s.clock = intercom.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ringTimeout == 0 {
		s.ringTimeout = DefaultRingTimeout
	}
	if s.offlineAfter == 0 {
		s.offlineAfter = DefaultOfflineAfter
	}
	if s.connectTimeout == 0 {
		s.connectTimeout = DefaultAnswerConnectTimeout
	}
	if s.maxDuration == 0 {
		s.maxDuration = DefaultMaxCallDuration
	}
	if s.rang == nil {
		s.rang = func(string) {}
	}
	if s.statusChanged == nil {
		s.statusChanged = func(bool) {}
	}
	s.bgDone = sync.NewCond(&s.bgMu)
	s.sched.Handle(s.fire)
	return s
}

// The defaults of the ring and the heartbeat (API.md §8).
const (
	DefaultRingTimeout  = 30 * time.Second
	DefaultOfflineAfter = 90 * time.Second
)

// The defaults of the conversation's deadlines (API.md §6).
const (
	DefaultAnswerConnectTimeout = 20 * time.Second
	DefaultMaxCallDuration      = 10 * time.Minute
)

// RingTimeout is how long a call rings before it is missed.
func (s *Service) RingTimeout() time.Duration { return s.ringTimeout }

// OfflineAfter is how long an intercom stays online after a heartbeat.
func (s *Service) OfflineAfter() time.Duration { return s.offlineAfter }

// Online reports whether an intercom is online now.
func (s *Service) Online(ic intercom.Intercom) bool { return ic.Online(s.clock.Now(), s.offlineAfter) }

// Device is the device acting on a call: its account, its id and X-UUID.
type Device struct {
	UserID   int64
	DeviceID int64
	UUID     string
}

// Ring is a visitor calling a flat of ic (nil: a private house, every
// member) at a panel that rings the flat's lines itself (POST
// /api/hw/v1/ring): it decides who rings, with the flat's handset and
// landline when the flat has them and chose so, records the call and starts
// the ringing; delivery goes on after it returns.
func (s *Service) Ring(ctx context.Context, ic intercom.Intercom, flat *int64) (intercom.Call, error) {
	now := s.clock.Now()
	cands, fl, err := intercom.ReadRing(ctx, s.store, ic.ID, flat, now)
	if err != nil {
		return intercom.Call{}, err
	}
	return s.ring(ctx, ic, flat, fl.Rings(ic), cands, now)
}

// RingApps is Ring for a ring the SIP server hands over (POST
// /api/sip/v1/ring): the apps alone, for nothing there rings the flat's
// lines or could report their answer.
func (s *Service) RingApps(ctx context.Context, ic intercom.Intercom, flat *int64) (intercom.Call, error) {
	now := s.clock.Now()
	cands, err := s.store.RingCandidates(ctx, ic.ID, flat, now)
	if err != nil {
		return intercom.Call{}, err
	}
	return s.ring(ctx, ic, flat, intercom.CallLines{}, cands, now)
}

// ring decides which of cands, read at now, ring, records the call with
// lines and starts the ringing.
func (s *Service) ring(ctx context.Context, ic intercom.Intercom, flat *int64, lines intercom.CallLines,
	cands []*intercom.RingCandidate, now time.Time) (intercom.Call, error) {
	open := s.openSockets(cands)
	devices := intercom.Decide(cands, now, func(c *intercom.RingCandidate) []string { return s.channels(c, open) })
	for i := range devices {
		// The ring event is handed to a socket of the device: it is awake.
		// (A device rung over ws was found with one by Decide already.)
		if d := &devices[i]; d.Rung() && (hasChannel(*d, intercom.ChannelWS) || open(d.Tokens)) {
			d.SeenAt, d.SeenBy = &now, intercom.SeenSocket
		}
	}
	c, deadlineSet, err := s.createCall(ctx, intercom.NewCall(ic.ID, flat, devices, lines, now))
	if err != nil {
		return intercom.Call{}, err
	}
	s.rang(c.Status)
	rungN := 0
	for _, d := range c.Devices {
		if d.Rung() {
			rungN++
		}
	}
	s.log.Info("ring", "call_id", c.ID, "intercom_id", ic.ID, "flat", flatAttr(flat), "status", c.Status,
		"rung", rungN, "skipped", len(c.Devices)-rungN, "analog", c.Lines.Analog, "landline", c.Lines.Landline != "")
	e := rung(c, cands, s.ringTimeout, s.pushToken)
	if deadlineSet {
		e.schedule = nil // written with the call
	}
	s.apply(ctx, c, ic, e)
	return c, nil
}

// createCall records a new call. A scheduler that keeps its deadlines in
// the store's database writes the call's ring deadline, if it rings, with
// it in one transaction (deadlineSet); otherwise the ring's effects set it.
func (s *Service) createCall(ctx context.Context, c intercom.Call) (_ intercom.Call, deadlineSet bool, _ error) {
	if s.ringSched == nil {
		c, err := s.store.CreateCall(ctx, c)
		return c, false, err
	}
	c, err := s.ringSched.CreateCall(ctx, c, ringDeadline(c, s.ringTimeout).At)
	return c, true, err
}

// flatAttr is a ring's flat for the log: its number, or "house".
func flatAttr(flat *int64) any {
	if flat == nil {
		return "house"
	}
	return *flat
}

// socketOpen reports whether a socket subscribed to one of the token
// channels is open, on any node.
func (s *Service) socketOpen(tokens []string) bool {
	for _, t := range tokens {
		if s.presence.Subscribed(wire.TokenChannel(t)) {
			return true
		}
	}
	return false
}

// openSockets is socketOpen for the tokens of cands. A presence that answers
// for many channels at once (the NATS bus: one round trip for them all, not
// one a token) is asked for all of them before the ring is decided.
func (s *Service) openSockets(cands []*intercom.RingCandidate) func(tokens []string) bool {
	many, ok := s.presence.(intercom.PresenceMany)
	if !ok {
		return s.socketOpen
	}
	var channels []string
	for _, c := range cands {
		for _, t := range c.Tokens {
			channels = append(channels, wire.TokenChannel(t))
		}
	}
	subscribed := many.SubscribedMany(channels)
	open := make(map[string]bool, len(channels))
	for i, ch := range channels {
		open[ch] = subscribed[i]
	}
	return func(tokens []string) bool {
		for _, t := range tokens {
			ch := wire.TokenChannel(t)
			if on, asked := open[ch]; on || (!asked && s.presence.Subscribed(ch)) {
				return true
			}
		}
		return false
	}
}

// channels says how a device is rung right now (intercom.RingChannels): its
// open Pusher socket, on any node (open says), when its client rings over
// one, and the push provider of its platform when it registered a token and
// that provider is configured.
func (s *Service) channels(c *intercom.RingCandidate, open func(tokens []string) bool) []string {
	socketOpen := intercom.RingsOverSocket(c.Client) && open(c.Tokens)
	_, push := s.pushToken(c)
	return intercom.RingChannels(c.Client, socketOpen, push)
}

// pushToken is the token and channel a device is pushed to: the first of its
// platform's push channels (intercom.PushChannels) for which it registered a
// token and whose provider is configured.
func (s *Service) pushToken(c *intercom.RingCandidate) (string, string) {
	if s.push == nil {
		return "", ""
	}
	for _, ch := range intercom.PushChannels(c.Client) {
		if token := c.PushToken(ch); token != "" && s.push.Has(ch) {
			return token, ch
		}
	}
	return "", ""
}

// Answer is a device taking a call: the first rung device wins, the others
// stop ringing. It returns what the app needs to join the conversation.
func (s *Service) Answer(ctx context.Context, who Device, callID int64) (intercom.Call, SIPAnswer, error) {
	var before []intercom.CallDevice
	now := s.clock.Now()
	c, err := s.update(ctx, who, callID, func(c *intercom.Call) error {
		before = c.Ringing()
		return c.Answer(who.DeviceID, now)
	})
	if err != nil {
		return c, SIPAnswer{}, err
	}
	// TURN allocations may refresh as long as the conversation may last.
	answer, err := s.sip.Answer(c, who, now, now.Add(s.connectTimeout+s.maxDuration))
	if err != nil {
		return c, SIPAnswer{}, err
	}
	s.log.Info("call answered", "call_id", c.ID, "user_id", who.UserID, "device", who.UUID)
	s.applyLoaded(ctx, c, answered(c, before, who, answer.Number, s.connectTimeout, s.maxDuration))
	return c, answer, nil
}

// Decline is a device refusing a call; the others ring on. exceptSocket is
// the socket that asked, if any (it knows).
func (s *Service) Decline(ctx context.Context, who Device, callID int64, exceptSocket string) error {
	now := s.clock.Now()
	c, err := s.update(ctx, who, callID, func(c *intercom.Call) error { return c.Decline(who.DeviceID, now) })
	if err != nil {
		return err
	}
	s.log.Info("call declined", "call_id", c.ID, "user_id", who.UserID, "device", who.UUID, "status", c.Status)
	s.applyLoaded(ctx, c, declined(c, who, exceptSocket))
	return nil
}

// HangUp is the answering device ending the conversation.
func (s *Service) HangUp(ctx context.Context, who Device, callID int64) error {
	now := s.clock.Now()
	c, err := s.update(ctx, who, callID, func(c *intercom.Call) error { return c.HangUp(who.DeviceID, now) })
	if err != nil {
		return err
	}
	s.log.Info("call hung up", "call_id", c.ID, "user_id", who.UserID, "device", who.UUID)
	s.applyLoaded(ctx, c, ended(c))
	return nil
}

// update runs a device's transition on a call its account may act on; a call
// of another account is not found.
func (s *Service) update(ctx context.Context, who Device, callID int64, fn func(*intercom.Call) error) (intercom.Call, error) {
	return s.store.UpdateCall(ctx, callID, func(c *intercom.Call) error {
		if !c.Concerns(who.UserID) {
			return intercom.ErrNotFound
		}
		return fn(c)
	})
}

// AnsweredOn is the flat's handset or landline (line) taking a ringing call
// of intercom ic, as its panel reports: the devices still ringing stop,
// told which answered, and the conversation may last as long as any.
func (s *Service) AnsweredOn(ctx context.Context, ic intercom.Intercom, callID int64, line string) (intercom.Call, error) {
	var before []intercom.CallDevice
	changed := false
	now := s.clock.Now()
	c, err := s.store.UpdateCall(ctx, callID, func(c *intercom.Call) error {
		if c.IntercomID != ic.ID {
			return intercom.ErrNotFound
		}
		before = c.Ringing()
		var err error
		changed, err = c.AnswerOn(line, now)
		return err
	})
	if err != nil || !changed {
		return c, err
	}
	s.log.Info("call answered on the flat's line", "call_id", c.ID, "intercom_id", ic.ID, "line", line)
	s.apply(ctx, c, ic, answeredOn(c, before, s.maxDuration))
	return c, nil
}

// VisitorLeft is the visitor hanging up at intercom ic: a ringing call is
// missed, a conversation ends.
func (s *Service) VisitorLeft(ctx context.Context, ic intercom.Intercom, callID int64) (intercom.Call, error) {
	var notify []intercom.CallDevice
	was := ""
	now := s.clock.Now()
	c, err := s.store.UpdateCall(ctx, callID, func(c *intercom.Call) error {
		if c.IntercomID != ic.ID {
			return intercom.ErrNotFound
		}
		was, notify = c.Status, c.StillIn()
		return c.VisitorLeft(now)
	})
	if err != nil {
		return c, err
	}
	s.log.Info("visitor left", "call_id", c.ID, "intercom_id", ic.ID, "status", c.Status)
	s.apply(ctx, c, ic, left(c, was, notify))
	return c, nil
}

// Seen records that a device read a call still ringing (GET /calls/{id},
// what a phone woken by a push does first): the evidence that it woke.
func (s *Service) Seen(ctx context.Context, who Device, c intercom.Call) {
	if c.Status != intercom.CallRing {
		return
	}
	if _, err := s.store.SeeCall(context.WithoutCancel(ctx), c.ID, who.DeviceID, intercom.SeenFetch, s.clock.Now()); err != nil {
		s.log.Error("recording that a device read a call", "call_id", c.ID, "device_id", who.DeviceID, "error", err)
	}
}

// NotConnected ends an answered call whose voice has not connected: what a
// connect deadline fires. A call connected or over meanwhile is left alone.
func (s *Service) NotConnected(ctx context.Context, callID int64) {
	now := s.clock.Now()
	s.endBy(ctx, intercom.DeadlineConnect, callID, func(c *intercom.Call) error { return c.NotConnected(now) },
		intercom.CancelTimeout)
}

// EndLong ends a call that reached the longest a call may last: what its
// end deadline fires.
func (s *Service) EndLong(ctx context.Context, callID int64) {
	now := s.clock.Now()
	s.endBy(ctx, intercom.DeadlineEnd, callID, func(c *intercom.Call) error { return c.End(intercom.EndMaxDuration, now) },
		intercom.CancelTimeout)
}

// endBy runs a deadline's transition end on a live call and carries out
// its effects, telling the devices still in it why (reason); a deadline
// whose transition no longer applies does nothing, one whose store failed
// fires again.
func (s *Service) endBy(ctx context.Context, kind string, callID int64, end func(*intercom.Call) error, reason string) {
	c, e, err := s.end(ctx, callID, end, reason)
	if intercom.ErrorCode(err) == intercom.ENOTFOUND {
		return
	} else if err != nil {
		s.log.Error("a call's deadline; trying again", "kind", kind, "call_id", callID, "error", err)
		s.retry(ctx, kind, callID)
		return
	}
	s.log.Info("call ended by its deadline", "call_id", c.ID, "reason", c.EndReason)
	e.cancelAt = slices.DeleteFunc(e.cancelAt, func(d intercom.Deadline) bool { return d.Kind == kind }) // it fired
	s.applyLoaded(ctx, c, e)
}

// end saves transition fn, which ends a live call otherwise than by one of
// its devices, and returns the call with the effects of its end (over):
// the devices still in it are told so with reason.
func (s *Service) end(ctx context.Context, callID int64, fn func(*intercom.Call) error, reason string) (intercom.Call, effects, error) {
	var notify []intercom.CallDevice
	was := ""
	c, err := s.store.UpdateCall(ctx, callID, func(c *intercom.Call) error {
		was, notify = c.Status, c.StillIn()
		return fn(c)
	})
	if err != nil {
		return c, effects{}, err
	}
	return c, over(c, was, notify, reason), nil
}

// TimeOut makes a call still ringing missed. It is what a ring deadline
// fires; a call answered, declined or ended meanwhile is left alone.
func (s *Service) TimeOut(ctx context.Context, callID int64) {
	var ringing []intercom.CallDevice
	now := s.clock.Now()
	c, err := s.store.UpdateCall(ctx, callID, func(c *intercom.Call) error {
		ringing = c.Ringing()
		return c.TimeOut(now)
	})
	if intercom.ErrorCode(err) == intercom.ENOTFOUND {
		return
	} else if err != nil {
		s.log.Error("ring timeout; trying again", "call_id", callID, "error", err)
		s.retry(ctx, intercom.DeadlineRing, callID)
		return
	}
	s.log.Info("call missed: nobody answered in time", "call_id", c.ID, "ringing", len(ringing))
	s.applyLoaded(ctx, c, timedOut(c, ringing))
}

// deadlineRetry is how soon a deadline whose handler failed fires again.
const deadlineRetry = 5 * time.Second

// retry sets the deadline of kind and id again, deadlineRetry from now: the
// scheduler forgets a deadline once its handler returns, and a handler that
// failed (the database unreachable for a moment) must fire again.
func (s *Service) retry(ctx context.Context, kind string, id int64) {
	d := intercom.Deadline{Kind: kind, ID: id, At: s.clock.Now().Add(deadlineRetry)}
	if err := s.sched.Schedule(context.WithoutCancel(ctx), d); err != nil {
		s.log.Error("setting a deadline again", "kind", kind, "id", id, "error", err)
	}
}

// fire is where deadlines arrive.
func (s *Service) fire(ctx context.Context, d intercom.Deadline) {
	switch d.Kind {
	case intercom.DeadlineRing:
		s.TimeOut(ctx, d.ID)
	case intercom.DeadlineOffline:
		s.SweepOffline(ctx)
	case intercom.DeadlineConnect:
		s.NotConnected(ctx, d.ID)
	case intercom.DeadlineEnd:
		s.EndLong(ctx, d.ID)
	case intercom.DeadlineResume:
		if err := s.Resume(ctx); err != nil {
			s.log.Error("setting the deadlines of live calls again; trying again", "error", err)
			s.retry(ctx, intercom.DeadlineResume, 0)
		}
	default:
		s.log.Error("unknown deadline", "kind", d.Kind, "id", d.ID)
	}
}

// resumeEvery is how often Resume runs again: a node lost between saving a
// transition and setting its deadline (killed in that instant) leaves a call
// without them at most this long.
const resumeEvery = 5 * time.Minute

// Resume sets the deadlines of what the database says is pending: the ring
// timeouts of calls still ringing, the connect and end deadlines of calls in
// conversation, and the sweep of intercoms online now; and sets itself
// again resumeEvery later, on whichever node. Call it once on start. (A
// deadline set already is replaced by the same one; one that fires again
// finds its transition done and does nothing.)
func (s *Service) Resume(ctx context.Context) error {
	ringing, err := s.store.RingingCalls(ctx)
	if err != nil {
		return err
	}
	for id, created := range ringing {
		if err := s.sched.Schedule(ctx, intercom.Deadline{Kind: intercom.DeadlineRing, ID: id, At: created.Add(s.ringTimeout)}); err != nil {
			return err
		}
	}
	talking, err := s.store.AnsweredCalls(ctx)
	if err != nil {
		return err
	}
	for _, a := range talking {
		for _, d := range conversationDeadlines(a.ID, a.StartedAt, a.ConnectedAt, s.connectTimeout, s.maxDuration) {
			if err := s.sched.Schedule(ctx, d); err != nil {
				return err
			}
		}
	}
	if err := s.sched.Schedule(ctx, intercom.Deadline{Kind: intercom.DeadlineResume, At: s.clock.Now().Add(resumeEvery)}); err != nil {
		return err
	}
	return s.scheduleSweep(ctx)
}

// Heartbeat is intercom ic, as the store held it when its request came,
// saying it is alive. A heartbeat that brings it online is written, and
// announced cluster-wide, before Heartbeat returns; an error then leaves the
// panel to try again. With a HeartbeatBatch, the refreshes of an intercom
// online now are written with the others of their batch, after it returns.
//
// ic may be a moment stale, but its last heartbeat only ever moves later in
// the store: a stale ic looks offline sooner, never longer online, and costs
// at most one write too many (the store announces each change once). A
// refresh is written at once, too, when ic would go offline before the batch
// is written: the sweep, which knows nothing of the batch, would take it
// offline in between.
func (s *Service) Heartbeat(ctx context.Context, ic intercom.Intercom) error {
	now := s.clock.Now()
	if s.beatBatch == 0 || !ic.Online(now.Add(s.beatBatch), s.offlineAfter) {
		if err := s.recordBeats(ctx, map[int64]time.Time{ic.ID: now}); err != nil {
			return err
		}
		s.beatMu.Lock()
		defer s.beatMu.Unlock()
		if at, ok := s.beats[ic.ID]; ok && !at.After(now) {
			delete(s.beats, ic.ID) // written already
		}
		return nil
	}
	s.beatMu.Lock()
	defer s.beatMu.Unlock()
	if s.beats == nil {
		s.beats = map[int64]time.Time{}
	}
	s.beats[ic.ID] = now
	if s.beatTimer == nil {
		s.beatTimer = s.clock.AfterFunc(s.beatBatch, s.flushBeats)
	}
	return nil
}

// flushBeats writes the batch of heartbeats; a batch that fails goes back to
// be written with the next.
func (s *Service) flushBeats() {
	s.beatMu.Lock()
	beats := s.beats
	s.beats, s.beatTimer = nil, nil
	s.beatMu.Unlock()
	if len(beats) == 0 {
		return
	}
	err := s.recordBeats(context.Background(), beats)
	if err == nil {
		return
	}
	s.log.Error("recording heartbeats", "intercoms", len(beats), "error", err)
	s.beatMu.Lock()
	defer s.beatMu.Unlock()
	if s.beats == nil {
		s.beats = map[int64]time.Time{}
	}
	for id, at := range beats {
		if at.After(s.beats[id]) {
			s.beats[id] = at
		}
	}
	if s.beatTimer == nil {
		s.beatTimer = s.clock.AfterFunc(s.beatBatch, s.flushBeats)
	}
}

// recordBeats writes heartbeats and announces the intercoms that came
// online.
func (s *Service) recordBeats(ctx context.Context, beats map[int64]time.Time) error {
	came, err := s.store.RecordHeartbeats(ctx, beats)
	if err != nil {
		return err
	}
	for _, id := range came {
		s.statusChanged(true)
		s.sendStatus(ctx, id, true)
	}
	if len(came) > 0 {
		return s.scheduleSweep(ctx)
	}
	return nil
}

// scheduleSweep sets the offline sweep for when the intercom online longest
// without a heartbeat goes offline. That instant only moves later as
// heartbeats come, so a sweep set from an older look is early, never late.
func (s *Service) scheduleSweep(ctx context.Context) error {
	oldest, err := s.store.OldestOnline(ctx)
	if err != nil || oldest == nil {
		return err
	}
	return s.sched.Schedule(ctx, intercom.Deadline{Kind: intercom.DeadlineOffline, At: oldest.Add(s.offlineAfter)})
}

// SweepOffline announces the intercoms whose heartbeats stopped for
// offlineAfter as offline (each once in the cluster) and sets the next
// sweep.
func (s *Service) SweepOffline(ctx context.Context) {
	gone, err := s.store.SweepOffline(ctx, s.clock.Now().Add(-s.offlineAfter))
	if err != nil {
		// Not from the oldest heartbeat: that sweep is due already, and would
		// fire again at once for as long as the store fails.
		s.log.Error("offline sweep; trying again", "error", err)
		s.retry(ctx, intercom.DeadlineOffline, 0)
		return
	}
	for _, id := range gone {
		s.statusChanged(false)
		s.sendStatus(ctx, id, false)
	}
	if err := s.scheduleSweep(ctx); err != nil {
		s.log.Error("offline sweep: setting the next; trying again", "error", err)
		s.retry(ctx, intercom.DeadlineOffline, 0)
	}
}

// sendStatus tells every member account that an intercom went on or offline.
// Who listens is asked for all the members at once when the presence can
// answer so (on NATS, one round trip, not one a member).
func (s *Service) sendStatus(ctx context.Context, id int64, online bool) {
	users, err := s.store.IntercomMembers(ctx, id)
	if err != nil {
		s.log.Error("intercom.status", "intercom_id", id, "error", err)
		return
	}
	many, ok := s.presence.(intercom.PresenceMany)
	if !ok {
		for _, u := range users {
			s.ToAccount(u, "intercom.status", func() map[string]any { return map[string]any{"intercom_id": id, "is_online": online} }, "")
		}
		return
	}
	channels := make([]string, len(users))
	for i, u := range users {
		channels[i] = wire.UserChannel(u)
	}
	for i, on := range many.SubscribedMany(channels) {
		if on { // each its own notification (its own id), as ToAccount makes
			s.bus.Publish(channels[i], wire.EventName, wire.Notification("intercom.status", map[string]any{"intercom_id": id, "is_online": online}), "")
		}
	}
}

// Door openings allowed per account per minute.
const DoorOpensPerMinute = 10

// Errors of OpenDoor beyond the store's.
var (
	ErrIntercomTimeout = &intercom.Error{Code: intercom.ETIMEOUT, Message: "The intercom did not answer in time."}
	ErrIntercomRefused = &intercom.Error{Code: intercom.EBADGATEWAY, Message: "The intercom did not open the door."}
)

// OpenDoor sends the door command to the intercom of v, the device's
// account's view of it, and returns once the intercom acknowledged it:
// ETOOMANY past the account's limit, EINVALID when the intercom is offline or
// cannot open from the app, ETIMEOUT or EBADGATEWAY when it did not open.
func (s *Service) OpenDoor(ctx context.Context, who Device, v intercom.IntercomView) error {
	if v.Membership.Status != intercom.StatusConfirmed {
		return intercom.ErrNotFound
	}
	if _, wait, ok, err := s.doors.Attempt(ctx, DoorKey(who.UserID)); err != nil {
		return err
	} else if !ok {
		return &intercom.Error{Code: intercom.ETOOMANY, RetryAfter: wait,
			Message: "Too many door openings. Please try again in " + intercom.SecondsText(wait) + "."}
	}
	switch {
	case !s.Online(v.Intercom):
		return intercom.Invalid("intercom", "The intercom is offline.")
	case s.controller == nil || v.Intercom.ControlURL == nil:
		return intercom.Invalid("intercom", "The intercom cannot open its door from the app.")
	}
	res := s.controller.Send(ctx, v.Intercom, intercom.ControlDoorOpen, map[string]any{
		"duration": v.Intercom.DoorOpenSeconds, "user_id": who.UserID, "device": who.UUID,
	})
	userID := who.UserID
	if err := s.store.RecordControl(context.WithoutCancel(ctx), intercom.ControlEntry{IntercomID: v.Intercom.ID,
		Event: intercom.ControlDoorOpen, UserID: &userID, Device: who.UUID, At: s.clock.Now(), Result: res}); err != nil {
		s.log.Error("recording a door opening", "intercom_id", v.Intercom.ID, "error", err)
	}
	attrs := []any{"intercom_id", v.Intercom.ID, "user_id", who.UserID, "device", who.UUID}
	switch {
	case res.OK:
		s.log.Info("door opened", attrs...)
		return nil
	case res.TimedOut:
		s.log.Warn("door not opened: the intercom did not answer in time", attrs...)
		return ErrIntercomTimeout
	}
	s.log.Warn("door not opened: the intercom refused", append(attrs, "status", res.Status, "error", res.Error)...)
	return ErrIntercomRefused
}

// DoorKey is the door limiter's key of an account.
func DoorKey(userID int64) string { return "door:" + itoa(userID) }

// ToAccount publishes a notification to every socket of an account, on any
// node, but exceptSocket (the one that made the request, if any). Nothing is
// encoded for an account nobody listens to.
func (s *Service) ToAccount(userID int64, typ string, fields func() map[string]any, exceptSocket string) {
	ch := wire.UserChannel(userID)
	if s.presence.Subscribed(ch) {
		s.bus.Publish(ch, wire.EventName, wire.Notification(typ, fields()), exceptSocket)
	}
}

// ForgetCalls removes those of ids that are in the account's history from
// it (other accounts keep theirs); its sockets but exceptSocket hear of those
// (intercom.call.delete).
func (s *Service) ForgetCalls(ctx context.Context, userID int64, ids []int64, exceptSocket string) error {
	gone, err := s.store.ForgetCalls(ctx, userID, ids)
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		s.ToAccount(userID, "intercom.call.delete", func() map[string]any { return map[string]any{"deleted_ids": gone} }, exceptSocket)
	}
	return nil
}

// spawn runs fn off the caller's path unless the service is closing.
func (s *Service) spawn(fn func()) {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closing {
		return
	}
	s.bgN++
	go func() {
		defer func() {
			s.bgMu.Lock()
			if s.bgN--; s.bgN == 0 {
				s.bgDone.Broadcast()
			}
			s.bgMu.Unlock()
		}()
		fn()
	}()
}

// Wait blocks until the effects under way, and those they started, are
// carried out. Unlike a WaitGroup's, it may run while a deadline fires and
// starts more.
func (s *Service) Wait() {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	for s.bgN > 0 {
		s.bgDone.Wait()
	}
}

// Close writes the heartbeats of the batch under way, stops the deadlines
// and waits for the effects under way; nothing new starts.
func (s *Service) Close() {
	s.beatMu.Lock()
	if s.beatTimer != nil {
		s.beatTimer.Stop()
	}
	s.beatMu.Unlock()
	s.flushBeats()
	// The deadlines first: one firing now has saved its transition or is
	// about to, and its effects must still start.
	s.sched.Close()
	s.bgMu.Lock()
	s.closing = true
	s.bgMu.Unlock()
	s.Wait()
}

func hasChannel(d intercom.CallDevice, ch string) bool { return slices.Contains(d.Channels, ch) }

// RemoveIntercom deletes an intercom with everything that is its
// (Store.DeleteIntercom), its live calls first ended as if the visitor left:
// the devices still ringing or talking are told (intercom_cancel, hangup)
// instead of ringing on for a call that is gone. ENOTFOUND.
func (s *Service) RemoveIntercom(ctx context.Context, id int64) error {
	ic, err := s.store.IntercomByID(ctx, id)
	if err != nil {
		return err
	}
	ringing, err := s.store.RingingCalls(ctx)
	if err != nil {
		return err
	}
	answered, err := s.store.AnsweredCalls(ctx)
	if err != nil {
		return err
	}
	live := make([]int64, 0, len(ringing)+len(answered))
	for callID := range ringing {
		live = append(live, callID)
	}
	for _, a := range answered {
		live = append(live, a.ID)
	}
	ended := 0
	for _, callID := range live {
		c, err := s.store.Call(ctx, callID)
		if err != nil || c.IntercomID != id {
			continue // ended and forgotten since, or another intercom's
		}
		// A call that ended meanwhile is left as it is: it goes with the
		// intercom all the same.
		switch _, err := s.VisitorLeft(ctx, ic, callID); intercom.ErrorCode(err) {
		case "":
			ended++
		case intercom.EUNAVAILABLE, intercom.EINTERNAL:
			return err
		}
	}
	if err := s.store.DeleteIntercom(ctx, id); err != nil {
		return err
	}
	s.log.Info("intercom deleted", "intercom_id", id, "live_calls_ended", ended)
	return nil
}
