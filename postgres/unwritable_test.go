package postgres_test

import (
	"testing"

	"intercom/postgres/pgtest"
	"intercom/storetest"
)

// A database the server makes read-only (default_transaction_read_only, as
// a standby or an operator's ALTER DATABASE does) refuses writes as
// ErrUnwritable (25006), and takes them again once it is writable.
func TestUnwritable(t *testing.T) {
	url, setReadOnly := pgtest.NewReadOnlyDatabase(t)
	db := open(t, url)
	storetest.Unwritable(t, db,
		func(*testing.T) { setReadOnly(true); db.Reconnect() },
		func(*testing.T) { setReadOnly(false); db.Reconnect() })
}
