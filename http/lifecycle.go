package http

import (
	"context"
)

// Resume sets the deadlines the database says are pending: the timeouts of
// calls still ringing and the offline sweep. Call it once the server is about
// to serve.
func (s *Server) Resume(ctx context.Context) error { return s.calls.Resume(ctx) }

// Close stops the deadlines, closes every socket, waits for the effects under
// way and abandons the push sends still trying. Call it once the HTTP server
// has stopped taking requests.
func (s *Server) Close() {
	s.calls.Close()
	s.hub.Close()
	s.push.Close()
}
