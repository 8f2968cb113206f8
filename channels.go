package intercom

// Which channels ring a device is a matter of its client (API.md §6): web
// and thick-legal clients ring over their open Pusher socket; the mobile SDKs
// ignore intercom_ring on the socket and ring only through push, so for them
// a socket is not a ring channel (it still gets every event).

// RingsOverSocket reports whether a device of client rings over its open
// Pusher socket (the ws channel): true for web and thick-legal only.
func RingsOverSocket(client string) bool {
	return client == "web" || client == "thick-legal"
}

// PushChannels lists the push channels that can ring a device of client, in
// order of preference: VoIP push on iOS; FCM, then Huawei Push Kit (phones
// without Google's services) on Android; none for web and thick-legal. The
// slice is shared: callers must not modify it.
func PushChannels(client string) []string {
	switch client {
	case "ios", "ios-cctv":
		return iosPush
	case "android", "android-cctv":
		return androidPush
	}
	return nil
}

var (
	iosPush     = []string{ChannelAPNsVoIP}
	androidPush = []string{ChannelFCM, ChannelHMS}
)

// RingChannels says how a device of client is rung right now: ws when it
// rings over its socket and has one open (socketOpen), then push, the push
// channel chosen for it ("" for none). Empty: no channel rings it. The
// slice is shared (a ring decides a thousand devices and allocates none of
// these): callers must not modify it.
func RingChannels(client string, socketOpen bool, push string) []string {
	ws := socketOpen && RingsOverSocket(client)
	if push == "" {
		if ws {
			return ringWS
		}
		return nil
	}
	for _, c := range ringPush {
		if c[1] == push {
			if ws {
				return c
			}
			return c[1:]
		}
	}
	if ws {
		return []string{ChannelWS, push}
	}
	return []string{push}
}

var (
	ringWS   = []string{ChannelWS}
	ringPush = [][]string{{ChannelWS, ChannelAPNsVoIP}, {ChannelWS, ChannelFCM}, {ChannelWS, ChannelHMS}}
)

// PushToken is the candidate's token for a push channel, "" for none.
func (c *RingCandidate) PushToken(channel string) string {
	switch channel {
	case ChannelAPNsVoIP:
		return c.VoIPToken
	case ChannelFCM:
		return c.FCMToken
	case ChannelHMS:
		return c.HuaweiToken
	}
	return ""
}
