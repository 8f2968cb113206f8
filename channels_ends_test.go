package intercom_test

import (
	"testing"

	"intercom"
)

func TestMissedAlertLanguage(t *testing.T) {
	for _, tt := range []struct {
		hl, title string
		want      intercom.PushAlert
	}{
		{"ru", "Дом", intercom.PushAlert{Title: "Пропущенный вызов", Body: "Домофон «Дом»"}},
		{"ru-RU", "Home", intercom.PushAlert{Title: "Пропущенный вызов", Body: "Домофон «Home»"}},
		{"RU_ru", "Home", intercom.PushAlert{Title: "Пропущенный вызов", Body: "Домофон «Home»"}},
		{"en", "Home", intercom.PushAlert{Title: "Missed call", Body: "Intercom “Home”"}},
		{"", "Home", intercom.PushAlert{Title: "Missed call", Body: "Intercom “Home”"}},
		{"de-DE", "Home", intercom.PushAlert{Title: "Missed call", Body: "Intercom “Home”"}},
		{"rus", "Home", intercom.PushAlert{Title: "Missed call", Body: "Intercom “Home”"}}, // not a tag we speak
	} {
		if got := intercom.MissedAlert(tt.hl, tt.title); got != tt.want {
			t.Errorf("MissedAlert(%q, %q) = %+v, want %+v", tt.hl, tt.title, got, tt.want)
		}
	}
}

func TestPushChannelsOfAnEnd(t *testing.T) {
	for _, ch := range []string{intercom.ChannelFCM, intercom.ChannelHMS} {
		if !intercom.CancelsByPush(ch) {
			t.Errorf("%s does not carry cancels", ch)
		}
	}
	for _, ch := range []string{intercom.ChannelAPNsVoIP, intercom.ChannelAPNsAlert, intercom.ChannelWS, ""} {
		if intercom.CancelsByPush(ch) {
			t.Errorf("%s carries cancels", ch)
		}
	}
	for client, want := range map[string][]string{
		"ios": {intercom.ChannelAPNsAlert}, "ios-cctv": {intercom.ChannelAPNsAlert},
		"android": {intercom.ChannelFCM, intercom.ChannelHMS}, "web": nil, "thick-legal": nil,
	} {
		got := intercom.AlertChannels(client)
		if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
			t.Errorf("AlertChannels(%s) = %v, want %v", client, got, want)
		}
	}
	target := intercom.PushTarget{FCMToken: "f", APNToken: "a", VoIPToken: "v", HuaweiToken: "h"}
	for ch, want := range map[string]string{intercom.ChannelFCM: "f", intercom.ChannelAPNsAlert: "a",
		intercom.ChannelAPNsVoIP: "v", intercom.ChannelHMS: "h", intercom.ChannelWS: ""} {
		if got := target.Token(ch); got != want {
			t.Errorf("Token(%s) = %q, want %q", ch, got, want)
		}
	}
}
