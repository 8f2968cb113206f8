package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"intercom"
)

// A write that says nothing of what it changes (update, the default a new
// Store method gets) makes every cached session, view and roster stale: the
// next reads see what it wrote.
func TestUnscopedWriteDropsEveryCache(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC)
	ic, err := db.CreateIntercom(ctx, intercom.Intercom{Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 7, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, intercom.User{Login: "u", PasswordHash: "h", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "Home", Status: intercom.StatusConfirmed}, now); err != nil {
		t.Fatal(err)
	}
	_, tok := intercom.NewAccessToken(u.ID, "phone", "ios", now, time.Hour)
	if tok, err = db.CreateAccessToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	v := intercom.Viewer{UserID: u.ID, DeviceID: tok.DeviceID}
	read := func() (intercom.AccessToken, intercom.IntercomView, []*intercom.RingCandidate) {
		t.Helper()
		s, err := db.AccessTokenByHash(ctx, tok.Hash)
		if err != nil {
			t.Fatal(err)
		}
		view, err := db.Intercom(ctx, v, ic.ID)
		if err != nil {
			t.Fatal(err)
		}
		cands, err := db.RingCandidates(ctx, ic.ID, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		return s, view, cands
	}
	read()
	read() // from the caches
	if err := db.update(ctx, func(q querier) error {
		if _, err := q.Exec(`UPDATE memberships SET title = 'Changed'`); err != nil {
			return err
		}
		_, err := q.Exec(`UPDATE devices SET client = 'android'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s, view, cands := read()
	if s.Client != "android" || view.Membership.Title != "Changed" || len(cands) != 1 || cands[0].Title != "Changed" || cands[0].Client != "android" {
		t.Errorf("after an unscoped write: session client %q, view title %q, candidates %+v", s.Client, view.Membership.Title, cands)
	}

	// quiet, under its older contract (nothing a ring weighs), may still
	// change an intercom: views are dropped too.
	if err := db.quiet(ctx, func(q querier) error {
		_, err := q.Exec(`UPDATE intercoms SET address = 'Moved'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, view, _ = read(); view.Intercom.Address != "Moved" {
		t.Errorf("after a quiet write: view address %q", view.Intercom.Address)
	}
}
