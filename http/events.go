package http

import (
	"intercom/wire"
)

// toUser publishes a notification to every socket of an account, on any
// node, but the one that made the request (X-Socket-ID). Nothing is encoded
// for an account nobody listens to.
func (s *Server) toUser(userID int64, typ string, fields func() map[string]any, exceptSocket string) {
	ch := wire.UserChannel(userID)
	if s.presence.Subscribed(ch) {
		s.bus.Publish(ch, wire.EventName, wire.Notification(typ, fields()), exceptSocket)
	}
}

// Wait blocks until the event deliveries and push sends under way are done.
func (s *Server) Wait() {
	s.calls.Wait()
	s.push.Wait()
}
