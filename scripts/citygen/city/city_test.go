package city_test

import (
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"intercom/scripts/citygen/city"
	"intercom/sqlite"
)

var day = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// TestLoadSQLite loads a small city and reads it back through the store:
// every hot path of every sample resident works, the rows hang together,
// and a second load into the same database is refused.
func TestLoadSQLite(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "city.db")
	cfg := city.Config{Flats: 500, Seed: 7, CallsPerFlatWeek: 2, Weeks: 8, Now: day}
	res, err := city.Load(ctx, path, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, l := range res.Tables {
		rows[l.Name] = l.Rows
	}
	if rows["calls"] < 500*2*8*8/10 || rows["calls"] > 500*2*8*12/10 {
		t.Errorf("%d calls for 500 flats at 2 a week for 8 weeks", rows["calls"])
	}
	if rows["devices"] < 900 || rows["devices"] > 1150 || rows["intercoms"] < 18 || rows["intercoms"] > 42 {
		t.Errorf("%d devices and %d intercoms for 500 flats", rows["devices"], rows["intercoms"])
	}

	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, check := range []struct{ name, query string }{
		{"a call's devices are its flat's", `SELECT count(*) FROM call_devices cd JOIN calls c ON c.id = cd.call_id
			JOIN devices d ON d.id = cd.device_id JOIN memberships m ON m.user_id = d.user_id
			WHERE m.intercom_id <> c.intercom_id OR m.flat <> c.flat`},
		{"every call rang every device of its flat", `SELECT count(*) FROM calls c WHERE (SELECT count(*) FROM call_devices WHERE call_id = c.id) <>
			(SELECT count(*) FROM memberships m JOIN devices d ON d.user_id = m.user_id WHERE m.intercom_id = c.intercom_id AND m.flat = c.flat)`},
		{"a device's settings are for its intercom", `SELECT count(*) FROM device_settings s JOIN devices d ON d.id = s.device_id
			JOIN memberships m ON m.user_id = d.user_id WHERE m.intercom_id <> s.intercom_id`},
		{"an answered call was answered by a device of its flat", `SELECT count(*) FROM calls c WHERE c.answered_by IS NOT NULL AND NOT EXISTS
			(SELECT 1 FROM call_devices WHERE call_id = c.id AND device_id = c.answered_by)`},
		{"flats lie within their intercom's range", `SELECT count(*) FROM memberships m JOIN intercoms i ON i.id = m.intercom_id
			WHERE m.flat NOT BETWEEN i.first_flat AND i.last_flat`},
		{"foreign keys", `SELECT count(*) FROM pragma_foreign_key_check`},
	} {
		var n int
		if err := conn.QueryRowContext(ctx, check.query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", check.name, err)
		}
		if n != 0 {
			t.Errorf("%s: %d rows break it", check.name, n)
		}
	}
	conn.Close()

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Samples {
		for _, hp := range city.HotPaths(db, s, day.Add(time.Hour)) {
			if err := hp.Run(ctx); err != nil {
				t.Errorf("%s as %s: %v", hp.Name, s.Login, err)
			}
		}
	}
	db.Close()

	if _, err := city.Load(ctx, path, cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "holds rows") {
		t.Errorf("a second load: %v, want it refused", err)
	}
}

// TestDeterministic: the same configuration makes the same rows, another
// seed others.
func TestDeterministic(t *testing.T) {
	cfg := city.Config{Flats: 300, Seed: 3, CallsPerFlatWeek: 1, Weeks: 4, Now: day}
	render := func(cfg city.Config) string {
		c, err := city.New(cfg, "hash")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, tb := range c.Tables() {
			for row := range tb.Rows {
				fmt.Fprintln(&b, tb.Name, row)
			}
		}
		return b.String()
	}
	a, b := render(cfg), render(cfg)
	if a != b {
		t.Error("two cities of one configuration differ")
	}
	cfg.Seed++
	if render(cfg) == a {
		t.Error("another seed made the same city")
	}
	c1, _ := city.New(city.Config{Flats: 300, Seed: 3, Now: day}, "")
	c2, _ := city.New(city.Config{Flats: 300, Seed: 3, Now: day}, "")
	if !reflect.DeepEqual(c1.Samples(3), c2.Samples(3)) {
		t.Error("the samples differ")
	}
}
