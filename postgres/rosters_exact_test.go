package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
)

// The cached rosters (rosters.go) against writes made around them: each test
// here failed before the change it came with.

// clusterURL opens n nodes on one fresh schema and returns its URL too, for
// the tests' own connections.
func clusterURL(t *testing.T, n int) ([]*postgres.DB, string) {
	t.Helper()
	url := pgtest.Schema(t)
	var out []*postgres.DB
	for range n {
		out = append(out, open(t, url))
	}
	return out, url
}

// conn is a connection of the test's own to the schema at url.
func conn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func exec(t *testing.T, c interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, sql string, args ...any) {
	t.Helper()
	if _, err := c.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// referenceQuery is RingCandidates as the engine read it before it cached
// rosters: every live token of every device of the members, read afresh.
const referenceQuery = `SELECT d.id, d.user_id, d.uuid, d.client, m.status, m.title, s.is_enabled, s.timetable,
		array_agg(t.public_id ORDER BY t.id), coalesce(d.fcm_token, ''), coalesce(d.voip_token, ''), coalesce(d.huawei_token, '')
	FROM memberships m
	JOIN devices d ON d.user_id = m.user_id
	JOIN access_tokens t ON t.device_id = d.id AND t.revoked_at IS NULL AND t.expires_at > $3
	LEFT JOIN device_settings s ON s.device_id = d.id AND s.intercom_id = m.intercom_id
	WHERE m.intercom_id = $1 AND ($2::bigint IS NULL OR m.flat = $2)
	GROUP BY d.id, m.user_id, m.intercom_id, s.device_id, s.intercom_id
	ORDER BY d.id`

// reference reads the candidates with referenceQuery, rendered as render
// does.
func reference(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, intercomID int64, flat *int64, at time.Time) string {
	t.Helper()
	rows, err := q.Query(t.Context(), referenceQuery, intercomID, flat, at)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*intercom.RingCandidate
	for rows.Next() {
		var c intercom.RingCandidate
		var enabled *bool
		var timetable []byte
		if err := rows.Scan(&c.DeviceID, &c.UserID, &c.UUID, &c.Client, &c.MemberStatus, &c.Title, &enabled, &timetable,
			&c.Tokens, &c.FCMToken, &c.VoIPToken, &c.HuaweiToken); err != nil {
			t.Fatal(err)
		}
		c.Settings = intercom.DefaultDeviceSettings
		if enabled != nil {
			c.Settings.IsEnabled = *enabled
			if err := c.Settings.Timetable.UnmarshalBinary(timetable); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return render(out)
}

// render is candidates as comparable text.
func render(cands []*intercom.RingCandidate) string {
	var b strings.Builder
	for _, c := range cands {
		tt, _ := c.Settings.Timetable.MarshalBinary()
		fmt.Fprintf(&b, "[%d u%d %s %s %s %q %v %x %v %q %q %q]", c.DeviceID, c.UserID, c.UUID, c.Client, c.MemberStatus, c.Title,
			c.Settings.IsEnabled, tt, c.Tokens, c.FCMToken, c.VoIPToken, c.HuaweiToken)
	}
	return b.String()
}

func uuidsOf(t *testing.T, s intercom.Store, intercomID int64) string {
	t.Helper()
	cands, err := s.RingCandidates(t.Context(), intercomID, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cands {
		out = append(out, c.UUID)
	}
	return strings.Join(out, " ")
}

func mkUser(t *testing.T, s intercom.Store, login string) int64 {
	t.Helper()
	u, err := s.CreateUser(t.Context(), intercom.User{Login: login, PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func mkMember(t *testing.T, s intercom.Store, userID, intercomID int64) {
	t.Helper()
	if _, err := s.PutMembership(t.Context(), intercom.Membership{UserID: userID, IntercomID: intercomID, Title: "Home",
		Status: intercom.StatusConfirmed}, t0); err != nil {
		t.Fatal(err)
	}
}

func mkToken(t *testing.T, s intercom.Store, userID int64, uuid string) intercom.AccessToken {
	t.Helper()
	tok, err := s.CreateAccessToken(t.Context(), intercom.AccessToken{PublicID: "pub-" + uuid, Hash: []byte("hash-" + uuid),
		UserID: userID, DeviceUUID: uuid, Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mkIntercom(t *testing.T, s intercom.Store, id int64, secret string) {
	t.Helper()
	if _, err := s.CreateIntercom(t.Context(), intercom.Intercom{ID: id, Address: "a", SecretHash: []byte(secret),
		DoorOpenSeconds: 7, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
}

// An intercom's id is the caller's to choose (CreateIntercom), so an
// intercom deleted (by hand: no store method deletes one) may come back
// under its id. A node that cached the old one's roster must not serve it,
// whatever is logged of the new one's roster.
func TestRosterOfRecreatedIntercom(t *testing.T) {
	ns, url := clusterURL(t, 2)
	a, b := ns[0], ns[1]
	sql := conn(t, url)
	mkIntercom(t, a, 1, "s1")
	alice := mkUser(t, a, "alice")
	mkMember(t, a, alice, 1)
	mkToken(t, a, alice, "alice-phone")
	if got := uuidsOf(t, a, 1); got != "alice-phone" {
		t.Fatalf("before: %q", got)
	}
	exec(t, sql, `DELETE FROM intercoms WHERE id = 1`)
	mkIntercom(t, b, 1, "s1-again")
	bob := mkUser(t, b, "bob")
	mkMember(t, b, bob, 1)
	mkToken(t, b, bob, "bob-phone")
	if got := uuidsOf(t, a, 1); got != "bob-phone" {
		t.Fatalf("the intercom re-created, with bob alone: %q", got)
	}

	// A roster cached with nothing logged of its intercom: its members
	// joined before migration 0006 (or their entries were pruned), and
	// nothing changed since.
	mkIntercom(t, a, 2, "s2")
	mkMember(t, a, alice, 2)
	exec(t, sql, `DELETE FROM roster_log WHERE intercom_id = 2`)
	exec(t, sql, `DELETE FROM roster_pruned WHERE intercom_id = 2`)
	c := open(t, url) // a node started since
	if got := uuidsOf(t, c, 2); got != "alice-phone" {
		t.Fatalf("intercom 2 before: %q", got)
	}
	exec(t, sql, `DELETE FROM intercoms WHERE id = 2`)
	mkIntercom(t, b, 2, "s2-again")
	if got := uuidsOf(t, c, 2); got != "" {
		t.Fatalf("intercom 2 re-created without members: %q", got)
	}
}

// A write to an account's devices or tokens bumps the version of every
// intercom the account is a member of, as it finds its memberships. A
// membership being made at the same time, not yet committed, is not among
// them: unless the two writes are ordered, a node can read the account's
// rows between the two commits, cache them at the membership's version,
// and never see the device write. Here the device write is logout, login,
// and a push token's change.
func TestRosterDeviceWriteRacesJoin(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, s intercom.Store, bob int64)
		write string // by bob ($1)
		want  string
	}{
		{"Logout", func(t *testing.T, s intercom.Store, bob int64) { mkToken(t, s, bob, "bob-phone") },
			`UPDATE access_tokens SET revoked_at = now() WHERE user_id = $1`, "alice-phone"},
		{"Login", func(t *testing.T, s intercom.Store, bob int64) {},
			`WITH d AS (INSERT INTO devices (user_id, uuid, client, created_at, updated_at) VALUES ($1, 'bob-phone', 'web', now(), now()) RETURNING id)
			INSERT INTO access_tokens (public_id, token_hash, user_id, device_id, created_at, expires_at)
			SELECT 'pub-bob', 'hash-bob', $1, id, now(), '3000-01-01' FROM d`, "alice-phone bob-phone"},
		{"PushToken", func(t *testing.T, s intercom.Store, bob int64) { mkToken(t, s, bob, "bob-phone") },
			`UPDATE devices SET fcm_token = 'fcm-2' WHERE user_id = $1`, "alice-phone bob-phone fcm-2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns, url := clusterURL(t, 1)
			a := ns[0]
			ctx := t.Context()
			mkIntercom(t, a, 1, "s1")
			alice := mkUser(t, a, "alice")
			mkMember(t, a, alice, 1)
			mkToken(t, a, alice, "alice-phone")
			bob := mkUser(t, a, "bob")
			tt.setup(t, a, bob)
			if got := uuidsOf(t, a, 1); got != "alice-phone" {
				t.Fatalf("before: %q", got)
			}
			join, write := conn(t, url), conn(t, url)
			exec(t, join, `BEGIN`)
			exec(t, join, `INSERT INTO memberships (user_id, intercom_id, title, status) VALUES ($1, 1, 'Home', 'confirmed')`, bob)
			exec(t, write, `BEGIN`)
			done := make(chan error, 1)
			go func() {
				_, err := write.Exec(ctx, tt.write, bob)
				done <- err
			}()
			select { // the write runs while the join is open, or waits for it
			case err := <-done:
				done <- err
			case <-time.After(300 * time.Millisecond):
			}
			exec(t, join, `COMMIT`)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			uuidsOf(t, a, 1) // reads bob's rows: the write is not committed
			exec(t, write, `COMMIT`)
			cands, err := a.RingCandidates(ctx, 1, nil, t0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cands {
				got = append(got, c.UUID)
				if c.FCMToken != "" {
					got = append(got, c.FCMToken)
				}
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("after both committed: %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

// A logout or a push token's change takes its account's roster lock
// (shared, migration 0006) after the row it writes, so it can deadlock with
// a write of the account's memberships (which takes the lock alone) that
// then writes that row. PostgreSQL then fails one of the two; the store
// retries it rather than failing the request. (Before migration 0018 the
// writes also locked the intercoms' roster versions, in order.)
func TestRosterWritesRetryDeadlocks(t *testing.T) {
	for _, tt := range []struct {
		name  string
		write func(s intercom.Store, tok intercom.AccessToken) error
		row   string // the other writer's statement on the row the write holds: the token ($1), the device ($2)
	}{
		{"RevokeAccessToken", func(s intercom.Store, tok intercom.AccessToken) error {
			return s.RevokeAccessToken(context.Background(), tok.ID, t0)
		}, `UPDATE access_tokens SET last_used_at = now() WHERE id = $1 AND $2::bigint IS NOT NULL`},
		{"UpdatePushTokens", func(s intercom.Store, tok intercom.AccessToken) error {
			f := "fcm-1"
			pf := &f
			return s.UpdatePushTokens(context.Background(), tok.DeviceID, intercom.PushTokensUpdate{FCM: &pf}, t0)
		}, `UPDATE devices SET updated_at = now() WHERE id = $2 AND $1::bigint IS NOT NULL`},
		{"ClearPushToken", func(s intercom.Store, tok intercom.AccessToken) error {
			return s.ClearPushToken(context.Background(), tok.DeviceID, intercom.ChannelFCM, "fcm-0")
		}, `UPDATE devices SET updated_at = now() WHERE id = $2 AND $1::bigint IS NOT NULL`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns, url := clusterURL(t, 1)
			a := ns[0]
			mkIntercom(t, a, 1, "s1")
			mkIntercom(t, a, 2, "s2")
			alice := mkUser(t, a, "alice")
			mkMember(t, a, alice, 1)
			mkMember(t, a, alice, 2)
			tok := mkToken(t, a, alice, "alice-phone")
			f := "fcm-0"
			pf := &f
			if err := a.UpdatePushTokens(t.Context(), tok.DeviceID, intercom.PushTokensUpdate{FCM: &pf}, t0); err != nil {
				t.Fatal(err)
			}
			// The other writer renames alice's membership, then writes the
			// row the store's write holds. Its deadlock_timeout is long, so
			// that the store's write is the one PostgreSQL fails.
			other := conn(t, url)
			exec(t, other, `BEGIN`)
			exec(t, other, `SET LOCAL deadlock_timeout = '20s'`)
			exec(t, other, `UPDATE memberships SET title = 'x' WHERE user_id = $1 AND intercom_id = 2`, alice)
			done := make(chan error, 1)
			go func() { done <- tt.write(a, tok) }()
			waitForLockWait(t, url, other.PgConn().PID())
			exec(t, other, tt.row, tok.ID, tok.DeviceID)
			exec(t, other, `COMMIT`)
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the write never ended")
			}
		})
	}
}

// waitForLockWait waits until a session waits for a lock the session pid
// holds.
func waitForLockWait(t *testing.T, url string, pid uint32) {
	t.Helper()
	c := conn(t, url)
	for range 500 {
		var n int
		if err := c.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE $1::int = ANY (pg_blocking_pids(pid))`,
			int32(pid)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no session waits for a lock")
}

// Random writes through two nodes, in rounds of concurrent writers while
// both nodes ring: after each round, every roster each node serves (cached,
// patched or read whole) is what a fresh read of the data gives, at instants
// before, between and after the tokens' expiries.
func TestRosterDifferential(t *testing.T) {
	for seed := range int64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { rostersAgree(t, seed, 25, false) })
	}
}

// TestRosterDifferentialPruning is TestRosterDifferential with, in each
// round, a writer of its own logging entries of no account for every
// intercom, 100 at a time, each time pruning the logs (roster_prune,
// migration 0018): the rounds' changes leave the logs while the nodes ring
// and write, and the nodes' cached rosters predate them.
func TestRosterDifferentialPruning(t *testing.T) {
	for seed := range int64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { rostersAgree(t, seed, 25, true) })
	}
}

// rostersAgree runs rounds of writes and rings; with pad, the padding and
// pruning writer too.
func rostersAgree(t *testing.T, seed int64, rounds int, pad bool) {
	ns, url := clusterURL(t, 2)
	sql := conn(t, url)
	ctx := t.Context()
	const intercoms, flats = 3, 3
	for ic := int64(1); ic <= intercoms; ic++ {
		mkIntercom(t, ns[0], ic, fmt.Sprint("s", ic))
	}
	var (
		mu     sync.Mutex
		users  []int64
		tokens []intercom.AccessToken
		serial int
	)
	newUser := func(s intercom.Store) {
		mu.Lock()
		serial++
		login := fmt.Sprint("u", serial)
		mu.Unlock()
		id := mkUser(t, s, login)
		mu.Lock()
		users = append(users, id)
		mu.Unlock()
	}
	for range 5 {
		newUser(ns[0])
	}
	ats := []time.Time{t0, t0.Add(45 * time.Minute), t0.Add(2 * time.Hour)}
	flatOf := func(r *rand.Rand) *int64 {
		if r.IntN(flats+1) == 0 {
			return nil
		}
		return ptr(int64(1 + r.IntN(flats)))
	}
	pick := func(r *rand.Rand) (int64, intercom.AccessToken, bool) {
		mu.Lock()
		defer mu.Unlock()
		u := users[r.IntN(len(users))]
		var mine []intercom.AccessToken
		for _, tok := range tokens {
			if tok.UserID == u {
				mine = append(mine, tok)
			}
		}
		if len(mine) == 0 {
			return u, intercom.AccessToken{}, false
		}
		return u, mine[r.IntN(len(mine))], true
	}
	str := func(v string) **string { p := &v; return &p }
	write := func(r *rand.Rand, s intercom.Store) error {
		u, tok, has := pick(r)
		ic := int64(1 + r.IntN(intercoms))
		switch op := r.IntN(20); {
		case op < 4:
			status := intercom.StatusConfirmed
			if r.IntN(4) == 0 {
				status = intercom.StatusKeyConfirmed
			}
			_, err := s.PutMembership(ctx, intercom.Membership{UserID: u, IntercomID: ic, Flat: flatOf(r),
				Title: fmt.Sprint("t", r.IntN(3)), Status: status}, t0)
			return err
		case op < 5:
			_, err := s.DeleteMembership(ctx, ic, u)
			return err
		case op < 6:
			_, err := s.UnlinkIntercoms(ctx, u, []int64{ic, 1 + ic%intercoms})
			return err
		case op < 9:
			mu.Lock()
			serial++
			n := serial
			mu.Unlock()
			ttl := []time.Duration{30 * time.Minute, time.Hour, 3 * time.Hour}[r.IntN(3)]
			tok, err := s.CreateAccessToken(ctx, intercom.AccessToken{PublicID: fmt.Sprint("pub", n), Hash: []byte(fmt.Sprint("hash", n)),
				UserID: u, DeviceUUID: fmt.Sprint("d", r.IntN(3)), Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(ttl)})
			if err == nil {
				mu.Lock()
				tokens = append(tokens, tok)
				mu.Unlock()
			}
			return err
		case !has:
			return nil
		case op < 11:
			return s.RevokeAccessToken(ctx, tok.ID, t0)
		case op < 13:
			v := fmt.Sprint("p", r.IntN(3))
			var up intercom.PushTokensUpdate
			switch r.IntN(3) {
			case 0:
				up.FCM = str(v)
			case 1:
				up.VoIP = str(v)
			default:
				up.Huawei = str(v)
			}
			return s.UpdatePushTokens(ctx, tok.DeviceID, up, t0)
		case op < 14:
			ch := []string{intercom.ChannelFCM, intercom.ChannelAPNsVoIP, intercom.ChannelHMS}[r.IntN(3)]
			return s.ClearPushToken(ctx, tok.DeviceID, ch, fmt.Sprint("p", r.IntN(3)))
		case op < 18:
			var up intercom.IntercomUpdate
			switch r.IntN(3) {
			case 0:
				up.IsEnabled = ptr(r.IntN(2) == 0)
			case 1:
				up.Title = ptr(fmt.Sprint("t", r.IntN(3)))
			default:
				var tt intercom.Timetable
				if err := tt.UnmarshalJSON([]byte(fmt.Sprintf(`{"days":[{"type":"same_every_day","from":"0%d:00Z","to":"09:00Z"}]}`, r.IntN(3)))); err != nil {
					return err
				}
				up.Timetable = &tt
			}
			_, err := s.UpdateIntercom(ctx, intercom.Viewer{UserID: u, DeviceID: tok.DeviceID}, ic, up, t0)
			return err
		default:
			if err := s.DeleteUser(ctx, u); err != nil {
				return err
			}
			mu.Lock()
			users = slices.DeleteFunc(users, func(id int64) bool { return id == u })
			mu.Unlock()
			newUser(s)
			return nil
		}
	}
	for round := range rounds {
		stop := make(chan struct{})
		var writers, ringers sync.WaitGroup
		if pad {
			writers.Go(func() {
				for range 4 {
					if _, err := sql.Exec(ctx, `INSERT INTO roster_log (intercom_id, user_id)
						SELECT ic, 0 FROM generate_series(1, $1::int) ic, generate_series(1, 100)`, intercoms); err != nil {
						t.Errorf("round %d: padding: %v", round, err)
					}
					if _, err := sql.Exec(ctx, `SELECT roster_prune(ic) FROM generate_series(1, $1::bigint) ic`, intercoms); err != nil {
						t.Errorf("round %d: pruning: %v", round, err)
					}
				}
			})
		}
		for w := range 4 {
			r := rand.New(rand.NewPCG(uint64(seed), uint64(round*16+w)))
			writers.Go(func() {
				for range 5 {
					err := write(r, ns[r.IntN(2)])
					if err != nil && intercom.ErrorCode(err) != intercom.ENOTFOUND {
						t.Errorf("round %d: write: %v", round, err)
					}
				}
			})
		}
		for g := range 2 {
			r := rand.New(rand.NewPCG(uint64(seed), uint64(round*16+8+g)))
			ringers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := ringOn(ns[g], g == 1)(ctx, int64(1+r.IntN(intercoms)), flatOf(r), ats[r.IntN(len(ats))]); err != nil {
						t.Errorf("ring: %v", err)
						return
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		ringers.Wait()
		for n, s := range ns {
			for ic := int64(1); ic <= intercoms; ic++ {
				for f := int64(0); f <= flats; f++ {
					var flat *int64
					if f > 0 {
						flat = ptr(f)
					}
					for _, at := range ats {
						cands, err := ringOn(s, n == 1)(ctx, ic, flat, at)
						if err != nil {
							t.Fatal(err)
						}
						if got, want := render(cands), reference(t, sql, ic, flat, at); got != want {
							t.Fatalf("round %d, node %d, intercom %d, flat %v, at %s:\n got %s\nwant %s", round, n, ic, flat, at, got, want)
						}
					}
				}
			}
		}
	}
	if pad {
		var pruned int
		if err := sql.QueryRow(ctx, `SELECT count(*) FROM roster_pruned WHERE through > 0`).Scan(&pruned); err != nil {
			t.Fatal(err)
		}
		if pruned == 0 {
			t.Error("no intercom's log was pruned")
		}
	}
}

// A login whose account is being deleted meanwhile finds the account, then
// fails to make its device: ENOTFOUND, as when the account is gone before
// (the random writes above found this).
func TestLoginRacesAccountDeletion(t *testing.T) {
	ns, url := clusterURL(t, 1)
	a := ns[0]
	alice := mkUser(t, a, "alice")
	del := conn(t, url)
	exec(t, del, `BEGIN`)
	exec(t, del, `DELETE FROM users WHERE id = $1`, alice)
	done := make(chan error, 1)
	go func() {
		_, err := a.CreateAccessToken(context.Background(), intercom.AccessToken{PublicID: "pub", Hash: []byte("hash"),
			UserID: alice, DeviceUUID: "phone", Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		done <- err
	}()
	waitForLockWait(t, url, del.PgConn().PID())
	exec(t, del, `COMMIT`)
	if err := <-done; intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Fatalf("CreateAccessToken: %v, want ENOTFOUND", err)
	}
}

// ringOn is db's RingCandidates, or, withLines, its RingRead (the ring's
// own read, the flat's lines in the same round trip) without the lines.
func ringOn(db *postgres.DB, withLines bool) func(ctx context.Context, intercomID int64, flat *int64, at time.Time) ([]*intercom.RingCandidate, error) {
	if !withLines {
		return db.RingCandidates
	}
	return func(ctx context.Context, intercomID int64, flat *int64, at time.Time) ([]*intercom.RingCandidate, error) {
		cands, _, err := db.RingRead(ctx, intercomID, flat, at)
		return cands, err
	}
}
