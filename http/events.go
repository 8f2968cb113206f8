package http

// toUser publishes a notification to every socket of an account, on any
// node, but the one that made the request (X-Socket-ID): the account events
// go the way the call lifecycle's do (calls.Service.ToAccount).
func (s *Server) toUser(userID int64, typ string, fields func() map[string]any, exceptSocket string) {
	s.calls.ToAccount(userID, typ, fields, exceptSocket)
}

// Wait blocks until the event deliveries and push sends under way are done.
func (s *Server) Wait() {
	s.calls.Wait()
	s.push.Wait()
}
