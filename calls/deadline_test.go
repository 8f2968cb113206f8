package calls_test

import (
	"slices"
	"testing"
	"time"

	"intercom"
)

// A deadline whose handler fails (the database unreachable for a moment) is
// not lost: it fires again, and the call is missed, the intercom offline.
func TestFailedDeadlinesFireAgain(t *testing.T) {
	w := newWorld(t, 0)
	ctx := t.Context()
	u, err := w.store.UserByLogin(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pub", Hash: []byte("h"), UserID: u.ID,
		DeviceUUID: "phone", Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w.beat(t, w.ics[0])
	c, err := w.svc.Ring(ctx, w.ics[0], nil)
	if err != nil || c.Status != intercom.CallRing {
		t.Fatalf("ring: %v, %v", c.Status, err)
	}
	w.bus.take()

	w.store.down.Store(true)
	w.clock.Advance(w.svc.RingTimeout()) // the ring timeout fails
	w.store.down.Store(false)
	w.clock.Advance(time.Minute)
	if got, err := w.store.Call(ctx, c.ID); err != nil || got.Status != intercom.CallMissed {
		t.Fatalf("a minute after a failed ring timeout the call is %q (%v), want missed", got.Status, err)
	}

	w.beat(t, w.ics[0]) // online again, if the sweep took it offline meanwhile
	w.svc.Wait()        // the missed call's history event is sent off the deadline's path
	w.bus.take()
	w.store.down.Store(true)
	w.clock.Advance(w.svc.OfflineAfter()) // the offline sweep fails
	w.store.down.Store(false)
	w.clock.Advance(time.Minute)
	w.svc.Wait()
	if got, want := w.bus.take(), status(w.ics[:1], false); !slices.Equal(got, want) {
		t.Fatalf("a minute after a failed offline sweep: events %q, want %q", got, want)
	}
}
