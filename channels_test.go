package intercom_test

import (
	"reflect"
	"testing"

	"intercom"
)

// TestRingChannels: an open socket rings web and thick-legal clients only;
// the mobile SDKs ring by push alone (API.md §6).
func TestRingChannels(t *testing.T) {
	tests := []struct {
		client     string
		socketOpen bool
		push       string
		want       []string
	}{
		{"web", true, "", []string{"ws"}},
		{"thick-legal", true, "", []string{"ws"}},
		{"web", false, "", nil},
		{"ios", true, "", nil},
		{"ios-cctv", true, "", nil},
		{"android", true, "", nil},
		{"android-cctv", true, "", nil},
		{"ios", true, intercom.ChannelAPNsVoIP, []string{"apns-voip"}},
		{"android", false, intercom.ChannelFCM, []string{"fcm"}},
		{"android-cctv", true, intercom.ChannelHMS, []string{"hms"}},
		{"web", true, intercom.ChannelFCM, []string{"ws", "fcm"}},
		{"web", false, intercom.ChannelHMS, []string{"hms"}},
		{"web", true, "other", []string{"ws", "other"}},
	}
	for _, tt := range tests {
		got := intercom.RingChannels(tt.client, tt.socketOpen, tt.push)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("RingChannels(%q, %v, %q) = %q, want %q", tt.client, tt.socketOpen, tt.push, got, tt.want)
		}
	}
	for _, tc := range []struct {
		client string
		want   []string
	}{
		{"ios", []string{"apns-voip"}}, {"ios-cctv", []string{"apns-voip"}},
		{"android", []string{"fcm", "hms"}}, {"android-cctv", []string{"fcm", "hms"}},
		{"web", nil}, {"thick-legal", nil},
	} {
		if got := intercom.PushChannels(tc.client); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("PushChannels(%q) = %q, want %q", tc.client, got, tc.want)
		}
	}
}
