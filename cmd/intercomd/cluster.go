package main

import (
	"context"
	"log/slog"
	"time"

	"intercom"
	"intercom/natsbus"
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

// clusterBus is a node's bus, whichever carries it.
type clusterBus interface {
	intercom.Broadcaster
	intercom.Presence
	intercom.Sessions
	Subscription(channel string, on bool) <-chan struct{}
	Node() string
	Close()
}

// joinCluster makes this process one node of those sharing the PostgreSQL
// database: events, presence and socket grants cross nodes over the bus
// (the database's LISTEN/NOTIFY, or the NATS servers of busURL), deadlines
// are persisted and fire once in the cluster, and the login, door and
// code-guessing throttles count on every node. stop leaves the cluster.
func joinCluster(ctx context.Context, db *postgres.DB, busURL string, hub *pusher.Hub, log *slog.Logger) (cluster *intercomnode.Cluster, stop func(), err error) {
	clock := intercom.SystemClock{}
	// Sessions and views are cached while this node hears every node's
	// changes to them.
	stopCaches, err := db.ShareCaches(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	var bus clusterBus
	kind := "postgres"
	if busURL == "" {
		bus, err = postgres.NewBus(ctx, db, hub, log)
	} else {
		var nb *natsbus.Bus
		nb, err = natsbus.New(natsbus.Config{URL: busURL, Logger: log}, hub)
		if err == nil {
			// Grants find a socket's node by its id's first number.
			hub.SetNode(nb.Node())
			bus, kind = nb, "nats"
		}
	}
	if err != nil {
		stopCaches()
		return nil, nil, err
	}
	hub.Watch(bus.Subscription)
	hub.SetGrantWait(grantWait)
	cluster = &intercomnode.Cluster{Broadcaster: bus, Presence: bus, Sessions: bus,
		Scheduler: postgres.NewScheduler(db, clock, deadlinePoll, log),
		Limiter: func(name string, max int, window time.Duration) intercom.Limiter {
			return postgres.NewLimiter(db, name, max, window, clock.Now)
		}}
	log.Info("joined the cluster", "node", bus.Node(), "bus", kind)
	return cluster, func() { bus.Close(); stopCaches() }, nil
}
