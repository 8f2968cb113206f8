package copydb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"intercom"
	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/sqlite"
)

// t0 has microseconds, which both engines keep.
var t0 = time.Date(2024, 3, 5, 10, 20, 30, 123456000, time.UTC)

func ptr[T any](v T) *T { return &v }

// fixture is what populate made: the ids to read everything back by.
type fixture struct {
	users     []int64 // alice, bob, carol
	deleted   int64   // dave, the newest account, deleted: his ids are above every id left
	viewers   []intercom.Viewer
	tokens    [][]byte // every token's hash
	intercoms []int64
	cameras   []int64
	secrets   [][]byte
	calls     []int64
	maxIDs    map[string]int64 // the highest id each identity table ever gave
}

// populate fills a store through the Store API with something of
// everything.
func populate(t *testing.T, s intercom.Store) fixture {
	t.Helper()
	ctx := t.Context()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var f fixture
	f.maxIDs = map[string]int64{}
	seen := func(table string, id int64) { f.maxIDs[table] = max(f.maxIDs[table], id) }
	user := func(login, name string) intercom.User {
		u, err := s.CreateUser(ctx, intercom.User{Login: login, Name: name, PasswordHash: "$argon2id$v=19$" + login,
			CreatedAt: t0, UpdatedAt: t0.Add(time.Second)})
		check(err)
		seen("users", u.ID)
		return u
	}
	token := func(u intercom.User, uuid, client string) intercom.AccessToken {
		_, tok := intercom.NewAccessToken(u.ID, uuid, client, t0.Add(time.Minute), 90*24*time.Hour)
		tok, err := s.CreateAccessToken(ctx, tok)
		check(err)
		seen("access_tokens", tok.ID)
		seen("devices", tok.DeviceID)
		f.tokens = append(f.tokens, tok.Hash)
		return tok
	}
	set := func(v string) **string { p := &v; return &p }

	alice, bob, carol := user("alice", "Alice Ä"), user("bob", "Bob, \"the\" builder\t"), user("carol", "")
	dave := user("dave", "Dave")
	f.users = []int64{alice.ID, bob.ID, carol.ID}
	phone, tablet := token(alice, "alice-phone", "ios"), token(alice, "alice-tablet", "android")
	token(alice, "alice-phone", "ios-cctv") // a second session of the phone
	bobPhone := token(bob, "bob-phone", "android")
	carolWeb := token(carol, "carol-web", "web")
	check(s.RevokeAccessToken(ctx, carolWeb.ID, t0.Add(time.Hour)))
	// A session's last use (ip, user_agent, last_used_at) and an account's
	// language are copied too.
	check(s.RecordTokenUses(ctx, []intercom.TokenUse{{TokenID: tablet.ID, IP: "2001:db8::7", UserAgent: "Pixel 8 / 14 / ANDROID",
		At: t0.Add(2 * time.Minute)}}))
	_, _, err := s.UpdateUser(ctx, bob.ID, intercom.UserUpdate{Language: ptr("ru")}, t0.Add(time.Second))
	check(err)
	token(dave, "dave-phone", "ios")
	f.tokens = f.tokens[:len(f.tokens)-1] // gone with dave
	f.viewers = []intercom.Viewer{{UserID: alice.ID, DeviceID: phone.DeviceID}, {UserID: alice.ID, DeviceID: tablet.DeviceID},
		{UserID: bob.ID, DeviceID: bobPhone.DeviceID}, {UserID: carol.ID, DeviceID: carolWeb.DeviceID}}
	check(s.UpdatePushTokens(ctx, phone.DeviceID, intercom.PushTokensUpdate{VoIP: set("voip-a"), APN: set("apn-a")}, t0))
	check(s.UpdatePushTokens(ctx, tablet.DeviceID, intercom.PushTokensUpdate{FCM: set("fcm-a")}, t0))
	check(s.UpdatePushTokens(ctx, bobPhone.DeviceID, intercom.PushTokensUpdate{Huawei: set("hms-b")}, t0))

	cam, err := s.CreateCamera(ctx, intercom.Camera{ID: 833, GroupID: ptr[int64](7), Status: "active", Type: "dahua",
		StartAt: ptr(t0.Add(-time.Hour)), CreatedAt: t0, BillingID: ptr("B-1"), PrettyName: "Porch",
		Lat: ptr(55.755826), Lng: ptr(-37.6173), Azimuth: ptr(0.1), IsArchiveRecording: true, IsBridge: false,
		UserStatus: "active", Name: "cam-833"})
	check(err)
	cam2, err := s.CreateCamera(ctx, intercom.Camera{Status: "inactive", Type: "", CreatedAt: t0, PrettyName: "Yard",
		IsBridge: true, UserStatus: "blocked", Name: "cam-yard"})
	check(err)
	seen("cameras", cam2.ID)
	f.cameras = []int64{cam.ID, cam2.ID}
	check(s.SetCameraFavorite(ctx, alice.ID, cam.ID, true))
	check(s.SetCameraFavorite(ctx, bob.ID, cam2.ID, true))

	house, err := s.CreateIntercom(ctx, intercom.Intercom{ID: 180, Address: "Lenina 1", Department: 100, CameraID: &cam.ID,
		SecretHash: intercom.HashToken("secret-180"), ControlURL: ptr("https://door.example/ctl?x=1"), DoorOpenSeconds: 7, CreatedAt: t0})
	check(err)
	gate, err := s.CreateIntercom(ctx, intercom.Intercom{Address: "Gate", Department: 0, SecretHash: intercom.HashToken("secret-gate"),
		DoorOpenSeconds: 3, CreatedAt: t0})
	check(err)
	seen("intercoms", gate.ID)
	f.intercoms, f.secrets = []int64{house.ID, gate.ID}, [][]byte{intercom.HashToken("secret-180"), intercom.HashToken("secret-gate")}
	_, err = s.RecordHeartbeats(ctx, map[int64]time.Time{house.ID: t0.Add(2 * time.Minute)})
	check(err)

	flat15, flat16 := ptr[int64](15), ptr[int64](16)
	member := func(u intercom.User, ic int64, flat *int64, title, status string) {
		_, err := s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic, Flat: flat, Title: title, Status: status}, t0)
		check(err)
	}
	member(alice, house.ID, flat15, "Home", intercom.StatusConfirmed)
	member(bob, house.ID, flat15, "Parents'", intercom.StatusConfirmed)
	member(carol, house.ID, flat16, "Pairing", intercom.StatusKeyConfirmed)
	member(alice, gate.ID, nil, "Gate", intercom.StatusConfirmed)
	member(dave, house.ID, flat15, "Dave's", intercom.StatusConfirmed)
	_, err = s.UpdateIntercomSettings(ctx, house.ID, func(ic *intercom.Intercom) error {
		ic.FirstFlat, ic.LastFlat, ic.OpenDoorCode, ic.OpenDoorKey = ptr[int64](1), ptr[int64](120), true, true
		ic.AnalogLine, ic.LandlineLine = true, true
		return nil
	})
	check(err)
	_, err = s.UpdateFlatLines(ctx, house.ID, flat15, func(_ intercom.Intercom, fl *intercom.FlatLines) error {
		fl.Landline, fl.LandlineURI = true, "sip:+15551234567@gw.example"
		return nil
	}, t0)
	check(err)
	_, err = s.UpdateFlatLines(ctx, house.ID, nil, func(_ intercom.Intercom, fl *intercom.FlatLines) error {
		fl.Analog = false
		return nil
	}, t0)
	check(err)
	// What a ring at flat rings besides the apps, as the service decides it.
	lines := func(id int64, flat *int64) intercom.CallLines {
		ic, err := s.IntercomByID(ctx, id)
		check(err)
		fl, err := s.FlatLines(ctx, id, flat)
		check(err)
		return fl.Rings(ic)
	}
	_, _, err = s.PutKey(ctx, intercom.Key{IntercomID: house.ID, ID: "04A1B2", Flat: flat16, Note: "carol's fob"}, t0)
	check(err)
	_, _, err = s.PutKey(ctx, intercom.Key{IntercomID: house.ID, ID: "spare:1"}, t0.Add(time.Second))
	check(err)
	check(s.CreatePairingCode(ctx, intercom.PairingCode{UserID: carol.ID, Code: "012345", Client: "ios", ExpiresAt: t0.Add(time.Hour)}, t0))
	check(s.CreatePairingCode(ctx, intercom.PairingCode{UserID: bob.ID, Code: "999999", Client: "android", ExpiresAt: t0.Add(time.Hour)}, t0))
	pairing, err := s.Pair(ctx, house.ID, "012345", "04A1B2", t0.Add(time.Hour), t0.Add(time.Minute))
	check(err)
	if pairing.Problem != "" {
		t.Fatalf("pairing: %s", pairing.Problem)
	}
	code, err := s.CreateVisitorCode(ctx, intercom.VisitorCode{UserID: alice.ID, IntercomID: house.ID, Title: "Nanny", Code: "54321",
		ExpiredAt: t0.Add(48 * time.Hour), CreatedAt: t0}, 5)
	check(err)
	seen("visitor_codes", code.ID)
	_, err = s.KeepSecret(ctx, "secret:sip-secret", []byte("plain:the installation's"))
	check(err)
	cred, err := s.CreateAdminCredential(ctx, intercom.AdminCredential{Name: "billing", TokenHash: intercom.HashToken("billing-token"), CreatedAt: t0})
	check(err)
	seen("admin_credentials", cred.ID)
	audit, err := s.RecordAudit(ctx, intercom.AuditEntry{CredentialID: cred.ID, CredentialName: cred.Name, Method: "PATCH",
		Route: "/api/admin/v1/users/{user}", Resource: "users/1", Before: []byte(`{"id":1,"name":"Alice"}`),
		After: []byte(`{"id":1,"name":"Alice B."}`), At: t0.Add(time.Hour)})
	check(err)
	seen("audit_log", audit.ID)
	for _, a := range []struct{ kind, credential string }{{"code", "54321"}, {"code", "00000"}, {"key", "04A1B2"}, {"key", "nope"}} {
		e, err := s.CheckAccess(ctx, house.ID, a.kind, a.credential, t0.Add(time.Hour))
		check(err)
		seen("access_log", e.ID)
	}
	var tt intercom.Timetable
	check(json.Unmarshal([]byte(`{"days":[{"type":"tuesday","from":"08:00+03:00","to":"23:59:59+03:00"},
		{"type":"same_every_day","from":"22:00:00+01:00","to":"06:00+01:00"}],
		"intervals":[{"from":"2024-03-01T00:00:00+05:00","to":"2024-03-09T00:00:00+05:00"}]}`), &tt))
	_, err = s.UpdateIntercom(ctx, f.viewers[0], house.ID, intercom.IntercomUpdate{Title: ptr("Home, sweet"), IsEnabled: ptr(true), Timetable: &tt}, t0.Add(3*time.Minute))
	check(err)
	_, err = s.UpdateIntercom(ctx, f.viewers[1], house.ID, intercom.IntercomUpdate{IsEnabled: ptr(false)}, t0.Add(4*time.Minute))
	check(err)

	ring := func(ic int64, flat *int64, at time.Time) intercom.Call {
		cands, err := s.RingCandidates(ctx, ic, flat, at)
		check(err)
		c, err := s.CreateCall(ctx, intercom.NewCall(ic, flat, intercom.Decide(cands, at, func(c *intercom.RingCandidate) []string {
			if c.VoIPToken != "" {
				return []string{intercom.ChannelWS, intercom.ChannelAPNsVoIP}
			}
			if c.HuaweiToken != "" {
				return nil
			}
			return []string{intercom.ChannelWS}
		}), lines(ic, flat), at))
		check(err)
		seen("calls", c.ID)
		f.calls = append(f.calls, c.ID)
		return c
	}
	update := func(id int64, fn func(*intercom.Call) error) {
		_, err := s.UpdateCall(ctx, id, fn)
		check(err)
	}
	answered := ring(house.ID, flat15, t0.Add(5*time.Minute))
	update(answered.ID, func(c *intercom.Call) error { return c.Answer(phone.DeviceID, t0.Add(5*time.Minute+time.Second)) })
	update(answered.ID, func(c *intercom.Call) error { return c.HangUp(phone.DeviceID, t0.Add(6*time.Minute)) })
	check(s.RecordSend(ctx, intercom.CallSend{CallID: answered.ID, DeviceID: phone.DeviceID, Channel: intercom.ChannelAPNsVoIP,
		Attempts: 2, Outcome: intercom.SendSent, Status: 200, At: t0.Add(5 * time.Minute)}))
	check(s.RecordSend(ctx, intercom.CallSend{CallID: answered.ID, DeviceID: phone.DeviceID, Channel: intercom.ChannelFCM,
		Attempts: 1, Outcome: intercom.SendDeadToken, Status: 404, Reason: "UNREGISTERED", At: t0.Add(5 * time.Minute)}))
	declined := ring(house.ID, flat15, t0.Add(7*time.Minute))
	update(declined.ID, func(c *intercom.Call) error { return c.Decline(phone.DeviceID, t0.Add(7*time.Minute+time.Second)) })
	ringing := ring(house.ID, nil, t0.Add(8*time.Minute))
	missed := ring(gate.ID, nil, t0.Add(9*time.Minute))
	update(missed.ID, func(c *intercom.Call) error { return c.VisitorLeft(t0.Add(9*time.Minute + 30*time.Second)) })
	_ = ringing
	onLandline := ring(house.ID, flat15, t0.Add(10*time.Minute))
	update(onLandline.ID, func(c *intercom.Call) error {
		_, err := c.AnswerOn(intercom.LineLandline, t0.Add(10*time.Minute+time.Second))
		return err
	})
	update(onLandline.ID, func(c *intercom.Call) error { return c.VisitorLeft(t0.Add(11 * time.Minute)) })
	_, err = s.ForgetCalls(ctx, bob.ID, []int64{declined.ID})
	check(err)

	for i, e := range []intercom.ControlEntry{
		{IntercomID: house.ID, Event: "door.open", UserID: &alice.ID, Device: "alice-phone", At: t0.Add(10 * time.Minute),
			Result: intercom.ControlResult{OK: true, Status: 204}},
		{IntercomID: house.ID, Event: "call.answered", CallID: &answered.ID, At: t0.Add(5 * time.Minute),
			Result: intercom.ControlResult{Status: 502, Error: "bad gateway"}},
		{IntercomID: house.ID, Event: "door.open", UserID: &bob.ID, Device: "bob-phone", At: t0.Add(11 * time.Minute),
			Result: intercom.ControlResult{Error: "timed out", TimedOut: true}},
	} {
		if err := s.RecordControl(ctx, e); err != nil {
			t.Fatalf("control entry %d: %v", i, err)
		}
	}
	log, _, err := s.ControlLog(ctx, house.ID, "", intercom.Page{Page: 1, PerPage: 100})
	check(err)
	for _, e := range log {
		seen("control_log", e.ID)
	}

	check(s.DeleteUser(ctx, dave.ID))
	f.deleted = dave.ID
	return f
}

// world is everything the Store API shows of a fixture, keyed by what was
// asked.
type world map[string]any

// read asks a store everything about f.
func read(t *testing.T, s intercom.Store, f fixture) world {
	t.Helper()
	ctx := t.Context()
	w := world{}
	put := func(key string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		w[key] = v
	}
	all := intercom.Page{Page: 1, PerPage: 100}
	for _, id := range f.users {
		u, err := s.UserByID(ctx, id)
		put(fmt.Sprint("user ", id), u, err)
		byLogin, err := s.UserByLogin(ctx, u.Login)
		put("login "+u.Login, byLogin, err)
		codes, n, err := s.VisitorCodes(ctx, id, all, t0)
		put(fmt.Sprint("codes of ", id), []any{codes, n}, err)
		calls, n, err := s.CallsOf(ctx, id, intercom.CallFilter{}, all)
		put(fmt.Sprint("calls of ", id), []any{calls, n}, err)
		missed, n, err := s.CallsOf(ctx, id, intercom.CallFilter{IntercomID: 180, Statuses: []string{intercom.CallMissed}}, all)
		put(fmt.Sprint("missed calls of ", id, " at 180"), []any{missed, n}, err)
		byCamera, n, err := s.CallsOf(ctx, id, intercom.CallFilter{CameraID: 833}, all)
		put(fmt.Sprint("calls of ", id, " by camera 833"), []any{byCamera, n}, err)
		for _, c := range calls {
			one, err := s.CallOf(ctx, id, c.Call.ID)
			put(fmt.Sprint("call ", c.Call.ID, " of ", id), one, err)
		}
	}
	if _, err := s.UserByID(ctx, f.deleted); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Fatalf("deleted user %d: %v", f.deleted, err)
	}
	for _, v := range f.viewers {
		d, err := s.Device(ctx, v.DeviceID)
		put(fmt.Sprint("device ", v.DeviceID), d, err)
		views, n, err := s.Intercoms(ctx, v, all)
		put(fmt.Sprint("intercoms of ", v), []any{views, n}, err)
		byIDs, err := s.IntercomsByIDs(ctx, v, f.intercoms)
		put(fmt.Sprint("intercoms by ids of ", v), byIDs, err)
		for _, ic := range f.intercoms {
			view, err := s.Intercom(ctx, v, ic)
			if intercom.ErrorCode(err) == intercom.ENOTFOUND {
				err, view = nil, intercom.IntercomView{}
			}
			put(fmt.Sprint("intercom ", ic, " of ", v), view, err)
		}
	}
	for _, h := range f.tokens {
		tok, err := s.AccessTokenByHash(ctx, h)
		put(fmt.Sprintf("token %x", h), tok, err)
	}
	creds, n, err := s.AdminCredentials(ctx, all)
	put("admin credentials", []any{creds, n}, err)
	cred, err := s.AdminCredentialByHash(ctx, intercom.HashToken("billing-token"))
	put("admin credential by hash", cred, err)
	audit, n, err := s.AuditLog(ctx, intercom.AuditFilter{}, all)
	put("audit log", []any{audit, n}, err)
	for i, ic := range f.intercoms {
		got, err := s.IntercomByID(ctx, ic)
		put(fmt.Sprint("intercom ", ic), got, err)
		bySecret, err := s.IntercomBySecretHash(ctx, f.secrets[i])
		put(fmt.Sprint("intercom by secret ", ic), bySecret, err)
		members, err := s.IntercomMembers(ctx, ic)
		slices.Sort(members)
		put(fmt.Sprint("members of ", ic), members, err)
		beat, err := s.LastHeartbeat(ctx, ic)
		put(fmt.Sprint("heartbeat of ", ic), beat, err)
		log, n, err := s.ControlLog(ctx, ic, "", all)
		put(fmt.Sprint("control log of ", ic), []any{log, n}, err)
		doors, n, err := s.ControlLog(ctx, ic, "door.open", all)
		put(fmt.Sprint("door log of ", ic), []any{doors, n}, err)
		keys, n, err := s.Keys(ctx, ic, all)
		put(fmt.Sprint("keys of ", ic), []any{keys, n}, err)
		access, n, err := s.AccessLog(ctx, ic, intercom.AccessFilter{}, all)
		put(fmt.Sprint("access log of ", ic), []any{access, n}, err)
		shut, n, err := s.AccessLog(ctx, ic, intercom.AccessFilter{Kind: "code", Open: ptr(false)}, all)
		put(fmt.Sprint("shut codes of ", ic), []any{shut, n}, err)
		cic, ckeys, ccodes, err := s.Credentials(ctx, ic, t0)
		put(fmt.Sprint("credentials of ", ic), []any{cic, ckeys, ccodes}, err)
		for _, flat := range []*int64{nil, ptr[int64](15), ptr[int64](16)} {
			for _, at := range []time.Time{t0, t0.Add(36 * time.Hour), t0.Add(400 * 24 * time.Hour)} {
				cands, err := s.RingCandidates(ctx, ic, flat, at)
				slices.SortFunc(cands, func(a, b *intercom.RingCandidate) int { return int(a.DeviceID - b.DeviceID) })
				for _, c := range cands {
					slices.Sort(c.Tokens)
				}
				key := fmt.Sprint("ring candidates of ", ic, " at ", at.Format(time.RFC3339))
				if flat != nil {
					key += fmt.Sprint(" flat ", *flat)
				}
				put(key, cands, err)
			}
		}
	}
	for _, id := range f.calls {
		c, err := s.Call(ctx, id)
		put(fmt.Sprint("call ", id), c, err)
		sends, err := s.CallSends(ctx, id)
		put(fmt.Sprint("sends of call ", id), sends, err)
	}
	ringing, err := s.RingingCalls(ctx)
	put("ringing", ringing, err)
	oldest, err := s.OldestOnline(ctx)
	put("oldest online", oldest, err)
	holdings, err := s.Holdings(ctx, 100)
	put("holdings", holdings, err)
	return w
}

// newSource makes a SQLite database with f's data and returns its path, the
// fixture and what the SQLite store shows of it.
func newSource(t *testing.T) (string, fixture, world) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "intercomd.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	f := populate(t, s)
	w := read(t, s, f)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, f, w
}

// snapshot is every data table's count and checksum and every identity
// sequence's position, read straight from PostgreSQL.
func snapshot(t *testing.T, url string) map[string]string {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	out := map[string]string{}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, tb := range tables {
			var names []string
			for _, c := range tb.columns {
				names = append(names, c.name)
			}
			sum, err := postgresChecksum(ctx, tx, tb, strings.Join(names, ", "))
			if err != nil {
				return err
			}
			var n int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+tb.name).Scan(&n); err != nil {
				return err
			}
			var seq *int64
			if tb.identity {
				if err := tx.QueryRow(ctx, `SELECT pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass)`, tb.name).Scan(&seq); err != nil {
					return err
				}
			}
			out[tb.name] = fmt.Sprintf("%d rows, %s, sequence at %v", n, sum[:12], fmtPtr(seq))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fmtPtr(p *int64) string {
	if p == nil {
		return "start"
	}
	return fmt.Sprint(*p)
}

// The copy reads back through the PostgreSQL store exactly as the SQLite
// store showed it; new ids continue past every id the source gave; a second
// copy into the now full target is refused and changes nothing.
func TestCopy(t *testing.T) {
	path, f, want := newSource(t)
	url := pgtest.NewDatabase(t)

	var out bytes.Buffer
	done, err := Copy(t.Context(), path, url, &out)
	if err != nil {
		t.Fatalf("Copy: %v\n%s", err, out.String())
	}
	t.Logf("summary:\n%s", out.String())
	if len(done) != len(tables) {
		t.Fatalf("copied %d tables, want %d", len(done), len(tables))
	}
	width := 0
	for _, d := range done {
		width = max(width, len(d.Name))
	}
	for _, d := range done {
		if d.Rows == 0 {
			t.Errorf("table %s: no rows copied: the fixture should fill every table", d.Name)
		}
		line := fmt.Sprintf("%-*s  %-4d  %s", width, d.Name, d.Rows, d.Checksum[:12])
		if !strings.Contains(out.String(), line) {
			t.Errorf("summary lacks %q", line)
		}
	}
	if !strings.Contains(out.String(), "tables from "+path+" to postgres://") || !strings.HasSuffix(out.String(), "counts and checksums match\n") {
		t.Errorf("summary's final line:\n%s", out.String())
	}
	after := snapshot(t, url)

	pg, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if diff := cmp.Diff(want, read(t, pg, f)); diff != "" {
		t.Fatalf("PostgreSQL store differs from the SQLite one (-sqlite +postgres):\n%s", diff)
	}

	t.Run("SecondCopyRefused", func(t *testing.T) {
		var out bytes.Buffer
		_, err := Copy(t.Context(), path, url, &out)
		if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "users") || out.Len() != 0 {
			t.Fatalf("second copy: %v, printed %q", err, out.String())
		}
		if diff := cmp.Diff(after, snapshot(t, url)); diff != "" {
			t.Fatalf("the refused copy changed the target:\n%s", diff)
		}
	})

	t.Run("NewIDsContinue", func(t *testing.T) {
		ctx := t.Context()
		for table, high := range map[string]int64{"users": f.deleted, "devices": f.maxIDs["devices"], "access_tokens": f.maxIDs["access_tokens"]} {
			if high != f.maxIDs[table] {
				t.Fatalf("fixture: %s", table)
			}
		}
		u, err := pg.CreateUser(ctx, intercom.User{Login: "erin", Name: "Erin", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
		if err != nil || u.ID <= f.maxIDs["users"] {
			t.Errorf("new user %d (%v): want an id past %d, dave's, deleted", u.ID, err, f.maxIDs["users"])
		}
		_, tok := intercom.NewAccessToken(u.ID, "erin-phone", "ios", t0, time.Hour)
		tok, err = pg.CreateAccessToken(ctx, tok)
		if err != nil || tok.ID <= f.maxIDs["access_tokens"] || tok.DeviceID <= f.maxIDs["devices"] {
			t.Errorf("new token %d device %d (%v): want ids past %d and %d", tok.ID, tok.DeviceID, err, f.maxIDs["access_tokens"], f.maxIDs["devices"])
		}
		cam, err := pg.CreateCamera(ctx, intercom.Camera{Status: "active", CreatedAt: t0, UserStatus: "active", Name: "new"})
		if err != nil || cam.ID <= 833 {
			t.Errorf("new camera %d (%v): want an id past 833", cam.ID, err)
		}
		ic, err := pg.CreateIntercom(ctx, intercom.Intercom{Address: "New", SecretHash: intercom.HashToken("new"), DoorOpenSeconds: 1, CreatedAt: t0})
		if err != nil || ic.ID <= f.maxIDs["intercoms"] || ic.ID <= 180 {
			t.Errorf("new intercom %d (%v): want an id past %d", ic.ID, err, max(180, f.maxIDs["intercoms"]))
		}
		c, err := pg.CreateCall(ctx, intercom.NewCall(180, nil, nil, intercom.CallLines{}, t0))
		if err != nil || c.ID <= f.maxIDs["calls"] {
			t.Errorf("new call %d (%v): want an id past %d", c.ID, err, f.maxIDs["calls"])
		}
		if err := pg.RecordControl(ctx, intercom.ControlEntry{IntercomID: 180, Event: "door.open", At: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		log, _, err := pg.ControlLog(ctx, 180, "", intercom.Page{Page: 1, PerPage: 1})
		if err != nil || len(log) != 1 || log[0].ID <= f.maxIDs["control_log"] {
			t.Errorf("new control entry %+v (%v): want an id past %d", log, err, f.maxIDs["control_log"])
		}
	})
}

// A source file that does not exist is named in the error, and nothing is
// created in its place.
func TestCopyMissingSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.db")
	_, err := Copy(t.Context(), path, "postgres://nobody@127.0.0.1:1/none", &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), path+" does not exist") {
		t.Fatalf("Copy from a missing file: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 0 {
		t.Errorf("files left behind: %v", entries)
	}
}

// A source this intercomd cannot copy as it is is refused before the target
// is touched (the target here does not exist), saying what to do.
func TestCopyRefusesSource(t *testing.T) {
	const target = "postgres://nobody@127.0.0.1:1/none"
	edit := func(t *testing.T, path, stmt string) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	fresh := func(t *testing.T) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "intercomd.db")
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return path
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) string
		want  []string
	}{
		{"NotMigrated", func(t *testing.T) string {
			path := fresh(t)
			edit(t, path, `DELETE FROM schema_migrations WHERE version >= 4`)
			return path
		}, []string{"lacks migrations [4 5 6 ", "start this intercomd once on it (intercomd serve --db "}},
		{"Newer", func(t *testing.T) string {
			path := fresh(t)
			edit(t, path, `INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)`)
			return path
		}, []string{"newer intercomd", "[999]"}},
		{"NotIntercomd", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "other.db")
			edit(t, path, `CREATE TABLE notes (body TEXT)`)
			return path
		}, []string{"is not an intercomd database"}},
		{"UnknownTable", func(t *testing.T) string {
			path := fresh(t)
			edit(t, path, `CREATE TABLE extra (id INTEGER)`)
			return path
		}, []string{"tables this intercomd does not know (extra)"}},
		{"InUse", func(t *testing.T) string {
			path := fresh(t)
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return path
		}, []string{"in use by an intercomd", "stop it first"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t)
			_, err := Copy(t.Context(), path, target, &bytes.Buffer{})
			if err == nil {
				t.Fatal("copied")
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// A table that does not read back as it was read rolls the whole copy back
// and names the table.
func TestCopyVerifies(t *testing.T) {
	path, _, _ := newSource(t)
	tests := []struct {
		table, stmt, want string
	}{
		{"devices", `UPDATE devices SET fcm_token = 'other' WHERE fcm_token IS NOT NULL`, "table devices: checksum mismatch"},
		{"device_settings", `UPDATE device_settings SET timetable = timetable || '\x00'::bytea`, "table device_settings: checksum mismatch"},
		{"call_devices", `UPDATE call_devices SET channels = array_append(channels, 'x')`, "table call_devices: checksum mismatch"},
		{"call_sends", `UPDATE call_sends SET at = at + interval '1 microsecond'`, "table call_sends: checksum mismatch"},
		{"call_accounts", `DELETE FROM call_accounts WHERE user_id = (SELECT min(user_id) FROM call_accounts)`, "table call_accounts: count mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			url := pgtest.NewDatabase(t)
			afterTable = func(ctx context.Context, tx pgx.Tx, table string) error {
				if table != tt.table {
					return nil
				}
				tag, err := tx.Exec(ctx, tt.stmt)
				if err == nil && tag.RowsAffected() == 0 {
					err = errors.New("the test changed nothing")
				}
				return err
			}
			t.Cleanup(func() { afterTable = nil })
			var out bytes.Buffer
			_, err := Copy(t.Context(), path, url, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rolled back") || out.Len() != 0 {
				t.Fatalf("Copy: %v, printed %q; want %q", err, out.String(), tt.want)
			}
			for table, s := range snapshot(t, url) {
				if !strings.HasPrefix(s, "0 rows") {
					t.Errorf("after the rollback, %s: %s", table, s)
				}
			}
			afterTable = nil
			if _, err := Copy(t.Context(), path, url, &out); err != nil {
				t.Fatalf("copy after the rolled-back one: %v", err)
			}
		})
	}
}

// The copy fills the rosters' tables with their triggers off (postgres
// migration 0006) but leaves every roster a node cached of the empty target
// stale: a node that rang at the intercoms before sees their members after,
// as a node started since does. The triggers are on again after the copy.
func TestCopyRosters(t *testing.T) {
	path, f, _ := newSource(t)
	url := pgtest.NewDatabase(t)
	ctx := t.Context()
	early, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	ring := func(s intercom.Store, ic int64) string {
		t.Helper()
		cands, err := s.RingCandidates(ctx, ic, nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cands {
			out = append(out, fmt.Sprintf("%+v", *c))
		}
		return strings.Join(out, "\n")
	}
	for _, ic := range f.intercoms {
		if got := ring(early, ic); got != "" {
			t.Fatalf("intercom %d before the copy: %s", ic, got)
		}
	}
	if _, err := Copy(ctx, path, url, io.Discard); err != nil {
		t.Fatal(err)
	}
	late, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	rang := false
	for _, ic := range f.intercoms {
		got, want := ring(early, ic), ring(late, ic)
		if got != want {
			t.Errorf("intercom %d after the copy, on the node that rang before:\n%s\nwant\n%s", ic, got, want)
		}
		rang = rang || want != ""
	}
	if !rang {
		t.Fatal("the fixture rings no device: nothing tested")
	}
	// Logouts after the copy are seen: the triggers are on.
	for _, hash := range f.tokens {
		tok, err := late.AccessTokenByHash(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		if err := late.RevokeAccessToken(ctx, tok.ID, t0); err != nil {
			t.Fatal(err)
		}
	}
	for _, ic := range f.intercoms {
		if got, want := ring(early, ic), ring(late, ic); got != want {
			t.Errorf("intercom %d after a logout:\n%s\nwant\n%s", ic, got, want)
		}
	}
}

// The canonical rendering tells apart what must differ.
func TestRender(t *testing.T) {
	values := []any{nil, "NULL", "", int64(0), int64(-1), 0.5, math.Copysign(0, -1), true, false,
		time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), []byte{}, []byte{0}, []string{}, []string{""}, []string{"a,b"}, []string{"a", "b"}, "a\tb"}
	seen := map[string]int{}
	for i, v := range values {
		s := string(render(nil, v))
		if j, ok := seen[s]; ok {
			t.Errorf("%#v and %#v both render %q", values[j], v, s)
		}
		if strings.ContainsAny(s, "\t\n") {
			t.Errorf("%#v renders %q, with a separator", v, s)
		}
		seen[s] = i
	}
	local := time.Date(2024, 1, 2, 6, 4, 5, 6000, time.FixedZone("", 3*3600))
	if a, b := render(nil, local), render(nil, local.UTC()); string(a) != string(b) || string(a) != "2024-01-02T03:04:05.000006Z" {
		t.Errorf("times: %s and %s", a, b)
	}
}
