package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"intercom"
	"intercom/sqlite"
)

// Every write that changes who a ring reaches shows in the next ring, though
// rosters are cached.
func TestRosterCacheFollowsWrites(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: 1, Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 7, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	u, _ := db.CreateUser(ctx, intercom.User{Login: "u", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	flat := int64(3)
	if _, _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: 1, Flat: &flat, Title: "Home", Status: "confirmed"}, t0); err != nil {
		t.Fatal(err)
	}
	ring := func(at time.Time) []intercom.RingCandidate {
		t.Helper()
		c, err := db.RingCandidates(ctx, 1, &flat, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := ring(t0); len(c) != 0 {
		t.Fatalf("no device yet: %+v", c)
	}
	_, tok := intercom.NewAccessToken(u.ID, "phone", "ios", t0, time.Hour)
	if tok, err = db.CreateAccessToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); len(c) != 1 || c[0].UUID != "phone" {
		t.Fatalf("after login: %+v", c)
	}
	ring(t0) // cached now
	if c := ring(t0.Add(2 * time.Hour)); len(c) != 0 {
		t.Fatalf("expired token still rings: %+v", c)
	}
	voip := "v1"
	pv := &voip
	if err := db.UpdatePushTokens(ctx, tok.DeviceID, intercom.PushTokensUpdate{VoIP: &pv}, t0); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); c[0].VoIPToken != "v1" {
		t.Fatalf("after push token: %+v", c)
	}
	if err := db.ClearPushToken(ctx, tok.DeviceID, intercom.ChannelAPNsVoIP, "v1"); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); c[0].VoIPToken != "" {
		t.Fatalf("after clearing: %+v", c)
	}
	off := false
	if _, err := db.UpdateIntercom(ctx, intercom.Viewer{UserID: u.ID, DeviceID: tok.DeviceID}, 1, intercom.IntercomUpdate{IsEnabled: &off}, t0); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); c[0].Settings.IsEnabled {
		t.Fatalf("after disabling: %+v", c)
	}
	if _, _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: 1, Flat: &flat, Title: "Renamed", Status: "key_confirmed"}, t0); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); c[0].MemberStatus != "key_confirmed" || c[0].Title != "Renamed" {
		t.Fatalf("after membership change: %+v", c)
	}
	// Writes that cannot change a roster do not drop it, and do not need to.
	if _, err := db.RecordHeartbeat(ctx, 1, t0); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); len(c) != 1 {
		t.Fatalf("after heartbeat: %+v", c)
	}
	if err := db.RevokeAccessToken(ctx, tok.ID, t0); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); len(c) != 0 {
		t.Fatalf("after logout: %+v", c)
	}
	_, tok2 := intercom.NewAccessToken(u.ID, "tablet", "android", t0, time.Hour)
	db.CreateAccessToken(ctx, tok2)
	if c := ring(t0); len(c) != 1 {
		t.Fatalf("second device: %+v", c)
	}
	if err := db.DeleteMembership(ctx, 1, u.ID); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); len(c) != 0 {
		t.Fatalf("after unlinking: %+v", c)
	}
	db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: 1, Flat: &flat, Title: "Back", Status: "confirmed"}, t0)
	if c := ring(t0); len(c) != 1 {
		t.Fatalf("relinked: %+v", c)
	}
	if _, err := db.UnlinkIntercoms(ctx, u.ID, []int64{1}); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); len(c) != 0 {
		t.Fatalf("after DELETE /intercom: %+v", c)
	}
	db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: 1, Flat: &flat, Title: "Back", Status: "confirmed"}, t0)
	ring(t0)
	if err := db.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if c := ring(t0); len(c) != 0 {
		t.Fatalf("after deleting the user: %+v", c)
	}
}
