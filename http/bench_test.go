package http_test

import (
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"intercom"
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
func BenchmarkPatchIntercom(b *testing.B) { benchPatch(b, 1) }

// BenchmarkPatchOneDevice64 is BenchmarkPatchIntercom from 64 concurrent
// clients, all of one device: the writes of one membership and one
// device_settings row contend (issue 19: ≥ 1,500/s on PostgreSQL).
func BenchmarkPatchOneDevice64(b *testing.B) { benchPatch(b, 64/runtime.GOMAXPROCS(0)) }

// benchPatch PATCHes alice's intercom 180 from parallelism goroutines per
// CPU.
func benchPatch(b *testing.B, parallelism int) {
	fx := newFixture(b)
	alice, _ := fx.seedWorld()
	body := strings.NewReplacer("monday|tuesday|wednesday|thursday|friday|saturday|sunday|same_every_day", "monday",
		"10:00:00:00", "10:00:00", "09:00:00:00", "09:00:00").Replace(seedBody)
	b.ReportAllocs()
	b.SetParallelism(parallelism)
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

// BenchmarkRing is one POST /api/hw/v1/ring at a flat of two devices
// through the whole handler: the ring decision, the flat's lines, the call
// written. No push provider is configured, so both devices are skipped
// (no_channel) and the call is missed at once: what is measured is the
// ring's own work, not delivery.
func BenchmarkRing(b *testing.B) {
	fx := newFixture(b)
	id, secret := fx.provision(`{"address":"Lenina 1"}`)
	alice := fx.user("alice")
	fx.memberOf(id, alice, "15", "confirmed")
	fx.loginAs("alice", "alice-phone", "android")
	fx.loginAs("alice", "alice-tablet", "android")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "http://intercomd.test/api/hw/v1/ring", strings.NewReader(`{"flat":15}`))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			fx.srv.ServeHTTP(rec, req)
			if rec.Code != 201 {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkPatch1000Devices is PATCH /api/v1/intercom/{id} from 64
// concurrent clients across 1,000 devices, one account each, 20 flats an
// intercom (50 intercoms), each PATCH turning its device's is_enabled over:
// a real change, which logs a change of its intercom's roster (issue 19:
// ≥ 3,000/s on PostgreSQL).
func BenchmarkPatch1000Devices(b *testing.B) {
	fx := newFixture(b)
	ctx := b.Context()
	const devices, perIntercom = 1000, 20
	type target struct {
		path, token, uuid string
		on                atomic.Bool
	}
	targets := make([]*target, devices)
	for i := range devices {
		icID := int64(1000 + i/perIntercom)
		if i%perIntercom == 0 {
			if _, err := fx.store.CreateIntercom(ctx, intercom.Intercom{ID: icID, Address: "House " + itoa(icID), Department: 100,
				SecretHash: []byte("x" + itoa(icID)), DoorOpenSeconds: 7, CreatedAt: start}); err != nil {
				b.Fatal(err)
			}
		}
		u, err := fx.store.CreateUser(ctx, intercom.User{Login: "resident" + itoa(int64(i)), PasswordHash: "x", CreatedAt: start, UpdatedAt: start})
		if err != nil {
			b.Fatal(err)
		}
		flat := int64(i%perIntercom + 1)
		if _, err := fx.store.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: icID, Flat: &flat,
			Title: "Home", Status: intercom.StatusConfirmed}, start); err != nil {
			b.Fatal(err)
		}
		uuid := "phone-" + itoa(int64(i))
		secret, tok := intercom.NewAccessToken(u.ID, uuid, "ios", time.Now(), time.Hour)
		if _, err := fx.store.CreateAccessToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
		targets[i] = &target{path: "http://intercomd.test/api/v1/intercom/" + itoa(icID), token: secret, uuid: uuid}
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(64 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tg := targets[next.Add(1)%devices]
			on := !tg.on.Load()
			tg.on.Store(on)
			req := httptest.NewRequest("PATCH", tg.path, strings.NewReader(`{"is_enabled":`+strconv.FormatBool(on)+`}`))
			req.Header.Set("Authorization", "Bearer "+tg.token)
			req.Header.Set("X-Client", "ios")
			req.Header.Set("X-UUID", tg.uuid)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			fx.srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
}
