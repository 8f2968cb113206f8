package http_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzPatchBody sends arbitrary bodies to the seed's endpoint: the answer is
// always one of the documented statuses, never a 500, and a refused body
// changes nothing.
func FuzzPatchBody(f *testing.F) {
	for _, s := range []string{seedBody, seedResponseBody, `{"title":"x"}`, `{"is_enabled":"1"}`, `{}`, `[]`, `null`,
		`{"timetable":{"days":[{"type":"monday","from":"23:59:59","to":"23:59Z"}]}}`, `{"title":"\u0000"}`, "\xff\xfe"} {
		f.Add(s)
	}
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, body string) {
		fx := w.on(t)
		before := fx.as(fx.alice, "GET", "/api/v1/intercom/180", "").Body
		res := fx.as(fx.alice, "PATCH", "/api/v1/intercom/180", body)
		switch res.Code {
		case 200:
		case 400, 413, 415, 422:
			if after := fx.as(fx.alice, "GET", "/api/v1/intercom/180", "").Body; string(after) != string(before) {
				t.Fatalf("refused body %q changed the intercom", body)
			}
		default:
			t.Fatalf("body %q → %d %s", body, res.Code, res.Body)
		}
	})
}

// FuzzClientHeaders sends arbitrary Authorization, X-Client and X-UUID
// values: 200, 401 or 422, never anything else.
func FuzzClientHeaders(f *testing.F) {
	f.Add("Bearer x", "ios", "alice-phone")
	f.Add("", "", "")
	f.Add("Bearer "+strings.Repeat("A", 43), "web", "a:b.c_d-e")
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, auth, client, uuid string) {
		fx := w.on(t)
		if auth == "=token" {
			auth = "Bearer " + fx.alice.token
		}
		req := httptest.NewRequest("GET", "http://intercomd.test/api/v1/intercom", nil)
		req.Header["Authorization"] = []string{auth}
		req.Header["X-Client"] = []string{client}
		req.Header["X-Uuid"] = []string{uuid}
		rec := httptest.NewRecorder()
		fx.srv.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 401 && rec.Code != 422 {
			t.Fatalf("%q %q %q → %d %s", auth, client, uuid, rec.Code, rec.Body)
		}
	})
}

// fuzzWorld is one seeded fixture shared by a fuzz target's runs: logging in
// costs an argon2id hash, far too slow to pay per input.
type fuzzWorld struct {
	*fixture
	alice device
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	fx := newFixture(f)
	alice, _ := fx.seedWorld()
	return &fuzzWorld{fixture: fx, alice: alice}
}

// on points the fixture's failures at the current run.
func (w *fuzzWorld) on(t *testing.T) *fuzzWorld {
	w.fixture.t = t
	return w
}
