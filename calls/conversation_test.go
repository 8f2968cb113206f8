package calls_test

import (
	"strings"
	"testing"
	"time"

	"intercom"
	"intercom/calls"
	"intercom/local"
)

// answeredCall rings the first intercom of w and answers it from a web
// device of alice: a call in conversation whose voice has not connected.
func answeredCall(t *testing.T, w *world) intercom.Call {
	t.Helper()
	ctx := t.Context()
	who := webDevice(t, w)
	c, err := w.svc.Ring(ctx, w.ics[0], nil)
	if err != nil || c.Status != intercom.CallRing {
		t.Fatalf("ring: %v, %v", c.Status, err)
	}
	c, _, err = w.svc.Answer(ctx, who, c.ID)
	if err != nil || c.Status != intercom.CallAnswered {
		t.Fatalf("answer: %v, %v", c.Status, err)
	}
	w.svc.Wait()
	w.bus.take()
	return c
}

// webDevice signs alice in on a web device (token "pub"): rung over its
// socket, as the test bus says every channel is listened to.
func webDevice(t *testing.T, w *world) calls.Device {
	t.Helper()
	ctx := t.Context()
	u, err := w.store.UserByLogin(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.store.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pub", Hash: []byte("h"), UserID: u.ID,
		DeviceUUID: "phone", Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return calls.Device{UserID: u.ID, DeviceID: tok.DeviceID, UUID: "phone"}
}

func (w *world) call(t *testing.T, id int64) intercom.Call {
	t.Helper()
	c, err := w.store.Call(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An answered call whose voice never connects ends at the connect deadline,
// with the reason; its answering device is told.
func TestAnswerNeverConnected(t *testing.T) {
	w := newWorld(t, 0)
	c := answeredCall(t, w)
	w.clock.Advance(calls.DefaultAnswerConnectTimeout - time.Millisecond)
	if got := w.call(t, c.ID); got.Status != intercom.CallAnswered {
		t.Fatalf("just before the connect deadline: %s", got.Status)
	}
	w.clock.Advance(time.Millisecond)
	w.svc.Wait()
	got := w.call(t, c.ID)
	if got.Status != intercom.CallEnded || got.EndReason != intercom.EndNotConnected || !got.EndedAt.Equal(c.StartedAt.Add(calls.DefaultAnswerConnectTimeout)) {
		t.Fatalf("after the connect deadline: %s, %q at %v", got.Status, got.EndReason, got.EndedAt)
	}
	if ev := cancels(w.bus.take()); len(ev) != 1 || ev[0] != "private-token.pub intercom_cancel timeout" {
		t.Errorf("cancels: %q", ev)
	}
	// Nothing more fires: the longest-duration deadline went with it.
	w.clock.Advance(calls.DefaultMaxCallDuration)
	w.svc.Wait()
	if ev := cancels(w.bus.take()); len(ev) != 0 {
		t.Errorf("after the end, more cancels: %q", ev)
	}
}

// A connected call outlives the connect deadline and ends at the longest
// duration. The SIP server's connect reported twice is one connect; a late
// one (the call over) and one for an unknown number are not found.
func TestConnectedCallEndsAtItsLongest(t *testing.T) {
	w := newWorld(t, 0)
	c := answeredCall(t, w)
	ctx := t.Context()
	w.clock.Advance(3 * time.Second)
	connected, err := w.svc.SIPConnected(ctx, c.Number)
	if err != nil || connected.ConnectedAt == nil || !connected.ConnectedAt.Equal(w.clock.Now()) {
		t.Fatalf("SIPConnected: %v, %v", connected.ConnectedAt, err)
	}
	w.clock.Advance(time.Second)
	again, err := w.svc.SIPConnected(ctx, c.Number)
	if err != nil || !again.ConnectedAt.Equal(*connected.ConnectedAt) {
		t.Fatalf("the connect reported again: %v, %v (first %v)", again.ConnectedAt, err, connected.ConnectedAt)
	}
	if _, err := w.svc.SIPConnected(ctx, "2999999999"); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Errorf("an unknown number: %v", err)
	}
	w.clock.Advance(calls.DefaultAnswerConnectTimeout)
	w.svc.Wait()
	if got := w.call(t, c.ID); got.Status != intercom.CallAnswered {
		t.Fatalf("a connected call past the connect deadline: %s (%q)", got.Status, got.EndReason)
	}
	w.clock.Advance(c.StartedAt.Add(calls.DefaultMaxCallDuration).Sub(w.clock.Now()))
	w.svc.Wait()
	got := w.call(t, c.ID)
	if got.Status != intercom.CallEnded || got.EndReason != intercom.EndMaxDuration {
		t.Fatalf("at the longest duration: %s, %q", got.Status, got.EndReason)
	}
	if _, err := w.svc.SIPConnected(ctx, c.Number); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Errorf("a connect reported after the end: %v", err)
	}
}

// The conversation's deadlines survive a restart: a new service on the same
// store, resumed, ends the call at the same instant.
func TestConversationDeadlinesSurviveARestart(t *testing.T) {
	w := newWorld(t, 0)
	c := answeredCall(t, w)
	svc, sched := restart(t, w)
	if got := sched.Pending(); got != 3 {
		t.Errorf("pending deadlines after resuming: %d, want the connect, the end and the next resume", got)
	}
	w.clock.Advance(calls.DefaultAnswerConnectTimeout)
	svc.Wait()
	if got := w.call(t, c.ID); got.Status != intercom.CallEnded || got.EndReason != intercom.EndNotConnected {
		t.Fatalf("after the restart and the connect deadline: %s, %q", got.Status, got.EndReason)
	}
}

// A ring the SIP server could not take ends at once, missed, and its
// devices stop ringing; a second report finds it over.
func TestHandoverFailed(t *testing.T) {
	w := newWorld(t, 0)
	ctx := t.Context()
	webDevice(t, w)
	c, err := w.svc.Ring(ctx, w.ics[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	w.svc.Wait()
	w.bus.take()
	got, err := w.svc.HandoverFailed(ctx, c.ID)
	if err != nil || got.Status != intercom.CallMissed || got.EndReason != intercom.EndHandoverFailed {
		t.Fatalf("HandoverFailed: %s, %q, %v", got.Status, got.EndReason, err)
	}
	w.svc.Wait()
	if ev := cancels(w.bus.take()); len(ev) != 1 || ev[0] != "private-token.pub intercom_cancel hangup" {
		t.Errorf("cancels: %q", ev)
	}
	if _, err := w.svc.HandoverFailed(ctx, c.ID); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Errorf("twice: %v", err)
	}
	// The seen mark of the socket it rang on is kept.
	if d := w.call(t, c.ID).Devices[0]; d.SeenBy != intercom.SeenSocket {
		t.Errorf("seen by %q, want socket", d.SeenBy)
	}
}

// cancels are the intercom_cancel events among ev.
func cancels(ev []string) []string {
	var out []string
	for _, e := range ev {
		if strings.Contains(e, " intercom_cancel ") {
			out = append(out, e)
		}
	}
	return out
}

// The node that saw a ring end knows it, so that its ring pushes still
// queued are not sent; a ring still on is not over.
func TestRingOver(t *testing.T) {
	w := newWorld(t, 0)
	ctx := t.Context()
	webDevice(t, w)
	c, err := w.svc.Ring(ctx, w.ics[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.svc.RingOver(c.ID) {
		t.Fatal("a ringing call's ring is over")
	}
	if _, err := w.svc.VisitorLeft(ctx, w.ics[0], c.ID); err != nil {
		t.Fatal(err)
	}
	if !w.svc.RingOver(c.ID) {
		t.Fatal("the visitor left, and the ring is not over")
	}
}

// A ring ended on another node (its transition saved by that node, not this
// one) is over here too once the store is asked, which happens at most every
// 250 ms per call, however many of its pushes ask.
func TestRingOverOnAnotherNode(t *testing.T) {
	w := newWorld(t, 0)
	ctx := t.Context()
	webDevice(t, w)
	c, err := w.svc.Ring(ctx, w.ics[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 { // a ring's pushes asking
		if w.svc.RingOver(c.ID) {
			t.Fatal("a ringing call's ring is over")
		}
	}
	if n := w.store.looks.Load(); n != 1 {
		t.Fatalf("%d looks at the store for 100 asks at one instant, want 1", n)
	}
	// Another node: the visitor left there.
	if _, err := w.store.Store.UpdateCall(ctx, c.ID, func(c *intercom.Call) error { return c.VisitorLeft(w.clock.Now()) }); err != nil {
		t.Fatal(err)
	}
	if w.svc.RingOver(c.ID) {
		t.Fatal("asked the store again within 250 ms")
	}
	w.clock.Advance(250 * time.Millisecond)
	if !w.svc.RingOver(c.ID) {
		t.Fatal("the ring ended on another node is not over here")
	}
	looks := w.store.looks.Load()
	w.clock.Advance(time.Second)
	if !w.svc.RingOver(c.ID) || w.store.looks.Load() != looks {
		t.Error("a ring known over is asked about again")
	}
}

// A node lost between saving an answer and setting its deadlines leaves the
// call without them; the next periodic Resume, on any node, sets them again
// and the overdue one fires.
func TestLostDeadlinesAreSetAgain(t *testing.T) {
	w := newWorld(t, 0)
	c := answeredCall(t, w)
	svc, sched := restart(t, w)
	// As if the answer's deadlines had never been set.
	for _, kind := range []string{intercom.DeadlineConnect, intercom.DeadlineEnd} {
		if err := sched.Cancel(t.Context(), kind, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	w.clock.Advance(time.Minute)
	svc.Wait()
	if got := w.call(t, c.ID); got.Status != intercom.CallAnswered {
		t.Fatalf("without its deadlines the call is %s", got.Status)
	}
	w.clock.Advance(5*time.Minute - time.Minute)
	svc.Wait()
	if got := w.call(t, c.ID); got.Status != intercom.CallEnded || got.EndReason != intercom.EndNotConnected {
		t.Fatalf("after the periodic resume: %s, %q", got.Status, got.EndReason)
	}
}

// restart stops w's service, as a node that stops, and starts and resumes
// another on the same store and clock, with a scheduler of its own.
func restart(t *testing.T, w *world) (*calls.Service, *local.Scheduler) {
	t.Helper()
	w.svc.Close() // the node stops; its timers die with it
	sched := local.NewScheduler(w.clock)
	svc := calls.New(calls.Config{Store: w.store, Broadcaster: w.bus, Presence: w.bus, Scheduler: sched,
		Doors: local.NewLimiter(10, time.Minute, w.clock.Now), Clock: w.clock, OfflineAfter: 90 * time.Second})
	t.Cleanup(svc.Close)
	if err := svc.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	return svc, sched
}
