package http

// Wait blocks until the event deliveries and push sends under way are done.
func (s *Server) Wait() {
	s.calls.Wait()
	s.push.Wait()
}
