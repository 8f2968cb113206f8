package storetest

import (
	"errors"
	"testing"

	"intercom"
)

// Unwritable holds an engine to what it does when its database stops taking
// writes and starts again. refuse must make the database itself refuse every
// write from then on (a full disk, an unwritable file, a read-only server: a
// real refusal, not the engine told to pretend); allow undoes it. The store
// must be empty and used by nothing else meanwhile.
//
// A refused write is intercom.ErrUnwritable (EUNAVAILABLE, with the cause
// wrapped); reads go on; WriteFailure remembers the refusal until a Ping
// commits, and Ping fails while the database refuses.
func Unwritable(t *testing.T, s intercom.Store, refuse, allow func(t *testing.T)) {
	ctx := t.Context()
	mustUser(t, s, "before")
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping of a writable database: %v", err)
	}
	if err := s.WriteFailure(); err != nil {
		t.Fatalf("WriteFailure of a writable database: %v", err)
	}

	refuse(t)
	_, err := s.CreateUser(ctx, intercom.User{Login: "refused", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	if !errors.Is(err, intercom.ErrUnwritable) {
		t.Fatalf("CreateUser refused by the database: %v, want ErrUnwritable", err)
	}
	if got, want := intercom.ErrorMessage(err), intercom.ErrUnwritable.Message; got != want {
		t.Errorf("message of a refused write: %q, want %q", got, want)
	}
	if err := s.WriteFailure(); intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
		t.Errorf("WriteFailure after a refused write: %v, want EUNAVAILABLE", err)
	}
	if _, err := s.UserByLogin(ctx, "before"); err != nil {
		t.Errorf("a read while writes are refused: %v", err)
	}
	if err := s.Ping(ctx); intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
		t.Errorf("Ping while writes are refused: %v, want EUNAVAILABLE", err)
	}
	if err := s.WriteFailure(); err == nil {
		t.Error("WriteFailure forgot the refusal after a failed Ping")
	}

	allow(t)
	if err := s.WriteFailure(); err == nil {
		t.Error("WriteFailure forgot the refusal before any Ping committed")
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping once writes are taken again: %v", err)
	}
	if err := s.WriteFailure(); err != nil {
		t.Errorf("WriteFailure after a Ping committed: %v", err)
	}
	mustUser(t, s, "after")
	if _, err := s.UserByLogin(ctx, "refused"); intercom.ErrorCode(err) != intercom.ENOTFOUND {
		t.Errorf("the refused write: %v, want ENOTFOUND", err)
	}
}
