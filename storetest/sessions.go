package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// testSessions: an account's live sessions with their last use, ended one
// by one (never another account's), under a limit, and by a password change.
func testSessions(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	open := func(u intercom.User, uuid string, at time.Time) intercom.AccessToken {
		t.Helper()
		_, tok := intercom.NewAccessToken(u.ID, uuid, "android", at, time.Hour)
		tok.IP, tok.UserAgent = "192.0.2.1", "login agent"
		tok, err := s.CreateAccessToken(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	phone, tablet := open(alice, "phone", t0), open(alice, "tablet", t0.Add(time.Second))
	old := open(alice, "old", t0.Add(-2*time.Hour)) // expired by t0
	theirs := open(bob, "bob-phone", t0)
	ids := func(toks []intercom.AccessToken) []string {
		var out []string
		for _, t := range toks {
			out = append(out, t.PublicID)
		}
		return out
	}
	live, err := s.LiveAccessTokens(ctx, alice.ID, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{phone.PublicID, tablet.PublicID}, ids(live)); diff != "" {
		t.Fatalf("live sessions (-want +got):\n%s", diff)
	}
	if got := live[0]; got.IP != "192.0.2.1" || got.UserAgent != "login agent" || !got.LastUsedAt.Equal(t0) ||
		got.DeviceUUID != "phone" || got.Client != "android" {
		t.Fatalf("a fresh session = %+v, want the login's address, agent and instant", got)
	}

	// Uses: a later one is written, an earlier one never overwrites it.
	used := t0.Add(10 * time.Minute)
	if err := s.RecordTokenUses(ctx, []intercom.TokenUse{
		{TokenID: phone.ID, IP: "198.51.100.2", UserAgent: "new agent", At: used},
		{TokenID: tablet.ID, IP: "203.0.113.9", UserAgent: "tablet", At: used},
		{TokenID: 1 << 40, IP: "x", At: used}, // unknown: ignored
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordTokenUses(ctx, []intercom.TokenUse{{TokenID: phone.ID, IP: "stale", At: used.Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	live, _ = s.LiveAccessTokens(ctx, alice.ID, used)
	if got := live[0]; got.IP != "198.51.100.2" || got.UserAgent != "new agent" || !got.LastUsedAt.Equal(used) {
		t.Fatalf("after its uses, a session = %+v, want the latest use", got)
	}
	if tok, _ := s.AccessTokenByHash(ctx, phone.Hash); tok.RevokedAt != nil || tok.ID != phone.ID {
		t.Fatalf("recording a use changed the token: %+v", tok)
	}

	// Ending a session: only the account's own live ones.
	for _, tc := range []struct {
		name   string
		userID int64
		public string
	}{
		{"another account's", alice.ID, theirs.PublicID},
		{"an expired one", alice.ID, old.PublicID},
		{"an unknown id", alice.ID, "nope"},
		{"by another account", bob.ID, tablet.PublicID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RevokeSession(ctx, tc.userID, tc.public, used)
			wantCode(t, err, intercom.ENOTFOUND)
		})
	}
	ended, err := s.RevokeSession(ctx, alice.ID, tablet.PublicID, used)
	if err != nil || ended.ID != tablet.ID {
		t.Fatalf("RevokeSession = %+v, %v", ended, err)
	}
	if tok, _ := s.AccessTokenByHash(ctx, tablet.Hash); tok.Live(used) {
		t.Fatal("the ended session is still live")
	}
	_, err = s.RevokeSession(ctx, alice.ID, tablet.PublicID, used)
	wantCode(t, err, intercom.ENOTFOUND)
	if tok, _ := s.AccessTokenByHash(ctx, theirs.Hash); !tok.Live(used) {
		t.Fatal("bob's session ended with alice's")
	}

	// Opening under a limit: decide sees the live ones; its error writes nothing.
	_, next := intercom.NewAccessToken(alice.ID, "laptop", "web", used, time.Hour)
	var seen []string
	_, err = s.OpenSession(ctx, next, func(live []intercom.AccessToken) ([]int64, error) {
		seen = ids(live)
		return intercom.DecideSessions(live, 1, "")
	})
	if _, ok := err.(*intercom.SessionsLimitError); !ok {
		t.Fatalf("OpenSession at the limit: %v, want the limit", err)
	}
	if diff := cmp.Diff([]string{phone.PublicID}, seen); diff != "" {
		t.Fatalf("decide saw (-want +got):\n%s", diff)
	}
	if _, err := s.AccessTokenByHash(ctx, next.Hash); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Fatalf("a refused session was recorded: %v", err)
	}
	got, err := s.OpenSession(ctx, next, func(live []intercom.AccessToken) ([]int64, error) {
		return intercom.DecideSessions(live, 1, phone.PublicID)
	})
	if err != nil || got.ID == 0 || got.DeviceID == 0 {
		t.Fatalf("OpenSession ending one = %+v, %v", got, err)
	}
	live, _ = s.LiveAccessTokens(ctx, alice.ID, used)
	if diff := cmp.Diff([]string{next.PublicID}, ids(live)); diff != "" {
		t.Fatalf("after ending one to open one (-want +got):\n%s", diff)
	}

	// Concurrent logins at the limit: exactly one gets in.
	carol := mustUser(t, s, "carol")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, tok := intercom.NewAccessToken(carol.ID, "dev", "ios", used, time.Hour)
			_, errs[i] = s.OpenSession(ctx, tok, func(live []intercom.AccessToken) ([]int64, error) {
				return intercom.DecideSessions(live, 1, "")
			})
		})
	}
	wg.Wait()
	in := 0
	for _, err := range errs {
		if err == nil {
			in++
		} else if _, ok := err.(*intercom.SessionsLimitError); !ok {
			t.Fatalf("a concurrent login: %v", err)
		}
	}
	if in != 1 {
		t.Fatalf("%d concurrent logins got in under a limit of 1, want 1", in)
	}

	// The account's settings; a new password ends every other session.
	other := open(alice, "other", used)
	lang := "ru"
	u, revoked, err := s.UpdateUser(ctx, alice.ID, intercom.UserUpdate{Language: &lang}, used)
	if err != nil || u.Language != "ru" || !u.UpdatedAt.Equal(used) || u.PasswordHash != "hash" || len(revoked) != 0 {
		t.Fatalf("UpdateUser(language) = %+v, %v, %v", u, revoked, err)
	}
	hash := "new hash"
	u, revoked, err = s.UpdateUser(ctx, alice.ID, intercom.UserUpdate{PasswordHash: &hash, KeepToken: got.ID}, used.Add(time.Second))
	if err != nil || u.PasswordHash != "new hash" || u.Language != "ru" {
		t.Fatalf("UpdateUser(password) = %+v, %v", u, err)
	}
	if diff := cmp.Diff([]string{other.PublicID}, revoked); diff != "" {
		t.Fatalf("revoked by the password change (-want +got):\n%s", diff)
	}
	live, _ = s.LiveAccessTokens(ctx, alice.ID, used.Add(time.Second))
	if diff := cmp.Diff([]string{got.PublicID}, ids(live)); diff != "" {
		t.Fatalf("left after the password change (-want +got):\n%s", diff)
	}
	if u, _ := s.UserByLogin(ctx, "alice"); u.Language != "ru" || u.PasswordHash != "new hash" {
		t.Fatalf("read back: %+v", u)
	}
	if _, _, err := s.UpdateUser(ctx, 1<<40, intercom.UserUpdate{Language: &lang}, used); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Fatalf("UpdateUser of no account: %v", err)
	}
	if tok, _ := s.AccessTokenByHash(ctx, theirs.Hash); !tok.Live(used) {
		t.Fatal("bob's session ended with alice's password")
	}
}
