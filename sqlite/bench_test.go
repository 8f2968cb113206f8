package sqlite_test

import (
	"path/filepath"
	"testing"

	"intercom"
	"intercom/sqlite"
	"intercom/storetest"
)

// BenchmarkRingDecision is storetest.BenchRingDecision on SQLite.
func BenchmarkRingDecision(b *testing.B) {
	storetest.BenchRingDecision(b, func(b *testing.B) intercom.Store {
		db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	})
}
