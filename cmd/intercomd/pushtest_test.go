package main

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"intercom/apns/apnsfake"
	"intercom/fcm/fcmfake"
	"intercom/hms/hmsfake"
	"intercom/postgres/pgtest"
)

// TestPushTest: `intercomd push-test --device ID` pushes to each token the
// device registered, through providers configured by serve's flags and
// variables, and prints what each provider answered; it reads the SQLite
// database while a node serves it, and fails when a provider refuses a
// push, when no provider serves a token, and for a device that does not
// exist. The providers are the repository's fakes, speaking the real
// protocols. On PostgreSQL it reads the database as a node does.
func TestPushTest(t *testing.T) {
	apnsFake, apnsCfg := apnsfake.Start(t)
	fcmFake, fcmCfg := fcmfake.Start(t)
	hmsFake, hmsCfg := hmsfake.Start(t)
	db := filepath.Join(t.TempDir(), "push-test.db")
	n := runNode(t, t, "push-test", map[string]string{"INTERCOMD_ADMIN_TOKEN": listenerAdminToken},
		"serve", "--addr", "127.0.0.1:0", "--db", db)
	n.want(t, "POST", "/api/admin/v1/users", bearer(listenerAdminToken), `{"login":"pusher","password":"password-of-pusher"}`, 201)
	register := func(client, uuid, tokens string) string {
		t.Helper()
		v := n.want(t, "POST", "/api/v1/token", map[string]string{"X-Client": client, "X-UUID": uuid},
			`{"login":"pusher","password":"password-of-pusher"}`, 200)
		n.want(t, "PUT", "/api/v1/devices", map[string]string{"X-Client": client, "X-UUID": uuid,
			"Authorization": "Bearer " + v["access_token"].(string)}, tokens, 204)
		return deviceID(t, db, uuid)
	}
	android := register("android", "push-test-android", `{"fcm_token":"fcm-token-android1","huawei_token":"hms-token-android1"}`)
	iphone := register("ios", "push-test-iphone", `{"voip_token":"voip-token-iphone1","apn_token":"unregistered"}`)
	bare := register("android", "push-test-bare", `{}`)

	// The fakes' own certificates: what flags cannot say.
	trustFakes := func(c *config) {
		c.apns.TLS, c.fcm.HTTPClient, c.hms.HTTP = apnsCfg.TLS, fcmCfg.HTTPClient, hmsCfg.HTTP
	}
	pushTestRun := func(args []string, env map[string]string) (string, error) {
		var out bytes.Buffer
		err := pushTest(t.Context(), args, env, &out, &bytes.Buffer{}, trustFakes)
		return out.String(), err
	}

	t.Run("accepted", func(t *testing.T) {
		// FCM by flags, Push Kit by variables (as under systemd), and a
		// variable of serve's that push-test has no use for.
		out, err := pushTestRun([]string{"--device", android, "--db", db,
			"--fcm-credentials", fcmCfg.CredentialsFile, "--fcm-endpoint", fcmCfg.Endpoint},
			map[string]string{"INTERCOMD_HMS_APP_ID": hmsCfg.AppID, "INTERCOMD_HMS_APP_SECRET": hmsCfg.AppSecret,
				"INTERCOMD_HMS_TOKEN_URL": hmsCfg.TokenURL, "INTERCOMD_HMS_ENDPOINT": hmsCfg.Endpoint, "INTERCOMD_RING_TIMEOUT": "30s"})
		if err != nil {
			t.Fatalf("push-test: %v\n%s", err, out)
		}
		wantLines(t, out,
			`^device `+android+` \(android, push-test-android\) of user \d+$`,
			`^fcm fcm_token=…droid1 outcome=sent status=200 reason="" provider_id="projects/test-project/messages/0:\d+"$`,
			`^hms huawei_token=…droid1 outcome=sent status=200 reason="[^"]*" provider_id="req-\d+"$`)
		if got := fcmFake.Received(); len(got) != 1 || got[0].Token != "fcm-token-android1" {
			t.Errorf("FCM received %+v, want one message to fcm-token-android1", got)
		}
		if got := hmsFake.Received(); len(got) != 1 || len(got[0].Tokens) != 1 || got[0].Tokens[0] != "hms-token-android1" {
			t.Errorf("Push Kit received %+v, want one message to hms-token-android1", got)
		}
	})

	t.Run("refused", func(t *testing.T) {
		// The VoIP token takes its ring; APNs says the alert token is gone.
		out, err := pushTestRun([]string{"--device", iphone, "--db", db, "--apns-key-file", apnsCfg.KeyFile,
			"--apns-key-id", apnsCfg.KeyID, "--apns-team-id", apnsCfg.TeamID, "--apns-topic", apnsCfg.Topic,
			"--apns-endpoint", apnsCfg.Endpoint}, nil)
		if err == nil || !strings.Contains(err.Error(), "1 of 2 pushes were not accepted") {
			t.Errorf("push-test: %v, want 1 of 2 pushes not accepted", err)
		}
		wantLines(t, out,
			`^device `+iphone+` \(ios, push-test-iphone\) of user \d+$`,
			`^apns-voip voip_token=…phone1 outcome=sent status=200 reason="" provider_id="[0-9a-f-]{36}"$`,
			`^apns apn_token=…stered outcome=dead_token status=410 reason="Unregistered" provider_id="[0-9a-f-]{36}"$`)
		got := apnsFake.Received()
		if len(got) != 2 || got[0].PushType != "voip" || got[0].Payload["type"] != "intercom_ring" || got[1].PushType != "alert" {
			t.Errorf("APNs received %+v, want a VoIP ring and an alert", got)
		}
	})

	t.Run("no provider for a token", func(t *testing.T) {
		out, err := pushTestRun([]string{"--device", android, "--db", db}, nil)
		if err == nil || !strings.Contains(err.Error(), "2 of 2 pushes were not accepted") {
			t.Errorf("push-test: %v, want 2 of 2 pushes not accepted", err)
		}
		wantLines(t, out, `^device `, `^fcm fcm_token=…droid1 not sent: no fcm provider \(--fcm-credentials\)$`,
			`^hms huawei_token=…droid1 not sent: no hms provider \(--hms-app-id, --hms-app-secret\)$`)
	})

	t.Run("on PostgreSQL", func(t *testing.T) {
		pg := pgtest.NewDatabase(t)
		n := runNode(t, t, "push-test-pg", map[string]string{"INTERCOMD_ADMIN_TOKEN": listenerAdminToken},
			"serve", "--addr", "127.0.0.1:0", "--db", pg)
		n.want(t, "POST", "/api/admin/v1/users", bearer(listenerAdminToken), `{"login":"pusher","password":"password-of-pusher"}`, 201)
		v := n.want(t, "POST", "/api/v1/token", map[string]string{"X-Client": "android", "X-UUID": "push-test-pg"},
			`{"login":"pusher","password":"password-of-pusher"}`, 200)
		n.want(t, "PUT", "/api/v1/devices", map[string]string{"X-Client": "android", "X-UUID": "push-test-pg",
			"Authorization": "Bearer " + v["access_token"].(string)}, `{"fcm_token":"fcm-token-postgres"}`, 204)
		conn, err := pgx.Connect(t.Context(), pg)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		err = conn.QueryRow(t.Context(), `SELECT id FROM devices WHERE uuid = 'push-test-pg'`).Scan(&id)
		conn.Close(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out, err := pushTestRun([]string{"--device", strconv.FormatInt(id, 10), "--fcm-credentials", fcmCfg.CredentialsFile,
			"--fcm-endpoint", fcmCfg.Endpoint}, map[string]string{"INTERCOMD_DB": pg})
		if err != nil {
			t.Fatalf("push-test: %v\n%s", err, out)
		}
		wantLines(t, out, `^device `, `^fcm fcm_token=…stgres outcome=sent status=200 reason="" provider_id="projects/test-project/messages/0:\d+"$`)
	})

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no token", []string{"--device", bare, "--db", db}, "device " + bare + " has registered no push token"},
		{"no such device", []string{"--device", "999999", "--db", db}, "no device 999999 in " + db},
		{"no device", []string{"--db", db}, "--device is required"},
		{"no database", []string{"--device", "1", "--db", filepath.Join(t.TempDir(), "missing.db")}, "missing.db"},
		{"a bad scheme", []string{"--device", "1", "--db", "postgress://x/y"}, "did you mean postgres://"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pushTestRun(tt.args, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("push-test %v: %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}

// deviceID is the id of the device uuid in the SQLite database at path,
// read while the node serves it.
func deviceID(t *testing.T, path, uuid string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id int64
	if err := db.QueryRowContext(t.Context(), `SELECT id FROM devices WHERE uuid = ?`, uuid).Scan(&id); err != nil {
		t.Fatalf("device %s: %v", uuid, err)
	}
	return strconv.FormatInt(id, 10)
}

// wantLines fails t unless out has one line per pattern, each matching it,
// in order.
func wantLines(t *testing.T, out string, patterns ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(patterns) {
		t.Errorf("output has %d lines, want %d:\n%s", len(lines), len(patterns), out)
		return
	}
	for i, p := range patterns {
		if !regexp.MustCompile(p).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i+1, lines[i], p)
		}
	}
}
