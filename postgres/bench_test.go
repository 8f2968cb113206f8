package postgres_test

import (
	"testing"

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
