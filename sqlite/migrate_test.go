package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"intercom"
	"intercom/sqlite"
)

// A database made by migrations 0001-0004, holding data, is rebuilt by 0005
// with its rows, foreign keys and indexes intact, and ids given after that
// are never given again.
func TestMigration0005KeepsDataAndStopsIDReuse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	mustExec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for v, name := range []string{"0001_init.sql", "0002_calls.sql", "0003_sends.sql", "0004_control.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		mustExec(string(body))
		mustExec(`INSERT INTO schema_migrations VALUES (?, 0)`, v+1)
	}
	mustExec(`INSERT INTO users VALUES (1, 'alice', 'h', 'Alice', 0, 0), (2, 'bob', 'h', 'Bob', 0, 0)`)
	mustExec(`INSERT INTO devices (id, user_id, uuid, client, created_at, updated_at) VALUES (1, 1, 'a-phone', 'ios', 0, 0), (2, 2, 'b-phone', 'ios', 0, 0)`)
	mustExec(`INSERT INTO access_tokens VALUES (1, 'pub-a', x'0a', 1, 1, 0, ?, NULL), (2, 'pub-b', x'0b', 2, 2, 0, ?, NULL)`,
		time.Now().Add(time.Hour).UnixMicro(), time.Now().Add(time.Hour).UnixMicro())
	mustExec(`INSERT INTO intercoms (id, address, department, secret_hash, door_open_seconds, created_at) VALUES (180, 'Cameras', 100, x'01', 7, 0)`)
	mustExec(`INSERT INTO memberships VALUES (1, 180, 15, 'House', 'confirmed', 0, 0), (2, 180, 16, 'Flat', 'confirmed', 0, 0)`)
	tt, err := intercom.Timetable{}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mustExec(`INSERT INTO device_settings VALUES (1, 180, 0, ?, 0)`, tt)
	mustExec(`INSERT INTO calls (id, intercom_id, status, created_at) VALUES (7, 180, 'missed', 0)`)
	mustExec(`INSERT INTO call_accounts VALUES (1, 7)`)
	mustExec(`INSERT INTO control_log VALUES (3, 180, 'door.open', NULL, 1, 'a-phone', 0, 1, 204, '', 0)`)
	raw.Close()

	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("migrating: %v", err)
	}
	defer db.Close()
	ctx := t.Context()
	if u, err := db.UserByLogin(ctx, "alice"); err != nil || u.ID != 1 {
		t.Fatalf("alice after the migration: %+v, %v", u, err)
	}
	tok, err := db.AccessTokenByHash(ctx, []byte{0x0a})
	if err != nil || tok.DeviceUUID != "a-phone" {
		t.Fatalf("alice's token after the migration: %+v, %v", tok, err)
	}
	v := intercom.Viewer{UserID: 1, DeviceID: 1}
	if iv, err := db.Intercom(ctx, v, 180); err != nil || iv.Membership.Title != "House" || iv.Settings.IsEnabled {
		t.Fatalf("alice's intercom after the migration: %+v, %v", iv, err)
	}
	if _, total, err := db.CallsOf(ctx, 1, intercom.CallFilter{}, intercom.Page{Page: 1, PerPage: 25}); err != nil || total != 1 {
		t.Fatalf("alice's calls after the migration: %d, %v", total, err)
	}
	if _, total, err := db.ControlLog(ctx, 180, "", intercom.Page{Page: 1, PerPage: 25}); err != nil || total != 1 {
		t.Fatalf("control log after the migration: %d, %v", total, err)
	}

	// Foreign keys still cascade: deleting bob takes his device, token and
	// membership.
	if err := db.DeleteUser(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AccessTokenByHash(ctx, []byte{0x0b}); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Fatalf("bob's token outlived him: %v", err)
	}
	if members, err := db.IntercomMembers(ctx, 180); err != nil || !slices.Equal(members, []int64{1}) {
		t.Fatalf("members after bob's deletion: %v, %v", members, err)
	}
	// ...and his ids are not given again.
	carol, err := db.CreateUser(ctx, intercom.User{Login: "carol", PasswordHash: "h"})
	if err != nil || carol.ID <= 2 {
		t.Fatalf("carol: %+v, %v; want an id above 2", carol, err)
	}

	check, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	rows, err := check.Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var indexes []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		indexes = append(indexes, n)
	}
	rows.Close()
	want := []string{"access_tokens_device", "access_tokens_live", "calls_live_number", "calls_ringing", "control_log_intercom",
		"device_settings_intercom", "devices_user", "intercoms_online", "intercoms_secret_hash", "memberships_intercom_flat"}
	// Later migrations add indexes of their own; those of 0001-0006 must all be there.
	for _, name := range want {
		if !slices.Contains(indexes, name) {
			t.Errorf("indexes %v lack %s", indexes, name)
		}
	}
	var fk int
	if err := check.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil || fk != 0 {
		t.Errorf("foreign_key_check: %d rows, %v", fk, err)
	}
	var leftovers int
	check.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name LIKE '%\_new' ESCAPE '\'`).Scan(&leftovers)
	if leftovers != 0 {
		t.Errorf("%d *_new tables left behind", leftovers)
	}
}
