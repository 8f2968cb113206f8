package http_test

import (
	"encoding/json"
	"strings"
	"testing"

	"intercom/node"
)

// FuzzSIPRingFlat sends arbitrary dialled users as the SIP server's ring's
// flat: a string of 1–5 ASCII digits not all zeros rings (201), anything
// else is a 422 on flat; never another status.
func FuzzSIPRingFlat(f *testing.F) {
	for _, s := range []string{"15", "015", "00015", "0", "00000", "+7", "1;x", `"`, `\`, "", strings.Repeat("9", 64),
		"99999", "100000", "1 5", "١٥", "\x00", "15\x00"} {
		f.Add(s)
	}
	fx := newFixtureWith(f, func(c *node.Config) { c.SIPAPIToken = sipAPIToken })
	fx.seedWorld()
	f.Fuzz(func(t *testing.T, user string) {
		fx.t = t
		body, _ := json.Marshal(map[string]any{"intercom": "intercom180", "flat": user})
		res := fx.sip("POST", "/api/sip/v1/ring", string(body))
		digits := strings.TrimLeft(user, "0")
		want := 422
		if len(user) >= 1 && len(user) <= 5 && digits != "" && strings.Trim(user, "0123456789") == "" {
			want = 201
		}
		if res.Code != want {
			t.Fatalf("flat %q → %d %s, want %d", user, res.Code, res.Body, want)
		}
	})
}

// FuzzLanguageHeader sends arbitrary hl headers with a device's push
// tokens: the tokens are taken (204) whatever the header, never refused for
// an optional header, and never anything else.
func FuzzLanguageHeader(f *testing.F) {
	for _, s := range []string{"ru", "ru-RU", "en_US", "", "r", "ru-", "русский", strings.Repeat("a", 40), "ru\x00", "zh-Hant-TW"} {
		f.Add(s)
	}
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, hl string) {
		fx := w.on(t)
		res := fx.do(request{method: "PUT", path: "/api/v1/devices", body: `{"fcm_token":"f1"}`,
			headers: map[string]string{"Authorization": "Bearer " + fx.alice.token, "X-Client": "android", "X-UUID": "alice-phone", "hl": hl}})
		if res.Code != 204 {
			t.Fatalf("hl %q → %d %s", hl, res.Code, res.Body)
		}
	})
}
