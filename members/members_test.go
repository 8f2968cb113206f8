package members_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
	"intercom/clocktest"
	"intercom/members"
	"intercom/sqlite"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// events records what a Service sends to accounts.
type events struct{ sent []string }

func (e *events) ToAccount(userID int64, typ string, fields func() map[string]any, exceptSocket string) {
	e.sent = append(e.sent, typ)
}

func (e *events) Online(intercom.Intercom) bool { return false }

// TestMembershipEvents checks that the operator's changes of a membership
// tell the account what the store changed.
func TestMembershipEvents(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "members.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, err := db.CreateUser(ctx, intercom.User{Login: "alice", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := db.CreateIntercom(ctx, intercom.Intercom{Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 5, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	s := members.New(members.Config{Store: db, Calls: ev, Clock: clocktest.New(t0)})
	put := func(status string) func() error {
		return func() error {
			_, err := s.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "Home", Status: status})
			return err
		}
	}
	for _, step := range []struct {
		name string
		do   func() error
		want []string
	}{
		{"a pairing begun is not the account's", put(intercom.StatusKeyConfirmed), nil},
		{"confirmed, it becomes the account's", put(intercom.StatusConfirmed), []string{"intercom.store"}},
		{"confirmed again, it changed", put(intercom.StatusConfirmed), []string{"intercom.rename"}},
		{"back to a pairing, it is the account's no more", put(intercom.StatusKeyConfirmed), []string{"intercom.delete"}},
		{"a pairing deleted was never the account's", func() error { return s.DeleteMembership(ctx, ic.ID, u.ID) }, nil},
		{"confirmed anew", put(intercom.StatusConfirmed), []string{"intercom.store"}},
		{"deleted", func() error { return s.DeleteMembership(ctx, ic.ID, u.ID) }, []string{"intercom.delete"}},
	} {
		t.Run(step.name, func(t *testing.T) {
			ev.sent = nil
			if err := step.do(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(step.want, ev.sent); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
