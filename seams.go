package intercom

import (
	"context"
	"time"
)

// The seams below are what a single process keeps to itself and a cluster
// must share. Each has a single-process implementation (package local, and
// the Pusher hub) and a cluster one, chosen in cmd/intercomd.

// Broadcaster delivers events to the Pusher channels of every node.
type Broadcaster interface {
	// Publish sends event with data to every socket subscribed to channel,
	// on whichever node holds it, except the socket exceptSocket ("" for
	// none). Delivery is best effort: a socket too slow to read is dropped.
	Publish(channel, event string, data []byte, exceptSocket string)
}

// Presence tells whether someone listens on a channel, on any node.
type Presence interface {
	// Subscribed reports whether a socket on some node is subscribed to
	// channel now.
	Subscribed(channel string) bool
}

// Sockets is a node's own socket server (the Pusher hub) as a cluster's
// bus sees it: what the bus hears from the other nodes, it hands to these.
type Sockets interface {
	// Publish delivers to this node's sockets on channel but except, and
	// returns how many it was queued for.
	Publish(channel, event string, data []byte, except string) int
	Sessions // this node's sockets' grants
	// Reconnect tells every socket of this node to reconnect: it may have
	// missed events.
	Reconnect()
}

// PresenceMany is a Presence that answers for many channels at once, in
// about the time of one question: a ring asks for every device it weighs.
type PresenceMany interface {
	Presence
	// SubscribedMany reports, for each of channels, what Subscribed would.
	SubscribedMany(channels []string) []bool
}

// Deadline kinds.
const (
	DeadlineRing    = "ring"    // a call's ring timeout; ID is the call's
	DeadlineOffline = "offline" // the sweep of intercoms whose heartbeats stopped; ID is 0
	DeadlineConnect = "connect" // an answered call's voice must have connected; ID is the call's
	DeadlineEnd     = "end"     // a call's longest duration; ID is the call's
	DeadlineResume  = "resume"  // the deadlines of live calls set again (calls.Service.Resume); ID is 0
)

// Deadline is something that must happen at an instant, once in the cluster.
type Deadline struct {
	Kind string
	ID   int64
	At   time.Time
}

// Scheduler runs deadlines: each fires once, on one node, at or soon after
// its instant, also when the node that set it has gone.
type Scheduler interface {
	// Handle sets the function deadlines fire into. Call it once, before
	// Schedule.
	Handle(fire func(ctx context.Context, d Deadline))
	// Schedule sets d, replacing a pending deadline of the same kind and id.
	Schedule(ctx context.Context, d Deadline) error
	// Cancel drops the pending deadline of kind and id, if any.
	Cancel(ctx context.Context, kind string, id int64) error
	// Close stops firing; pending deadlines stay pending (for another node,
	// or this one when it starts again).
	Close()
}

// RingScheduler is a Scheduler whose deadlines are rows of its store's own
// database (the PostgreSQL engine's): it writes a new call and its ring
// deadline in one transaction, so that a ring costs one commit and neither
// is written without the other. With any other Scheduler, or another store,
// the call is written (Store.CreateCall), then its deadline set (Schedule).
type RingScheduler interface {
	Scheduler
	// Store is the store whose database keeps the deadlines.
	Store() Store
	// CreateCall is Store().CreateCall of c that, when c rings (status
	// CallRing), also sets the deadline of kind DeadlineRing for the call's
	// id at ringUntil, as Schedule would, in the same transaction.
	CreateCall(ctx context.Context, c Call, ringUntil time.Time) (Call, error)
}

// Limiter counts attempts per key in a sliding window, cluster-wide.
type Limiter interface {
	// Attempt counts one attempt against every key, unless one of them has
	// reached its limit: then nothing is counted and wait says how long until
	// it may try again. at is the instant the attempt was counted at.
	Attempt(ctx context.Context, keys ...string) (at time.Time, wait time.Duration, ok bool, err error)
	// Refund takes back an attempt counted at instant at against each of
	// keys: one that turned out not to count (a success, a failure of ours).
	Refund(ctx context.Context, at time.Time, keys ...string) error
	// Reset forgets the attempts of key.
	Reset(ctx context.Context, key string) error
}
