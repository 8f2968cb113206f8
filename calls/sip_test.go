package calls

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

func TestTURNCredential(t *testing.T) {
	// A vector computed outside Go:
	//   printf '%s' '1650458672:42' | openssl dgst -sha1 -hmac 'north-gate-turn-secret' -binary | base64
	t.Run("openssl", func(t *testing.T) {
		username, credential := TURNCredential([]byte("north-gate-turn-secret"), 42, t0.Add(10*time.Minute)) // 12:44:32 UTC
		if username != "1650458672:42" || credential != "Xic7zDhmoxpgA8AokdcpeGykjFw=" {
			t.Errorf("got %q %q, want 1650458672:42 Xic7zDhmoxpgA8AokdcpeGykjFw=", username, credential)
		}
	})
	t.Run("hmac", func(t *testing.T) {
		secret := []byte("another secret")
		expires := time.Date(2031, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3*3600))
		username, credential := TURNCredential(secret, 7, expires)
		if want := "1925078645:7"; username != want {
			t.Errorf("username %q, want %q", username, want)
		}
		mac := hmac.New(sha1.New, secret)
		mac.Write([]byte(username))
		if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); credential != want {
			t.Errorf("credential %q, want %q", credential, want)
		}
	})
}

// The answer names the TURN servers with a credential, the STUN ones
// without, and nothing when none is configured.
func TestAnswerICEServers(t *testing.T) {
	c := testCall(intercom.CallAnswered)
	who := Device{UserID: 10, DeviceID: 1, UUID: "phone"}
	until := t0.Add(DefaultAnswerConnectTimeout + DefaultMaxCallDuration)
	username, credential := TURNCredential([]byte("turn-secret"), 10, until)
	for _, tt := range []struct {
		name string
		urls []string
		want []ICEServer
	}{
		{"none", nil, nil},
		{"turn and stun", []string{"stun:turn.example.com:3478", "turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"},
			[]ICEServer{
				{URLs: []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"}, Username: username, Credential: credential},
				{URLs: []string{"stun:turn.example.com:3478"}},
			}},
		{"stun alone", []string{"stun:stun.example.com", "stuns:stun.example.com:5349"},
			[]ICEServer{{URLs: []string{"stun:stun.example.com", "stuns:stun.example.com:5349"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := SIPConfig{Host: "sip.example.com", Secret: []byte("sip-secret"), ICEURLs: tt.urls, TURNSecret: []byte("turn-secret")}
			a, err := cfg.Answer(c, who, t0, until)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, a.ICEServers); diff != "" {
				t.Errorf("ice servers (-want +got):\n%s", diff)
			}
		})
	}
}
