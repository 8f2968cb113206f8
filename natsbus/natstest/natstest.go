// Package natstest runs a NATS server inside a test's process (the real
// nats-server, through its Go module), on a random loopback port: the NATS
// bus's tests need no server of their own.
package natstest

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Start runs a NATS server on a random loopback port until tb ends.
func Start(tb testing.TB) *server.Server {
	tb.Helper()
	return start(tb, -1)
}

// Restart shuts s down and starts a new server on its port, as when a NATS
// server restarts: its clients lose their connections and reconnect.
func Restart(tb testing.TB, s *server.Server) *server.Server {
	tb.Helper()
	port := s.Addr().(*net.TCPAddr).Port
	s.Shutdown()
	s.WaitForShutdown()
	return start(tb, port)
}

func start(tb testing.TB, port int) *server.Server {
	tb.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true, MaxPayload: 1 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		tb.Fatal("natstest: the NATS server did not start in 10 s")
	}
	tb.Cleanup(s.Shutdown)
	return s
}
