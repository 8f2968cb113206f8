package main

import (
	"context"
	"log/slog"
	"time"

	"intercom"
	intercomnode "intercom/node"
	"intercom/postgres"
	"intercom/pusher"
)

// Cluster settings: how often a node looks for due deadlines, and how long a
// subscription may wait for its grant to arrive from the node that served
// broadcasting/auth.
const (
	deadlinePoll = 250 * time.Millisecond
	grantWait    = 3 * time.Second
)

// joinCluster makes this process one node of those sharing the PostgreSQL
// database: events, presence and socket grants cross nodes over the
// database's LISTEN/NOTIFY, deadlines are persisted and fire once in the
// cluster, and the login, door and code-guessing throttles count on every
// node. stop leaves the cluster.
func joinCluster(ctx context.Context, db *postgres.DB, hub *pusher.Hub, log *slog.Logger) (cluster *intercomnode.Cluster, stop func(), err error) {
	clock := intercom.SystemClock{}
	bus, err := postgres.NewBus(ctx, db, hub, log)
	if err != nil {
		return nil, nil, err
	}
	hub.Watch(bus.Subscription)
	hub.SetGrantWait(grantWait)
	cluster = &intercomnode.Cluster{Broadcaster: bus, Presence: bus, Sessions: bus,
		Scheduler: postgres.NewScheduler(db, clock, deadlinePoll, log),
		Limiter: func(name string, max int, window time.Duration) intercom.Limiter {
			return postgres.NewLimiter(db, name, max, window, clock.Now)
		}}
	log.Info("joined the cluster", "node", bus.Node())
	return cluster, bus.Close, nil
}
