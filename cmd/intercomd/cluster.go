package main

import (
	"context"
	"log/slog"
	"time"

	"intercom"
	"intercom/calls"
	intercomhttp "intercom/http"
	"intercom/members"
	"intercom/postgres"
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
// cluster, the login, door and code-guessing throttles count on every node, and heartbeats
// are written in batches of beatBatch. stop leaves the cluster.
func joinCluster(ctx context.Context, db *postgres.DB, cfg *intercomhttp.Config, beatBatch time.Duration, log *slog.Logger) (stop func(), err error) {
	clock := cfg.Clock
	if clock == nil {
		clock = intercom.SystemClock{}
	}
	bus, err := postgres.NewBus(ctx, db, cfg.Hub, log)
	if err != nil {
		return nil, err
	}
	cfg.Hub.Watch(bus.Subscription)
	cfg.Hub.SetGrantWait(grantWait)
	cfg.Broadcaster, cfg.Presence, cfg.Sessions = bus, bus, bus
	cfg.Scheduler = postgres.NewScheduler(db, clock, deadlinePoll, log)
	loginMax, loginWindow := cfg.LoginMax, cfg.LoginWindow
	if loginMax == 0 {
		loginMax, loginWindow = 10, 15*time.Minute
	}
	cfg.Logins = postgres.NewLimiter(db, "login", loginMax, loginWindow, clock.Now)
	cfg.Doors = postgres.NewLimiter(db, "door", calls.DoorOpensPerMinute, time.Minute, clock.Now)
	cfg.Guesses = postgres.NewLimiter(db, "guess", members.GuessMax, members.GuessWindow, clock.Now)
	cfg.HeartbeatBatch = beatBatch
	log.Info("joined the cluster", "node", bus.Node())
	return bus.Close, nil
}
