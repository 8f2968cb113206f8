package pusher

import "intercom"

// SetSilenceClock sets the clock the hub measures its sockets' silence on.
func SetSilenceClock(h *Hub, c intercom.Clock) { h.setSilenceClock(c) }

// WaitsOnPoller reports whether the socket socketID waits for its client's
// messages on the connection's poller (socket.serve) rather than in a read.
func WaitsOnPoller(h *Hub, socketID string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s := h.byID[socketID]
	return s != nil && s.raw != nil
}
