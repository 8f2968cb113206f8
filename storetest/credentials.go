package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// testAdminCredentials: named credentials are found by their token's hash
// until deleted, listed by id without ever a token, and their names are
// unique.
func testAdminCredentials(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	var made []intercom.AdminCredential
	for i, name := range []string{"billing", "support", "monitoring"} {
		c, err := s.CreateAdminCredential(ctx, intercom.AdminCredential{Name: name, TokenHash: intercom.HashToken(name + "-token"),
			CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if c.ID == 0 || (i > 0 && c.ID <= made[i-1].ID) {
			t.Fatalf("create %s: id %d after %v", name, c.ID, made)
		}
		made = append(made, c)
	}
	_, err := s.CreateAdminCredential(ctx, intercom.AdminCredential{Name: "billing", TokenHash: intercom.HashToken("other"), CreatedAt: t0})
	wantCode(t, err, intercom.ECONFLICT)

	got, err := s.AdminCredentialByHash(ctx, intercom.HashToken("support-token"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(made[1], got); diff != "" {
		t.Errorf("by hash (-want +got):\n%s", diff)
	}
	if got, err := s.AdminCredential(ctx, made[2].ID); err != nil || !cmp.Equal(made[2], got) {
		t.Errorf("by id = %+v, %v; want %+v", got, err, made[2])
	}
	_, err = s.AdminCredentialByHash(ctx, intercom.HashToken("nobody's"))
	wantCode(t, err, intercom.ENOTFOUND)

	page, total, err := s.AdminCredentials(ctx, intercom.Page{Page: 2, PerPage: 2})
	if err != nil || total != 3 || !cmp.Equal(page, made[2:]) {
		t.Errorf("page 2 of 2 = %+v of %d, %v; want %+v of 3", page, total, err, made[2:])
	}

	if err := s.DeleteAdminCredential(ctx, made[1].ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.AdminCredentialByHash(ctx, intercom.HashToken("support-token"))
	wantCode(t, err, intercom.ENOTFOUND)
	_, err = s.AdminCredential(ctx, made[1].ID)
	wantCode(t, err, intercom.ENOTFOUND)
	wantCode(t, s.DeleteAdminCredential(ctx, made[1].ID), intercom.ENOTFOUND)
	wantCode(t, s.DeleteAdminCredential(ctx, 1<<40), intercom.ENOTFOUND)
	page, total, err = s.AdminCredentials(ctx, intercom.Page{Page: 1, PerPage: 25})
	if err != nil || total != 2 || !cmp.Equal(page, []intercom.AdminCredential{made[0], made[2]}) {
		t.Errorf("after the deletion = %+v of %d, %v", page, total, err)
	}
	// The name of a deleted credential may be given again; its id never is.
	again, err := s.CreateAdminCredential(ctx, intercom.AdminCredential{Name: "support", TokenHash: intercom.HashToken("new"), CreatedAt: t0})
	if err != nil || again.ID <= made[2].ID {
		t.Errorf("support again = %+v, %v; want an id past %d", again, err, made[2].ID)
	}
}

// testAuditLog: entries come back newest first, as recorded, filtered by
// credential (0: the bootstrap token) and by resource with those beneath
// it; the audit log is purged by age like the other logs.
func testAuditLog(t *testing.T, s intercom.Store) {
	ctx := t.Context()
	entry := func(credential int64, name, method, route, resource string, before, after string, at time.Time) intercom.AuditEntry {
		e := intercom.AuditEntry{CredentialID: credential, CredentialName: name, Method: method, Route: route,
			Resource: resource, At: at}
		if before != "" {
			e.Before = []byte(before)
		}
		if after != "" {
			e.After = []byte(after)
		}
		return e
	}
	var all []intercom.AuditEntry
	for i, e := range []intercom.AuditEntry{
		entry(0, "bootstrap", "POST", "/api/admin/v1/intercoms", "intercoms/5", "", `{"id":5,"secret":"[redacted]"}`, t0),
		entry(3, "billing", "PUT", "/api/admin/v1/intercoms/{intercom}/members/{user}", "intercoms/5/members/7", "", `{"title":"Home"}`, t0.Add(time.Minute)),
		entry(3, "billing", "PATCH", "/api/admin/v1/intercoms/{intercom}", "intercoms/50", `{"id":50}`, `{"id":50,"address":"x"}`, t0.Add(2*time.Minute)),
		entry(4, "support", "DELETE", "/api/admin/v1/users/{user}", "users/7", `{"id":7}`, "", t0.Add(3*time.Minute)),
	} {
		got, err := s.RecordAudit(ctx, e)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if got.ID == 0 || (i > 0 && got.ID <= all[0].ID) {
			t.Fatalf("entry %d: id %d", i, got.ID)
		}
		all = append([]intercom.AuditEntry{got}, all...) // newest first
	}
	for _, tt := range []struct {
		name string
		f    intercom.AuditFilter
		want []intercom.AuditEntry
	}{
		{"all", intercom.AuditFilter{}, all},
		{"bootstrap", intercom.AuditFilter{Credential: ptr(int64(0))}, all[3:]},
		{"billing", intercom.AuditFilter{Credential: ptr(int64(3))}, all[1:3]},
		{"intercom 5 and beneath", intercom.AuditFilter{Resource: "intercoms/5"}, []intercom.AuditEntry{all[2], all[3]}},
		{"one membership", intercom.AuditFilter{Resource: "intercoms/5/members/7"}, all[2:3]},
		{"both", intercom.AuditFilter{Credential: ptr(int64(3)), Resource: "intercoms/50"}, all[1:2]},
		{"no such resource", intercom.AuditFilter{Resource: "intercoms/%"}, []intercom.AuditEntry{}},
	} {
		got, total, err := s.AuditLog(ctx, tt.f, intercom.Page{Page: 1, PerPage: 25})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" || total != len(tt.want) {
			t.Errorf("%s: total %d, -want +got:\n%s", tt.name, total, diff)
		}
	}
	if got, total, err := s.AuditLog(ctx, intercom.AuditFilter{}, intercom.Page{Page: 2, PerPage: 3}); err != nil || total != 4 ||
		!cmp.Equal(got, all[3:]) {
		t.Errorf("page 2 of 3 = %+v of %d, %v", got, total, err)
	}

	n, err := s.PurgeHistory(ctx, intercom.HistoryAuditLog, t0.Add(2*time.Minute), 10)
	if err != nil || n != 2 {
		t.Fatalf("purge before the third entry = %d, %v; want 2", n, err)
	}
	if got, _, err := s.AuditLog(ctx, intercom.AuditFilter{}, intercom.Page{Page: 1, PerPage: 25}); err != nil || !cmp.Equal(got, all[:2]) {
		t.Errorf("after the purge = %+v, %v; want the 2 newest", got, err)
	}
	if _, err := s.PurgeHistory(ctx, "audit-logs", t0, 10); !errors.Is(err, intercom.ErrUnknownHistory) {
		t.Errorf("unknown history: %v", err)
	}
}

// testAuditCommitsWithItsWrite: an admin write's pending audit entry
// (intercom.WithAudit) commits in the first write transaction that
// commits under its context, and only then: a write that fails adds none,
// nor does one that changes no row; a second write adds no second one; and
// the entry is in the log before FinishAudit gives it the write's answer,
// as when the node stops between the two.
func testAuditCommitsWithItsWrite(t *testing.T, s intercom.Store) {
	base := t.Context()
	pending := &intercom.PendingAudit{Entry: intercom.AuditEntry{CredentialName: intercom.BootstrapCredential,
		Method: "PATCH", Route: "/api/admin/v1/users/{user}", Resource: "users/x", Before: []byte(`{"login":"old"}`), At: t0}}
	ctx := intercom.WithAudit(base, pending)
	log := func() []intercom.AuditEntry {
		t.Helper()
		got, _, err := s.AuditLog(base, intercom.AuditFilter{}, intercom.Page{Page: 1, PerPage: 25})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	login := "audited"
	_, _, err := s.UpdateUser(ctx, 1<<40, intercom.UserUpdate{Login: &login}, t0)
	wantCode(t, err, intercom.ENOTFOUND)
	if pending.ID() != 0 || len(log()) != 0 {
		t.Fatalf("after a failed write: pending id %d, log %+v; want none", pending.ID(), log())
	}

	// A write that succeeds without changing a row (the uses of tokens
	// that do not exist) commits no entry either.
	if err := s.RecordTokenUses(ctx, []intercom.TokenUse{{TokenID: 1 << 40, IP: "192.0.2.1", UserAgent: "x", At: t0}}); err != nil {
		t.Fatal(err)
	}
	if pending.ID() != 0 || len(log()) != 0 {
		t.Fatalf("after a write that changed nothing: pending id %d, log %+v; want none", pending.ID(), log())
	}

	u, err := s.CreateUser(base, intercom.User{Login: "old", PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpdateUser(ctx, u.ID, intercom.UserUpdate{Login: &login}, t0); err != nil {
		t.Fatal(err)
	}
	id := pending.ID()
	want := pending.Entry
	want.ID = id
	if got := log(); id == 0 || !cmp.Equal(got, []intercom.AuditEntry{want}) {
		t.Fatalf("after the write: pending id %d, log %+v; want %+v", id, got, want)
	}

	name := "second write"
	if _, _, err := s.UpdateUser(ctx, u.ID, intercom.UserUpdate{Name: &name}, t0); err != nil {
		t.Fatal(err)
	}
	if pending.ID() != id || len(log()) != 1 {
		t.Fatalf("a second write under the same entry: id %d, log %+v", pending.ID(), log())
	}

	if err := s.FinishAudit(base, id, "users/7", []byte(`{"login":"audited"}`), 200); err != nil {
		t.Fatal(err)
	}
	want.Resource, want.After, want.Status = "users/7", []byte(`{"login":"audited"}`), 200
	if got := log(); !cmp.Equal(got, []intercom.AuditEntry{want}) {
		t.Errorf("finished: %+v; want %+v", got, want)
	}
	wantCode(t, s.FinishAudit(base, id+1000, "users/7", nil, 200), intercom.ENOTFOUND)
}
