package postgres_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/storetest"
)

// TestReadsFollowAnotherNodesWrites: one node writes while another reads
// sessions, views and rosters as hard as it can; each write is seen by the
// reading node's next read once it has heard of it (SyncChanges, before
// each read), and no read goes back. Rosters are checked at each ring
// (rosters.go).
func TestReadsFollowAnotherNodesWrites(t *testing.T) {
	n := nodes(t, 2)
	storetest.ReadsUnderWrites(t, n[0], n[1])
}

// TestRingsFollowAnotherNodesWrites: every kind of write that changes a
// roster, made on one node, is seen by the very next ring on another, which
// cached the roster just before.
func TestRingsFollowAnotherNodesWrites(t *testing.T) {
	n := nodes(t, 2)
	storetest.RingCandidatesSeeEveryWrite(t, n[0], n[1])
}

// TestRingReadsFollowAnotherNodesWrites is TestRingsFollowAnotherNodesWrites
// through RingRead, the ring's own read.
func TestRingReadsFollowAnotherNodesWrites(t *testing.T) {
	n := nodes(t, 2)
	storetest.RingCandidatesSeeEveryWrite(t, n[0], ringReading{n[1]})
}

// ringReading is a node whose RingCandidates are its RingRead's.
type ringReading struct{ *postgres.DB }

func (r ringReading) RingCandidates(ctx context.Context, intercomID int64, flat *int64, at time.Time) ([]*intercom.RingCandidate, error) {
	return ringOn(r.DB, true)(ctx, intercomID, flat, at)
}

// TestTokenViews: the token and an intercom's view read in one round trip
// are what the two reads give.
func TestTokenViews(t *testing.T) {
	storetest.TokenViews(t, open(t, pgtest.NewDatabase(t)))
}

// TestRingReads: a ring's candidates and its flat's lines read in one round
// trip are what the two reads give on another node.
func TestRingReads(t *testing.T) {
	n := nodes(t, 2)
	storetest.RingReads(t, n[0], n[1])
}

// TestRingReadRoundTrips: a ring reads its flat (candidates and lines) in
// one round trip, whether its roster is cold or cached; in two when accounts
// changed since it was cached (what changed, then their rows); and an
// intercom that does not exist in one. Counted are the round trips the
// store asks its pool for (pgx's own, preparing a statement on a new
// connection, are not), and only those of the ring's read: the node's
// change listener uses the pool too.
func TestRingReadRoundTrips(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	w := open(t, url)
	type ringsKey struct{}
	ringing := context.WithValue(ctx, ringsKey{}, true)
	var sends atomic.Int64
	r, err := postgres.OpenCounting(ctx, url, func(ctx context.Context) {
		if ctx.Value(ringsKey{}) != nil {
			sends.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	stop, err := r.ShareCaches(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	mkIntercom(t, w, 180, "s180")
	alice, bob := mkUser(t, w, "alice"), mkUser(t, w, "bob")
	flat15, flat16 := ptr(int64(15)), ptr(int64(16))
	join := func(user int64, flat *int64, uuid string) {
		t.Helper()
		if _, err := w.PutMembership(ctx, intercom.Membership{UserID: user, IntercomID: 180, Flat: flat, Title: "Home",
			Status: intercom.StatusConfirmed}, t0); err != nil {
			t.Fatal(err)
		}
		mkToken(t, w, user, uuid)
	}
	join(alice, flat15, "alice-phone")
	if _, err := w.UpdateFlatLines(ctx, 180, flat15, func(_ intercom.Intercom, fl *intercom.FlatLines) error {
		fl.LandlineURI = "sip:alice@gw.example"
		return nil
	}, t0); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	ring := func(when string, intercomID int64, flat *int64, wantTrips int64, wantUUIDs string) {
		t.Helper()
		if err := r.SyncChanges(ctx); err != nil {
			t.Fatal(err)
		}
		before := sends.Load()
		cands, lines, err := r.RingRead(ringing, intercomID, flat, at)
		trips := sends.Load() - before
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		var uuids []string
		for _, c := range cands {
			uuids = append(uuids, c.UUID)
		}
		slices.Sort(uuids)
		if got := strings.Join(uuids, " "); got != wantUUIDs {
			t.Errorf("%s: candidates %q, want %q", when, got, wantUUIDs)
		}
		if intercomID == 180 && flat == flat15 && lines.LandlineURI != "sip:alice@gw.example" {
			t.Errorf("%s: lines %+v, want flat 15's landline", when, lines)
		}
		if trips != wantTrips {
			t.Errorf("%s: %d round trips, want %d", when, trips, wantTrips)
		}
	}
	ring("flat 15, cold", 180, flat15, 1, "alice-phone")
	ring("flat 15, cached", 180, flat15, 1, "alice-phone")
	ring("flat 16, cold, nobody in it", 180, flat16, 1, "")
	join(bob, flat15, "bob-phone")
	ring("flat 15 after bob joined", 180, flat15, 2, "alice-phone bob-phone")
	ring("flat 15 patched, cached", 180, flat15, 1, "alice-phone bob-phone")
	ring("an intercom that does not exist", 999, flat15, 1, "")
}
