package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"intercom"
	"intercom/postgres/pgtest"
)

// A call's rows of devices and accounts carry no foreign keys (migration
// 0007); deleting an account or an intercom still takes what hung off it.
func TestDeletesTakeTheirCallRows(t *testing.T) {
	url := pgtest.Schema(t)
	db := open(t, url)
	ctx := t.Context()
	u, _, c := world(t, db, 2)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	count := func(query string, arg int64) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, query, arg).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	accounts := `SELECT count(*) FROM call_accounts WHERE user_id = $1`
	devices := `SELECT count(*) FROM call_devices WHERE call_id = $1`
	if a, d := count(accounts, u.ID), count(devices, c.ID); a != 1 || d != 2 {
		t.Fatalf("before: %d call_accounts rows, %d call_devices rows; want 1 and 2", a, d)
	}
	if err := db.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if a := count(accounts, u.ID); a != 0 {
		t.Errorf("after deleting the account: %d call_accounts rows", a)
	}
	// The ringing call's record of the account's devices went with it
	// (DeleteUser); a finished one keeps them. Deleting the intercom takes
	// the call and whatever rows it has left.
	if _, err := conn.Exec(ctx, `UPDATE calls SET status = 'missed' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO call_devices (call_id, device_id, user_id, uuid, client, title, channels, reason, tokens)
		VALUES ($1, 999, 999, 'kept', 'web', '', '{}', '', '{}')`, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM intercoms WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if d := count(devices, c.ID); d != 0 {
		t.Errorf("after deleting the intercom: %d call_devices rows of its call", d)
	}
}

// Two outcomes of one push in one batch: one statement cannot update a row
// twice, so the batch keeps the later, as writing them in turn would.
func TestSendBatchKeepsTheLaterOutcome(t *testing.T) {
	db := open(t, pgtest.Schema(t))
	ctx := t.Context()
	_, toks, c := world(t, db, 2)
	first := intercom.CallSend{CallID: c.ID, DeviceID: toks[0].DeviceID, Channel: intercom.ChannelAPNsVoIP, Type: intercom.PushRing,
		Attempts: 1, Outcome: intercom.SendFailed, Status: 503, Reason: "busy", At: t0}
	second := first
	second.Attempts, second.Outcome, second.Status, second.Reason = 2, intercom.SendSent, 200, ""
	other := first
	other.DeviceID = toks[1].DeviceID
	if err := db.InsertSends(ctx, []intercom.CallSend{first, other, second}); err != nil {
		t.Fatal(err)
	}
	sends, err := db.CallSends(ctx, c.ID)
	if err != nil || len(sends) != 2 || sends[0] != second || sends[1] != other {
		t.Fatalf("CallSends = %+v, %v; want %+v and %+v", sends, err, second, other)
	}
}
