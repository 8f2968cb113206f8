package postgres_test

import (
	"testing"

	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/storetest"
)

// BenchmarkRingDecision is storetest.BenchRingDecision on PostgreSQL, in a
// fresh database, skipped without PostgreSQL. The engine caches nothing, so
// every ring is what SQLite calls "cold".
func BenchmarkRingDecision(b *testing.B) {
	storetest.BenchRingDecision(b, openB(b, pgtest.Schema(b)), nil)
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
