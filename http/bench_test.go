package http_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkGetIntercom is one authenticated GET /api/v1/intercom/180 through
// the whole handler on a real SQLite file.
func BenchmarkGetIntercom(b *testing.B) {
	fx := newFixture(b)
	alice, _ := fx.seedWorld()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "http://intercomd.test/api/v1/intercom/180", nil)
			for k, v := range alice.headers() {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			fx.srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkPatchIntercom is one durable PATCH (synchronous=FULL) through the
// whole handler.
func BenchmarkPatchIntercom(b *testing.B) {
	fx := newFixture(b)
	alice, _ := fx.seedWorld()
	body := strings.NewReplacer("monday|tuesday|wednesday|thursday|friday|saturday|sunday|same_every_day", "monday",
		"10:00:00:00", "10:00:00", "09:00:00:00", "09:00:00").Replace(seedBody)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("PATCH", "http://intercomd.test/api/v1/intercom/180", strings.NewReader(body))
			for k, v := range alice.headers() {
				req.Header.Set(k, v)
			}
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			fx.srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
}
