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
// without Google's services) on Android; none for web and thick-legal.
func PushChannels(client string) []string {
	switch client {
	case "ios", "ios-cctv":
		return []string{ChannelAPNsVoIP}
	case "android", "android-cctv":
		return []string{ChannelFCM, ChannelHMS}
	}
	return nil
}

// RingChannels says how a device of client is rung right now: ws when it
// rings over its socket and has one open (socketOpen), then push, the push
// channel chosen for it ("" for none). Empty: no channel rings it.
func RingChannels(client string, socketOpen bool, push string) []string {
	var out []string
	if socketOpen && RingsOverSocket(client) {
		out = append(out, ChannelWS)
	}
	if push != "" {
		out = append(out, push)
	}
	return out
}

// PushToken is the candidate's token for a push channel, "" for none.
func (c RingCandidate) PushToken(channel string) string {
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
