package pusher

import (
	"intercom"
)

var (
	_ intercom.Broadcaster = Broadcaster{}
	_ intercom.Presence    = (*Hub)(nil)
	_ intercom.Sessions    = (*Hub)(nil)
)

// Broadcaster is a Hub as the Broadcaster of a single node: what it
// publishes reaches this hub's sockets, which are all there are.
type Broadcaster struct{ *Hub }

// Publish sends an event to the hub's sockets on channel but except.
func (b Broadcaster) Publish(channel, event string, data []byte, except string) {
	b.Hub.Publish(channel, event, data, except)
}
