package postgres_test

import (
	"context"
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
