package intercom_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"intercom"
)

func body(t *testing.T, s string) intercom.Body {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var b map[string]any
	if err := d.Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

func fieldKeys(err error) []string {
	var keys []string
	if e, ok := err.(*intercom.Error); ok {
		for _, f := range e.Fields {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

func TestParseNewUser(t *testing.T) {
	u, err := intercom.ParseNewUser(body(t, `{"login": " alice ", "password": "12345678"}`))
	if err != nil || u.Login != "alice" || u.Name != "alice" || u.Password != "12345678" {
		t.Fatalf("ParseNewUser = %+v, %v; want the login as name", u, err)
	}
	_, err = intercom.ParseNewUser(body(t, `{"login": 5, "password": "short", "name": []}`))
	if got := fieldKeys(err); !slices.Equal(got, []string{"login", "password", "name"}) {
		t.Fatalf("problems on %v, want login, password, name", got)
	}
}

func TestParseNewIntercom(t *testing.T) {
	now := time.Date(2022, 4, 20, 12, 0, 0, 0, time.UTC)
	never := func(string) string { t.Fatal("checkURL called"); return "" }
	ic, err := intercom.ParseNewIntercom(body(t, `{"address": " Cameras "}`), now, never)
	if err != nil || ic.Address != "Cameras" || ic.DoorOpenSeconds != intercom.DefaultDoorOpenSeconds || !ic.CreatedAt.Equal(now) || ic.ControlURL != nil {
		t.Fatalf("ParseNewIntercom = %+v, %v", ic, err)
	}
	// A URL that is not absolute http(s) is not checked further; every
	// problem is reported at once.
	_, err = intercom.ParseNewIntercom(body(t, `{"door_open_seconds": 0, "control_url": "ftp://x"}`), now, never)
	if got := fieldKeys(err); !slices.Equal(got, []string{"address", "door_open_seconds", "control_url"}) {
		t.Fatalf("problems on %v", got)
	}
	ic, err = intercom.ParseNewIntercom(body(t, `{"address": "a", "first_flat": 10, "last_flat": 20, "is_open_door_code": true}`), now, never)
	if err != nil || *ic.FirstFlat != 10 || *ic.LastFlat != 20 || !ic.OpenDoorCode || ic.OpenDoorKey {
		t.Fatalf("with settings: %+v, %v", ic, err)
	}
	_, err = intercom.ParseNewIntercom(body(t, `{"address": "a", "first_flat": 20, "last_flat": 10}`), now, never)
	if got := fieldKeys(err); !slices.Equal(got, []string{"last_flat"}) {
		t.Fatalf("a reversed range: problems on %v", got)
	}
	var checked string
	_, err = intercom.ParseNewIntercom(body(t, `{"address": "a", "control_url": "http://169.254.169.254/"}`), now,
		func(u string) string { checked = u; return "metadata" })
	if checked != "http://169.254.169.254/" || !slices.Equal(fieldKeys(err), []string{"control_url"}) {
		t.Fatalf("checked %q, problems %v", checked, fieldKeys(err))
	}
}

func TestParseMembership(t *testing.T) {
	m, err := intercom.ParseMembership(body(t, `{"title": " Home ", "status": "confirmed", "flat": "15"}`), 180, 7)
	if err != nil || m.Title != "Home" || m.Status != intercom.StatusConfirmed || m.Flat == nil || *m.Flat != 15 || m.IntercomID != 180 || m.UserID != 7 {
		t.Fatalf("ParseMembership = %+v, %v", m, err)
	}
	_, err = intercom.ParseMembership(body(t, `{"title": "", "status": "owner", "flat": -1}`), 180, 7)
	if got := fieldKeys(err); !slices.Equal(got, []string{"title", "status", "flat"}) {
		t.Fatalf("problems on %v", got)
	}
	_, err = intercom.ParseMembership(body(t, `{"title": "x"}`), 180, 7)
	if got := fieldKeys(err); !slices.Equal(got, []string{"status"}) {
		t.Fatalf("a missing status: problems on %v", got)
	}
}
