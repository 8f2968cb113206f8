package main

import (
	"database/sql"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"intercom"
	"intercom/postgres/pgtest"
)

// sipPassword reads intercom id's SIP password from a node, as a panel's
// installer would.
func sipPassword(t *testing.T, n *node, token string, id any) string {
	t.Helper()
	v := n.want(t, "POST", "/api/admin/v1/intercoms/"+jsonString(id)+"/sip-credentials", map[string]string{"Authorization": "Bearer " + token}, "", 200)
	return v["password"].(string)
}

func jsonString(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}

// TestSecretsNeverDrift: without --sip-secret or --pusher-app-secret the
// first start generates them, sealed in the database under
// --secret-key-file; every restart signs with the same, so the panels' SIP
// passwords stay. A start without the key, with another --sip-secret or with
// another --admin-token is refused, naming what differs.
func TestSecretsNeverDrift(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kept.db")
	key := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(key, []byte("k3y-of-at-least-thirty-two-bytes-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	token := strings.Repeat("admin-token-", 3)
	env := map[string]string{"INTERCOMD_ADMIN_TOKEN": token, "INTERCOMD_SECRET_KEY_FILE": key}
	auth := map[string]string{"Authorization": "Bearer " + token}

	first := runNode(t, t, "first", env, "serve", "--addr", "127.0.0.1:0", "--db", db)
	ic := first.want(t, "POST", "/api/admin/v1/intercoms", auth, `{"address":"Lenina 1"}`, 201)
	id := ic["id"]
	password := ic["sip"].(map[string]any)["password"].(string)
	first.stop(t)

	again := runNode(t, t, "again", env, "serve", "--addr", "127.0.0.1:0", "--db", db)
	if got := sipPassword(t, again, token, id); got != password {
		t.Errorf("after a restart the panel's SIP password is %q, was %q", got, password)
	}
	again.stop(t)

	// Sealed: the database holds no generated secret in the clear.
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := raw.Query(`SELECT name, value FROM secrets ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for rows.Next() {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		names[name] = string(value)
		if strings.HasPrefix(name, "secret:") && !strings.HasPrefix(string(value), "aes256gcm:") {
			t.Errorf("%s is stored unsealed: %q", name, value)
		}
		if strings.Contains(string(value), token) {
			t.Errorf("%s holds the admin token", name)
		}
	}
	rows.Close()
	raw.Close()
	for _, want := range []string{"secret:sip-secret", "secret:pusher-app-secret", "check:sip-secret", "check:pusher-app-secret", "check:admin-token"} {
		if _, ok := names[want]; !ok {
			t.Errorf("the database keeps no %s: %v", want, names)
		}
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		// Without the flag the key beside the database is used (made now): not the one.
		{"without the key", map[string]string{"INTERCOMD_ADMIN_TOKEN": token}, nil,
			"the database's secrets and control keys are sealed under another secret key: give --secret-key-file with the key it was used with"},
		{"another --sip-secret", env, []string{"--sip-secret", "another-secret"}, "--sip-secret differs from the one this database was used with"},
		{"another admin token", map[string]string{"INTERCOMD_ADMIN_TOKEN": strings.Repeat("x", 32), "INTERCOMD_SECRET_KEY_FILE": key}, nil,
			"--admin-token differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tc.args...)
			err := run(t.Context(), args, tc.env, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("start: %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "another-secret") || strings.Contains(err.Error(), token) {
				t.Errorf("the refusal shows a secret: %v", err)
			}
		})
	}
}

// TestSecretsForget: with every node stopped, `intercomd secrets forget`
// lets a secret change on purpose: the next start takes the one it is given,
// and the panels' SIP passwords follow it. Bad input changes nothing.
func TestSecretsForget(t *testing.T) {
	db := filepath.Join(t.TempDir(), "change.db")
	token := strings.Repeat("admin-token-", 3)
	env := map[string]string{"INTERCOMD_ADMIN_TOKEN": token}
	auth := map[string]string{"Authorization": "Bearer " + token}
	first := runNode(t, t, "first", env, "serve", "--addr", "127.0.0.1:0", "--db", db)
	ic := first.want(t, "POST", "/api/admin/v1/intercoms", auth, `{"address":"Lenina 1"}`, 201)
	old := ic["sip"].(map[string]any)["password"].(string)
	first.stop(t)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"secrets"}, "the only command is forget"},
		{[]string{"secrets", "remember", "sip-secret"}, "the only command is forget"},
		{[]string{"secrets", "forget", "--db", db}, "name at least one secret's flag"},
		{[]string{"secrets", "forget", "--db", db, "sip-secret", "ring-timeout"}, `"ring-timeout" is not a secret's flag`},
	} {
		if _, err := runOut(t, nil, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	refused := run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--sip-secret", "the-new-sip-secret"}, env, io.Discard, io.Discard)
	if refused == nil || !strings.Contains(refused.Error(), "--sip-secret differs") {
		t.Fatalf("a new --sip-secret before forgetting: %v", refused)
	}

	out, err := runOut(t, nil, "secrets", "forget", "--db", db, "sip-secret", "turn-secret")
	if err != nil || !strings.Contains(out, "forgot --sip-secret") || !strings.Contains(out, "kept nothing of --turn-secret") {
		t.Fatalf("secrets forget: %q, %v", out, err)
	}
	again := runNode(t, t, "again", env, "serve", "--addr", "127.0.0.1:0", "--db", db, "--sip-secret", "the-new-sip-secret")
	if got := sipPassword(t, again, token, ic["id"]); got == old {
		t.Error("the panel's SIP password did not follow the new SIP secret")
	}
}

// TestCopyKeepsSecrets: `intercomd copy` takes the installation's secrets
// along, so a node on PostgreSQL gives the panels the SIP passwords they had.
func TestCopyKeepsSecrets(t *testing.T) {
	url := pgtest.NewDatabase(t)
	db := filepath.Join(t.TempDir(), "from.db")
	token := strings.Repeat("admin-token-", 3)
	env := map[string]string{"INTERCOMD_ADMIN_TOKEN": token}
	auth := map[string]string{"Authorization": "Bearer " + token}
	sqliteNode := runNode(t, t, "sqlite", env, "serve", "--addr", "127.0.0.1:0", "--db", db)
	ic := sqliteNode.want(t, "POST", "/api/admin/v1/intercoms", auth, `{"address":"Lenina 1"}`, 201)
	password := ic["sip"].(map[string]any)["password"].(string)
	sqliteNode.stop(t)

	if err := run(t.Context(), []string{"copy", "--from", db, "--to", url}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// The key file made beside the SQLite database is the nodes' --secret-key-file.
	env["INTERCOMD_SECRET_KEY_FILE"] = db + ".key"
	pgNode := runNode(t, t, "postgres", env, "serve", "--addr", "127.0.0.1:0", "--db", url)
	if got := sipPassword(t, pgNode, token, ic["id"]); got != password {
		t.Errorf("after the copy the panel's SIP password is %q, was %q", got, password)
	}
}

// TestControlKeysSealed: a copy of the database alone signs no door command.
// Without --secret-key-file a SQLite database's key is the file beside it,
// made at the first start (mode 0600), and a control key is sealed under
// it from the intercom's creation; one stored unsealed (an intercom
// provisioned by an older intercomd) is sealed at the next start. The
// database then holds neither the secret nor the key its commands are
// signed with, only a hash of that key, and copied without its key file
// it does not start.
func TestControlKeysSealed(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "doors.db")
	token := strings.Repeat("admin-token-", 3)
	auth := map[string]string{"Authorization": "Bearer " + token}
	env := map[string]string{"INTERCOMD_ADMIN_TOKEN": token}
	before := runNode(t, t, "before", env, "serve", "--addr", "127.0.0.1:0", "--db", db)
	ic := before.want(t, "POST", "/api/admin/v1/intercoms", auth, `{"address":"Lenina 1"}`, 201)
	secret := ic["secret"].(string)
	if !strings.Contains(before.logs.String(), "made the secret key file beside the database") {
		t.Error("the first start did not say it made the key file")
	}
	before.stop(t)
	if fi, err := os.Stat(db + ".key"); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() < 32 {
		t.Fatalf("the key file beside the database: %v, %v", fi, err)
	}
	controlKey := string(intercom.HashToken(secret))
	stored := func(query string, args ...any) (hash, key string) {
		t.Helper()
		raw, err := sql.Open("sqlite", db)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if query != "" {
			if _, err := raw.Exec(query, args...); err != nil {
				t.Fatal(err)
			}
		}
		if err := raw.QueryRow(`SELECT secret_hash, control_key FROM intercoms`).Scan(&hash, &key); err != nil {
			t.Fatal(err)
		}
		return hash, key
	}
	sealed := func(what string, hash, k string) {
		t.Helper()
		if !strings.HasPrefix(k, "aes256gcm:") || strings.Contains(k, controlKey) || strings.Contains(hash, controlKey) ||
			hash != string(intercom.IntercomSecretHash(secret)) {
			t.Errorf("%s: stored hash %x, control key %q", what, hash, k)
		}
	}
	hash, k := stored("")
	sealed("made", hash, k)

	// As an older intercomd stored it.
	if _, k := stored(`UPDATE intercoms SET control_key = ?`, "plain:"+controlKey); k != "plain:"+controlKey {
		t.Fatalf("unsealed: %q", k)
	}
	after := runNode(t, t, "after", env, "serve", "--addr", "127.0.0.1:0", "--db", db)
	if !strings.Contains(after.logs.String(), "sealed the control keys") {
		t.Errorf("the start did not say it sealed the keys:\n%s", after.logs)
	}
	// The panel's secret still opens its API.
	after.want(t, "POST", "/api/hw/v1/heartbeat", map[string]string{"Authorization": "Bearer " + secret}, "", 204)
	after.stop(t)
	hash, k = stored("")
	sealed("sealed at the start", hash, k)

	// The database copied alone (as intercomd backup copies it) does not start.
	copied := filepath.Join(t.TempDir(), "copy.db")
	if err := run(t.Context(), []string{"backup", "--db", db, "--to", copied}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copied + ".key"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("backup copied the key file: %v", err)
	}
	err := run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--db", copied}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "sealed under another secret key") {
		t.Errorf("the copy without its key file started: %v", err)
	}
	if _, err := os.Stat(copied + ".key"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused start left the key file it made: %v", err)
	}

	// The key file lost: refused, even with the generated secrets given by
	// flags (nothing generated to open), and no new key file is left.
	if err := os.Rename(db+".key", db+".key.kept"); err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--sip-secret", "a-sip-secret-given-by-a-flag",
		"--pusher-app-secret", "an-app-secret-given-by-a-flag"}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "sealed under another secret key") {
		t.Errorf("a start without the key file, secrets by flags: %v", err)
	}
	if _, err := os.Stat(db + ".key"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused start left the key file it made: %v", err)
	}
	if err := os.Rename(db+".key.kept", db+".key"); err != nil {
		t.Fatal(err)
	}
	back := runNode(t, t, "back", env, "serve", "--addr", "127.0.0.1:0", "--db", db)
	back.want(t, "POST", "/api/hw/v1/heartbeat", map[string]string{"Authorization": "Bearer " + secret}, "", 204)
}
