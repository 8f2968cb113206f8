package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"intercom"
	"intercom/postgres"
)

// A node whose cached roster is older than the changes the database keeps
// reads it whole: a change that left the log is not missed. Here the
// change that matters (alice disables her phone) is followed, on another
// node, by more of bob's changes than the log holds.
func TestRosterPastTheLog(t *testing.T) {
	ns := nodes(t, 2)
	a, b := ns[0], ns[1]
	ctx := t.Context()
	if _, err := a.CreateIntercom(ctx, intercom.Intercom{ID: 1, Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 7, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	viewers := map[string]intercom.Viewer{}
	for _, login := range []string{"alice", "bob"} {
		u, err := a.CreateUser(ctx, intercom.User{Login: login, PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: 1, Title: "Home", Status: intercom.StatusConfirmed}, t0); err != nil {
			t.Fatal(err)
		}
		tok, err := a.CreateAccessToken(ctx, intercom.AccessToken{PublicID: "pub-" + login, Hash: []byte("hash-" + login), UserID: u.ID,
			DeviceUUID: login + "-phone", Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		viewers[login] = intercom.Viewer{UserID: u.ID, DeviceID: tok.DeviceID}
	}
	enabled := func() map[string]bool {
		t.Helper()
		cands, err := a.RingCandidates(ctx, 1, nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, c := range cands {
			out[c.UUID] = c.Settings.IsEnabled
		}
		return out
	}
	if got := fmt.Sprint(enabled()); got != "map[alice-phone:true bob-phone:true]" {
		t.Fatalf("before: %s", got)
	}
	patch := func(who string, on bool) {
		t.Helper()
		if _, err := b.UpdateIntercom(ctx, viewers[who], 1, intercom.IntercomUpdate{IsEnabled: &on}, t0); err != nil {
			t.Fatal(err)
		}
	}
	patch("alice", false)
	for i := range postgres.RosterLog + 2 { // each a change: off, on, off, …, on
		patch("bob", i%2 == 1)
	}
	if got := fmt.Sprint(enabled()); got != "map[alice-phone:false bob-phone:true]" {
		t.Fatalf("after alice's change and %d of bob's on the other node: %s", postgres.RosterLog+2, got)
	}
	// And once more within the log: only bob's row is read again.
	patch("alice", true)
	patch("bob", false)
	if got := fmt.Sprint(enabled()); got != "map[alice-phone:true bob-phone:false]" {
		t.Fatalf("after two changes on the other node: %s", got)
	}
}
