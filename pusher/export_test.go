package pusher

import "intercom"

// SetSilenceClock sets the clock the hub measures its sockets' silence on.
func SetSilenceClock(h *Hub, c intercom.Clock) { h.setSilenceClock(c) }
