package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
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

// TestRosterLogKeepsItsBound: the log of an intercom's roster changes,
// pruned when a version is a multiple of 64 (migration 0017), always holds
// the last RosterLog changes, by logins of an account in several intercoms
// (roster_touch_user) and by settings changes (roster_touch), and never
// more than RosterLog + 63.
func TestRosterLogKeepsItsBound(t *testing.T) {
	url := pgtest.Schema(t)
	db := open(t, url)
	ctx := t.Context()
	for ic := int64(1); ic <= 3; ic++ {
		if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: ic, Address: "a", SecretHash: []byte{byte(ic)}, DoorOpenSeconds: 7, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	u, err := db.CreateUser(ctx, intercom.User{Login: "caretaker", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	for ic := int64(1); ic <= 3; ic++ {
		if _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic, Title: "Home", Status: intercom.StatusConfirmed}, t0); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	check := func(when string) {
		t.Helper()
		for ic := int64(1); ic <= 3; ic++ {
			var version, rows, oldest int64
			if err := conn.QueryRow(ctx, `SELECT v.version, count(c.version), coalesce(min(c.version), 0) FROM roster_versions v
				LEFT JOIN roster_changes c ON c.intercom_id = v.intercom_id WHERE v.intercom_id = $1 GROUP BY v.version`, ic).
				Scan(&version, &rows, &oldest); err != nil {
				t.Fatal(err)
			}
			want := min(version, postgres.RosterLog)
			if rows < want || rows > postgres.RosterLog+63 || (version > postgres.RosterLog && oldest > version-postgres.RosterLog+1) {
				t.Fatalf("%s: intercom %d at version %d keeps %d changes from %d; want the last %d, at most %d",
					when, ic, version, rows, oldest, want, postgres.RosterLog+63)
			}
		}
	}
	var tok intercom.AccessToken
	for i := range 2*postgres.RosterLog + 70 {
		if tok, err = db.CreateAccessToken(ctx, intercom.AccessToken{PublicID: fmt.Sprint("pub", i), Hash: []byte(fmt.Sprint("h", i)),
			UserID: u.ID, DeviceUUID: fmt.Sprint("phone-", i), Client: "ios", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprint("after login ", i)) // every version: right after each pruning too
	}
	check("after the logins")
	v := intercom.Viewer{UserID: u.ID, DeviceID: tok.DeviceID}
	for i := range postgres.RosterLog + 70 {
		on := i%2 == 1
		if _, err := db.UpdateIntercom(ctx, v, 2, intercom.IntercomUpdate{IsEnabled: &on}, t0); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprint("after settings change ", i))
	}
	check("after the settings changes")
}
