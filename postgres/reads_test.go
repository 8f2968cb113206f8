package postgres_test

import (
	"testing"

	"intercom/storetest"
)

// TestReadsFollowAnotherNodesWrites: one node writes while another reads
// sessions, views and rosters as hard as it can; each write is seen by the
// reading node's very next read, and no read goes back. PostgreSQL nodes
// cache none of these, so this holds by construction; the test keeps it so.
func TestReadsFollowAnotherNodesWrites(t *testing.T) {
	n := nodes(t, 2)
	storetest.ReadsUnderWrites(t, n[0], n[1])
}
