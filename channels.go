package intercom

import "strings"

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

// CancelsByPush reports whether a device rung through push channel learns
// by a push on it that the ring ended: Android's data messages (FCM, Push
// Kit) do. Never iOS's: a VoIP push must ring (iOS ends an app that gets one
// it does not report as a call), and the iPhone woken by the ring is running
// and learns the end from its socket or GET /calls/{id}.
func CancelsByPush(ringChannel string) bool {
	return ringChannel == ChannelFCM || ringChannel == ChannelHMS
}

// AlertChannels lists the push channels that bring a missed-call
// notification to a device of client, in order of preference: APNs alert
// pushes on iOS; FCM, then Push Kit, on Android (data messages the app
// shows); none for web and thick-legal. The slice is shared.
func AlertChannels(client string) []string {
	switch client {
	case "ios", "ios-cctv":
		return iosAlert
	case "android", "android-cctv":
		return androidPush
	}
	return nil
}

var iosAlert = []string{ChannelAPNsAlert}

// Token is the target's token for a push channel, "" when none.
func (p PushTarget) Token(channel string) string {
	switch channel {
	case ChannelAPNsVoIP:
		return p.VoIPToken
	case ChannelAPNsAlert:
		return p.APNToken
	case ChannelFCM:
		return p.FCMToken
	case ChannelHMS:
		return p.HuaweiToken
	}
	return ""
}

// MissedAlert is the missed-call notification of a call from the intercom
// an account calls title, in the language hl names (an app's hl header:
// "ru", "ru-RU", "ru_RU"…; English unless it is Russian).
func MissedAlert(hl, title string) PushAlert {
	if lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(hl)), "-"); lang == "ru" || strings.HasPrefix(lang, "ru_") {
		return PushAlert{Title: "Пропущенный вызов", Body: "Домофон «" + title + "»"}
	}
	return PushAlert{Title: "Missed call", Body: "Intercom “" + title + "”"}
}
