package postgres_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"intercom"

	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/storetest"
)

// BenchmarkRingDecision is storetest.BenchRingDecision on PostgreSQL, each
// run in a fresh schema, skipped without PostgreSQL.
func BenchmarkRingDecision(b *testing.B) {
	storetest.BenchRingDecision(b, func(b *testing.B) intercom.Store { return openB(b, pgtest.Schema(b)) })
}

// openB opens a store on url for a benchmark, closed when b ends.
func openB(b *testing.B, url string) *postgres.DB {
	b.Helper()
	db, err := postgres.Open(b.Context(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkLogins is 32 writers logging in (CreateAccessToken: a device and
// its token), each login logging a roster change of every intercom its
// account is a member of (migration 0006's triggers, 0018's log): an
// account in 50 intercoms (a district's caretaker), and 400 accounts of one
// house.
func BenchmarkLogins(b *testing.B) {
	for _, tt := range []struct {
		name                string
		accounts, intercoms int
	}{{"OneAccountIn50Intercoms", 1, 50}, {"HouseOf400", 400, 1}} {
		b.Run(tt.name, func(b *testing.B) {
			db := openB(b, pgtest.Schema(b))
			ctx := b.Context()
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for ic := range tt.intercoms {
				if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: int64(ic + 1), Address: "x", SecretHash: []byte{byte(ic)},
					DoorOpenSeconds: 7, CreatedAt: at}); err != nil {
					b.Fatal(err)
				}
			}
			users := make([]int64, tt.accounts)
			for i := range users {
				u, err := db.CreateUser(ctx, intercom.User{Login: fmt.Sprint("u", i), PasswordHash: "h", CreatedAt: at, UpdatedAt: at})
				if err != nil {
					b.Fatal(err)
				}
				users[i] = u.ID
				for ic := range tt.intercoms {
					if _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: int64(ic + 1), Title: "Home",
						Status: intercom.StatusConfirmed}, at); err != nil {
						b.Fatal(err)
					}
				}
			}
			var n atomic.Int64
			b.SetParallelism(32 / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := db.CreateAccessToken(ctx, intercom.AccessToken{PublicID: fmt.Sprint("pub", i), Hash: []byte(fmt.Sprint("h", i)),
						UserID: users[int(i)%len(users)], DeviceUUID: fmt.Sprint("phone-", i), Client: "ios", CreatedAt: at,
						ExpiresAt: at.Add(time.Hour)}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkCreateCall records rings (CreateCall) of a flat's 3 devices and
// of a large house's 1,000, one after the other.
func BenchmarkCreateCall(b *testing.B) {
	for _, n := range []int{3, 1000} {
		b.Run(fmt.Sprint(n, "Devices"), func(b *testing.B) {
			db := openB(b, pgtest.Schema(b))
			ctx := b.Context()
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			if _, err := db.CreateIntercom(ctx, intercom.Intercom{ID: 1, Address: "x", SecretHash: []byte("s"), DoorOpenSeconds: 7,
				CreatedAt: at}); err != nil {
				b.Fatal(err)
			}
			devices := make([]intercom.CallDevice, n)
			for i := range devices {
				devices[i] = intercom.CallDevice{DeviceID: int64(i + 1), UserID: int64(i/2 + 1), UUID: fmt.Sprint("phone-", i),
					Client: "ios", Title: "Home", Channels: []string{intercom.ChannelWS, intercom.ChannelAPNsVoIP},
					Tokens: []string{fmt.Sprint("pub", i)}}
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := db.CreateCall(ctx, intercom.NewCall(1, nil, devices, intercom.CallLines{}, at)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
