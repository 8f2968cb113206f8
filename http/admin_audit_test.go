package http_test

import (
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"intercom"
	"intercom/node"
)

// adminAs sends an admin API request with token.
func (f *fixture) adminAs(token, method, path, body string) *response {
	f.t.Helper()
	return f.do(request{method: method, path: path, body: body, headers: map[string]string{"Authorization": "Bearer " + token}})
}

// credential creates a named admin credential and returns its id and token.
func (f *fixture) credential(name string) (int64, string) {
	f.t.Helper()
	v := f.want(f.admin("POST", "/api/admin/v1/credentials", `{"name":"`+name+`"}`), 201).JSON(f.t)
	return int64(v["id"].(float64)), v["token"].(string)
}

// A named credential works on every node sharing the store, is listed
// without its token, and once revoked (on either node) is refused at once
// by both, with the body of a wrong token. The bootstrap token still works.
func TestAdminCredentialRevokedOnEveryNode(t *testing.T) {
	f := newFixture(t)
	other := newFixtureOn(t, f) // a second node on the same database

	res := f.want(f.admin("POST", "/api/admin/v1/credentials", `{"name":" billing "}`), 201)
	v := res.JSON(t)
	token := v["token"].(string)
	id := int64(v["id"].(float64))
	if len(token) < 32 || v["name"] != "billing" {
		t.Fatalf("created %s: want a token of 32 characters at least and the name trimmed", res.Body)
	}
	_, token2 := f.credential("support")
	if token2 == token {
		t.Fatal("two credentials got the same token")
	}

	for _, node := range []*fixture{f, other} {
		node.want(node.adminAs(token, "GET", "/api/admin/v1/users", ""), 200)
	}
	list := f.want(f.adminAs(token, "GET", "/api/admin/v1/credentials", ""), 200)
	items, total := dataOf(t, list)
	if total != 2 || !cmp.Equal(fieldOf(items, "name"), []any{"billing", "support"}) {
		t.Errorf("credentials: %s", list.Body)
	}
	if strings.Contains(string(list.Body), token) || strings.Contains(string(list.Body), `"token"`) {
		t.Errorf("the list shows a token: %s", list.Body)
	}
	got := f.want(f.admin("GET", "/api/admin/v1/credentials/"+itoa(id), ""), 200).JSON(t)
	if got["name"] != "billing" || got["token"] != nil {
		t.Errorf("GET credential: %v", got)
	}

	// Revoked through the second node with the credential itself.
	other.want(other.adminAs(token, "DELETE", "/api/admin/v1/credentials/"+itoa(id), ""), 204)
	wrong := f.want(f.adminAs("not-a-token-of-anyone-at-all-1234567890", "GET", "/api/admin/v1/users", ""), 401)
	for _, node := range []*fixture{f, other} {
		for _, rq := range []struct{ method, path, body string }{
			{"GET", "/api/admin/v1/users", ""},
			{"POST", "/api/admin/v1/users", `{"login":"mallory","password":"password-of-mallory"}`},
			{"POST", "/api/admin/v1/credentials", `{"name":"again"}`},
		} {
			res := node.want(node.adminAs(token, rq.method, rq.path, rq.body), 401)
			if string(res.Body) != string(wrong.Body) {
				t.Errorf("revoked: %s, want the body of a wrong token %s", res.Body, wrong.Body)
			}
		}
		node.want(node.adminAs(token2, "GET", "/api/admin/v1/users", ""), 200)
		node.want(node.admin("GET", "/api/admin/v1/users", ""), 200) // bootstrap
	}
	f.want(f.admin("DELETE", "/api/admin/v1/credentials/"+itoa(id), ""), 404)
	if _, total := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/credentials", ""), 200)); total != 1 {
		t.Errorf("after the revocation %d credentials are listed, want 1", total)
	}
	if _, err := f.store.UserByLogin(t.Context(), "mallory"); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Errorf("the revoked credential's write was made: %v", err)
	}
}

// Bad credential writes are 422 naming the field; garbage ids are 404; a
// page of 10,000 is 422.
func TestAdminCredentialBadInput(t *testing.T) {
	f := newFixture(t)
	f.credential("billing")
	for _, tt := range []struct {
		name, body, field string
	}{
		{"empty", `{"name":""}`, "name"},
		{"blank", `{"name":"   "}`, "name"},
		{"missing", `{}`, "name"},
		{"not a string", `{"name":5}`, "name"},
		{"too long", `{"name":"` + strings.Repeat("n", 65) + `"}`, "name"},
		{"duplicate", `{"name":"billing"}`, "name"},
		{"duplicate after trimming", `{"name":" billing"}`, "name"},
		{"the bootstrap's", `{"name":"bootstrap"}`, "name"},
		{"unknown field", `{"name":"ops","scope":"all"}`, "scope"},
		{"read-only field", `{"name":"ops","id":7}`, "id"},
		{"a token of one's choosing", `{"name":"ops","token":"0123456789abcdef0123456789abcdef"}`, "token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.want(f.admin("POST", "/api/admin/v1/credentials", tt.body), 422)
			errs, _ := res.JSON(t)["errors"].(map[string]any)
			if _, ok := errs[tt.field]; !ok || len(errs) != 1 {
				t.Errorf("errors %v, want one on %s", errs, tt.field)
			}
		})
	}
	f.want(f.admin("POST", "/api/admin/v1/credentials", `{"name":"`+strings.Repeat("n", 64)+`"}`), 201)
	if _, total := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/credentials", ""), 200)); total != 2 {
		t.Errorf("%d credentials, want 2: a refused one was made", total)
	}

	for _, path := range []string{"/api/admin/v1/credentials?per_page=10000", "/api/admin/v1/audit?per_page=10000",
		"/api/admin/v1/credentials?page=10000000000", "/api/admin/v1/audit?page=10000000000",
		"/api/admin/v1/audit?credential=abc", "/api/admin/v1/audit?credential=-1",
		"/api/admin/v1/audit?resource=" + strings.Repeat("x", 300)} {
		f.want(f.admin("GET", path, ""), 422)
	}
	for _, id := range []string{"abc", "0", "-1", "+1", "1e3", "99999999", "9223372036854775808", "%00"} {
		f.want(f.admin("GET", "/api/admin/v1/credentials/"+id, ""), 404)
		f.want(f.admin("DELETE", "/api/admin/v1/credentials/"+id, ""), 404)
	}
}

// auditEntries reads the whole audit log (at most 100 entries) through the
// API, newest first.
func (f *fixture) auditEntries(query string) []map[string]any {
	f.t.Helper()
	items, _ := dataOf(f.t.(*testing.T), f.want(f.admin("GET", "/api/admin/v1/audit?per_page=100"+query, ""), 200))
	return items
}

// Every admin write that succeeds is audited with its credential, route,
// resource, the resource before and the answer after, newest first; failed
// writes are not; the filters keep one credential's or one resource's.
func TestAuditLog(t *testing.T) {
	f := newFixture(t)
	opsID, ops := f.credential("ops")
	user := f.user("alice")
	f.want(f.adminAs(ops, "PATCH", "/api/admin/v1/users/"+itoa(user), `{"name":"Alice B."}`), 200)
	ic := f.intercom(`{"address":"Lenina 1"}`)
	f.want(f.adminAs(ops, "PUT", "/api/admin/v1/intercoms/"+itoa(ic)+"/members/"+itoa(user),
		`{"title":"Home","status":"confirmed"}`), 200)
	f.want(f.admin("PATCH", "/api/admin/v1/intercoms/"+itoa(ic), `{"is_open_door_key":true}`), 200)
	f.want(f.adminAs(ops, "PUT", "/api/admin/v1/intercoms/"+itoa(ic)+"/keys/04A1", `{"note":"fob 1"}`), 201)
	f.want(f.adminAs(ops, "PUT", "/api/admin/v1/intercoms/"+itoa(ic)+"/keys/04A1", `{"note":"fob 2"}`), 200)
	f.want(f.adminAs(ops, "DELETE", "/api/admin/v1/intercoms/"+itoa(ic)+"/keys/04A1", ""), 204)
	keyLog := f.auditEntries("&resource=intercoms/" + itoa(ic) + "/keys/04A1")
	if len(keyLog) != 3 || keyLog[2]["before"] != nil || keyLog[1]["before"].(map[string]any)["note"] != "fob 1" ||
		keyLog[1]["after"].(map[string]any)["note"] != "fob 2" || keyLog[0]["before"].(map[string]any)["note"] != "fob 2" {
		t.Errorf("a key's audit log (newest first): %v", keyLog)
	}
	f.want(f.admin("GET", "/api/admin/v1/intercoms/"+itoa(ic)+"/keys/04A1", ""), 404)
	// Failed writes are not audited.
	f.want(f.adminAs(ops, "PATCH", "/api/admin/v1/users/99999", `{"name":"x"}`), 404)
	f.want(f.adminAs(ops, "POST", "/api/admin/v1/users", `{"login":"bob","password":"pw","colour":"red"}`), 422)
	f.want(f.admin("DELETE", "/api/admin/v1/users/"+itoa(user), ""), 204)

	entries := f.auditEntries("")
	type row struct {
		Credential, Method, Route, Resource string
		Status                              float64
	}
	var got []row
	for _, e := range entries {
		status, _ := e["status"].(float64)
		got = append(got, row{e["credential_name"].(string), e["method"].(string), e["route"].(string), e["resource"].(string), status})
	}
	u, i := "users/"+itoa(user), "intercoms/"+itoa(ic)
	want := []row{
		{"bootstrap", "DELETE", "/api/admin/v1/users/{user}", u, 204},
		{"ops", "DELETE", "/api/admin/v1/intercoms/{intercom}/keys/{key}", i + "/keys/04A1", 204},
		{"ops", "PUT", "/api/admin/v1/intercoms/{intercom}/keys/{key}", i + "/keys/04A1", 200},
		{"ops", "PUT", "/api/admin/v1/intercoms/{intercom}/keys/{key}", i + "/keys/04A1", 201},
		{"bootstrap", "PATCH", "/api/admin/v1/intercoms/{intercom}", i, 200},
		{"ops", "PUT", "/api/admin/v1/intercoms/{intercom}/members/{user}", i + "/members/" + itoa(user), 200},
		{"bootstrap", "POST", "/api/admin/v1/intercoms", i, 201},
		{"ops", "PATCH", "/api/admin/v1/users/{user}", u, 200},
		{"bootstrap", "POST", "/api/admin/v1/users", u, 201},
		{"bootstrap", "POST", "/api/admin/v1/credentials", "credentials/" + itoa(opsID), 201},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("audit log (-want +got):\n%s", diff)
	}
	patch := entries[7]
	if patch["credential_id"] != float64(opsID) || entries[0]["credential_id"] != nil {
		t.Errorf("credential ids: %v (ops is %d), bootstrap's %v", patch["credential_id"], opsID, entries[0]["credential_id"])
	}
	if b, a := patch["before"].(map[string]any), patch["after"].(map[string]any); b["name"] != "alice" || a["name"] != "Alice B." {
		t.Errorf("PATCH before %v after %v", patch["before"], patch["after"])
	}
	if entries[8]["before"] != nil || entries[8]["after"].(map[string]any)["login"] != "alice" {
		t.Errorf("creation: before %v after %v", entries[8]["before"], entries[8]["after"])
	}
	if del := entries[0]; del["after"] != nil || del["before"].(map[string]any)["name"] != "Alice B." {
		t.Errorf("deletion: before %v after %v", del["before"], del["after"])
	}
	if put := entries[5]; put["before"] != nil || put["after"].(map[string]any)["title"] != "Home" {
		t.Errorf("new membership: before %v after %v", put["before"], put["after"])
	}

	for _, tt := range []struct {
		query string
		want  int
	}{
		{"&credential=" + itoa(opsID), 5},
		{"&credential=bootstrap", 5},
		{"&resource=" + i, 6},
		{"&resource=/api/admin/v1/" + u + "/", 3},
		{"&resource=" + i + "/members", 1},
		{"&resource=" + i + "/member", 0}, // a path's segments, not a prefix of the string
		{"&resource=users/%25", 0},
		{"&resource=" + url.QueryEscape("' OR 1=1 --"), 0},
		{"&credential=" + itoa(opsID) + "&resource=" + u, 1},
	} {
		if n := len(f.auditEntries(tt.query)); n != tt.want {
			t.Errorf("%s: %d entries, want %d", tt.query, n, tt.want)
		}
	}
	items, total := dataOf(t, f.want(f.admin("GET", "/api/admin/v1/audit?per_page=2&page=5", ""), 200))
	if total != 10 || len(items) != 2 || items[1]["resource"] != "credentials/"+itoa(opsID) {
		t.Errorf("page 5 of 2: %v of %d", fieldOf(items, "resource"), total)
	}
}

// The audit log never holds a password, an intercom's secret (made or
// rotated), a SIP password or a credential's token: each is "[redacted]".
func TestAuditLogHoldsNoSecret(t *testing.T) {
	var logs lockedBuffer
	f := newFixtureWith(t, func(c *node.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	var secrets []string
	res := f.want(f.admin("POST", "/api/admin/v1/users", `{"login":"alice","password":"first-password-of-alice"}`), 201)
	user := itoa(int64(res.JSON(t)["id"].(float64)))
	secrets = append(secrets, "first-password-of-alice")
	f.want(f.admin("PATCH", "/api/admin/v1/users/"+user, `{"password":"second-password-of-alice"}`), 200)
	f.want(f.admin("POST", "/api/admin/v1/users/"+user+"/password", `{"password":"third-password-of-alice"}`), 204)
	secrets = append(secrets, "second-password-of-alice", "third-password-of-alice")

	v := f.want(f.admin("POST", "/api/admin/v1/intercoms", `{"address":"Lenina 1"}`), 201).JSON(t)
	ic := itoa(int64(v["id"].(float64)))
	secrets = append(secrets, v["secret"].(string), v["sip"].(map[string]any)["password"].(string))
	rotated := f.want(f.admin("POST", "/api/admin/v1/intercoms/"+ic+"/secret", ""), 200).JSON(t)["secret"].(string)
	sip := f.want(f.admin("POST", "/api/admin/v1/intercoms/"+ic+"/sip-credentials", ""), 200).JSON(t)["password"].(string)
	_, token := f.credential("ops")
	secrets = append(secrets, rotated, sip, token)

	// Each write is logged at info with its credential and resource, never a secret.
	out := logs.take()
	if n := strings.Count(out, `"msg":"admin write","request_id"`); n != 7 || !strings.Contains(out, `"resource":"intercoms/`+ic+`"`) {
		t.Errorf("%d admin writes logged, want 7:\n%s", n, out)
	}
	for _, secret := range secrets {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds secret %q", secret)
		}
	}

	raw := string(f.want(f.admin("GET", "/api/admin/v1/audit?per_page=100", ""), 200).Body)
	stored, _, err := f.store.AuditLog(t.Context(), intercom.AuditFilter{}, intercom.Page{Page: 1, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 7 {
		t.Fatalf("%d entries, want 7", len(stored))
	}
	for _, e := range stored {
		raw += string(e.Before) + string(e.After)
	}
	for _, secret := range secrets {
		if strings.Contains(raw, secret) {
			t.Errorf("the audit log holds secret %q", secret)
		}
	}
	// The answers are there, with their secrets redacted.
	var rotation map[string]any
	for _, e := range stored {
		if e.Route == "/api/admin/v1/intercoms/{intercom}/secret" {
			if err := json.Unmarshal(e.After, &rotation); err != nil {
				t.Fatal(err)
			}
			if e.Resource != "intercoms/"+ic || !strings.Contains(string(e.Before), `"address":"Lenina 1"`) {
				t.Errorf("rotation: resource %s before %s", e.Resource, e.Before)
			}
		}
	}
	if rotation["secret"] != intercom.Redacted {
		t.Errorf("rotation's answer in the audit log: %v", rotation)
	}
}
