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
// node, by as many of bob's changes as it takes pruning to drop alice's.
// Were the pruning mark not heeded, node a would find bob's changes alone.
func TestRosterPastTheLog(t *testing.T) {
	a, b, sql, toks := aliceAndBob(t)
	ctx := t.Context()
	viewers := map[string]intercom.Viewer{}
	for login, tok := range toks {
		viewers[login] = intercom.Viewer{UserID: tok.UserID, DeviceID: tok.DeviceID}
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
	alicesLogged := func() bool {
		t.Helper()
		var n int
		if err := sql.QueryRow(ctx, `SELECT count(*) FROM roster_log WHERE intercom_id = 1 AND user_id = $1`, viewers["alice"].UserID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	patch("alice", false)
	n := 0
	for ; alicesLogged(); n++ { // each a change: off, on, off, …
		if n == 100*postgres.RosterLog {
			t.Fatalf("alice's change still in the log after %d of bob's", n)
		}
		patch("bob", n%2 == 1)
	}
	if n%2 == 1 {
		patch("bob", true)
		n++
	}
	if got := fmt.Sprint(enabled()); got != "map[alice-phone:false bob-phone:true]" {
		t.Fatalf("after alice's change and %d of bob's on the other node: %s", n, got)
	}
	// And once more within the log: only bob's row is read again.
	patch("alice", true)
	patch("bob", false)
	if got := fmt.Sprint(enabled()); got != "map[alice-phone:true bob-phone:false]" {
		t.Fatalf("after two changes on the other node: %s", got)
	}
}

// A write still in flight when a node caches a roster has a transaction id
// at least the roster's watermark, and its entry outlives pruning (which
// deletes only what it sees), while the pruning mark moves past it: once it
// commits, the node serves it, however much was logged and pruned
// meanwhile.
func TestRosterInFlightWriteOutlivesPruning(t *testing.T) {
	a, b, sql, toks := aliceAndBob(t)
	ctx := t.Context()
	users := map[string]int64{"alice": toks["alice"].UserID, "bob": toks["bob"].UserID}
	bobsDevice := toks["bob"].DeviceID
	titles := func() string {
		t.Helper()
		cands, err := a.RingCandidates(ctx, 1, nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cands {
			out = append(out, c.UUID+":"+c.Title)
		}
		return fmt.Sprint(out)
	}
	if got := titles(); got != "[alice-phone:Home bob-phone:Home]" {
		t.Fatalf("before: %s", got)
	}
	tx, err := sql.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	var xid int64
	if err := tx.QueryRow(ctx, `UPDATE memberships SET title = 'Away' WHERE user_id = $1 AND intercom_id = 1
		RETURNING pg_current_xact_id()::text::bigint`, users["alice"]).Scan(&xid); err != nil {
		t.Fatal(err)
	}
	if got := titles(); got != "[alice-phone:Home bob-phone:Home]" { // cached while alice's write is in flight
		t.Fatalf("alice's write in flight: %s", got)
	}
	marks, err := pgx.ConnectConfig(ctx, sql.Config().Copy()) // a second session of the test's
	if err != nil {
		t.Fatal(err)
	}
	defer marks.Close(context.Background())
	mark := func() int64 {
		t.Helper()
		var through int64
		if err := marks.QueryRow(ctx, `SELECT coalesce((SELECT through FROM roster_pruned WHERE intercom_id = 1), 0)`).Scan(&through); err != nil {
			t.Fatal(err)
		}
		return through
	}
	v := intercom.Viewer{UserID: users["bob"], DeviceID: bobsDevice}
	for n := 0; mark() <= xid; n++ {
		if n == 100*postgres.RosterLog {
			t.Fatalf("the log not pruned past alice's write after %d of bob's changes", n)
		}
		on := n%2 == 1
		if _, err := b.UpdateIntercom(ctx, v, 1, intercom.IntercomUpdate{IsEnabled: &on}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var kept bool
	if err := marks.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM roster_log WHERE intercom_id = 1 AND xid = $1)`, xid).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if !kept {
		t.Error("pruning deleted the entry of a write in flight")
	}
	if got := titles(); got != "[alice-phone:Away bob-phone:Home]" {
		t.Fatalf("alice's write committed after pruning: %s", got)
	}
}

// TestRosterLogKeepsItsBound: pruning (one entry in 64 prunes its intercom,
// migration 0018) keeps of each intercom at least its last RosterLog
// changes, by logins of an account in several intercoms (roster_touch_user)
// and by settings changes (roster_touch), and, over the logins and changes
// here, never more than RosterLog + 8×64 (which entries prune is chosen by
// a hash of a sequence: on average one in 64 of an intercom's). The version
// a node of the previous release reads moves 257 a change throughout.
func TestRosterLogKeepsItsBound(t *testing.T) {
	url := pgtest.Schema(t)
	db := open(t, url)
	ctx := t.Context()
	const intercoms = 3
	for ic := int64(1); ic <= intercoms; ic++ {
		if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: ic, Address: "a", SecretHash: []byte{byte(ic)}, DoorOpenSeconds: 7, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	u, err := db.CreateUser(ctx, intercom.User{Login: "caretaker", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	for ic := int64(1); ic <= intercoms; ic++ {
		if _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic, Title: "Home", Status: intercom.StatusConfirmed}, t0); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// changes counts each intercom's logged changes (one a write here).
	changes := map[int64]int64{1: 1, 2: 1, 3: 1} // the memberships
	const most = postgres.RosterLog + 8*64
	pruned := map[int64]bool{}
	check := func(when string) {
		t.Helper()
		for ic := int64(1); ic <= intercoms; ic++ {
			var rows, through int64
			if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM roster_log WHERE intercom_id = $1),
				coalesce((SELECT through FROM roster_pruned WHERE intercom_id = $1), 0)`, ic).Scan(&rows, &through); err != nil {
				t.Fatal(err)
			}
			// The last RosterLog changes, each in its own transaction: their
			// xids above the mark.
			var kept int64
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT xid FROM roster_log WHERE intercom_id = $1
				ORDER BY xid DESC LIMIT $2) l WHERE xid > $3`, ic, postgres.RosterLog, through).Scan(&kept); err != nil {
				t.Fatal(err)
			}
			// What a node of the previous release reads (migration 0018):
			// 257 a change, pruning or not.
			var version int64
			if err := conn.QueryRow(ctx, `SELECT coalesce((SELECT version FROM roster_versions WHERE intercom_id = $1), 0)`, ic).Scan(&version); err != nil {
				t.Fatal(err)
			}
			if version != 257*changes[ic] {
				t.Fatalf("%s: intercom %d after %d changes at version %d, want %d", when, ic, changes[ic], version, 257*changes[ic])
			}
			want := min(changes[ic], postgres.RosterLog)
			if rows < want || kept < want || rows > most {
				t.Fatalf("%s: intercom %d after %d changes keeps %d (%d of the last above the mark %d); want at least the last %d, at most %d",
					when, ic, changes[ic], rows, kept, through, want, most)
			}
			if rows < changes[ic] {
				pruned[ic] = true
			}
		}
	}
	var tok intercom.AccessToken
	for i := range 2*postgres.RosterLog + 70 {
		if tok, err = db.CreateAccessToken(ctx, intercom.AccessToken{PublicID: fmt.Sprint("pub", i), Hash: []byte(fmt.Sprint("h", i)),
			UserID: u.ID, DeviceUUID: fmt.Sprint("phone-", i), Client: "ios", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for ic := int64(1); ic <= intercoms; ic++ {
			changes[ic]++
		}
		check(fmt.Sprint("after login ", i)) // every change: right after each pruning too
	}
	check("after the logins")
	v := intercom.Viewer{UserID: u.ID, DeviceID: tok.DeviceID}
	for i := range 4 * postgres.RosterLog {
		on := i%2 == 1
		if _, err := db.UpdateIntercom(ctx, v, 2, intercom.IntercomUpdate{IsEnabled: &on}, t0); err != nil {
			t.Fatal(err)
		}
		changes[2]++
		check(fmt.Sprint("after settings change ", i))
	}
	check("after the settings changes")
	for ic := int64(1); ic <= intercoms; ic++ {
		if !pruned[ic] {
			t.Errorf("intercom %d never pruned", ic)
		}
	}
}

// aliceAndBob opens two nodes a and b on a fresh schema, and a connection
// of the test's own to it, closed when t ends; and makes intercom 1 and its
// members alice and bob, each with a web phone's token, by login.
func aliceAndBob(t *testing.T) (a, b *postgres.DB, sql *pgx.Conn, toks map[string]intercom.AccessToken) {
	t.Helper()
	url := pgtest.Schema(t)
	a, b = open(t, url), open(t, url)
	ctx := t.Context()
	sql, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sql.Close(context.Background()) })
	if _, err := a.CreateIntercom(ctx, intercom.Intercom{ID: 1, Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 7, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	toks = map[string]intercom.AccessToken{}
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
		toks[login] = tok
	}
	return a, b, sql, toks
}
