package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"intercom"
	"intercom/sqlite"
	"intercom/storetest"
)

// BenchmarkRingDecision is storetest.BenchRingDecision on SQLite: the
// candidates from the roster cache ("cached"), or read again after a write
// that changes the roster ("cold").
func BenchmarkRingDecision(b *testing.B) {
	voip := "v"
	pv := &voip
	for _, tt := range []struct {
		name   string
		before func(*testing.B, intercom.Store, time.Time)
	}{
		{"cached", nil},
		{"cold", func(b *testing.B, s intercom.Store, now time.Time) { // a device's push token changes: every roster is read again
			if err := s.UpdatePushTokens(b.Context(), 1, intercom.PushTokensUpdate{VoIP: &pv}, now); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			storetest.BenchRingDecision(b, db, tt.before)
		})
	}
}
