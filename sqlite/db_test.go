package sqlite_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"intercom"
	"intercom/sqlite"
	"intercom/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) intercom.Store {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(t.Context(), intercom.User{Login: "kept", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if _, err := db.UserByLogin(t.Context(), "kept"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestOpenRejectsDSNInjection(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), "x.db?_pragma=foreign_keys(0)"); err == nil {
		t.Fatal("a path with a query string was accepted")
	}
}

// Concurrent writes share transactions; one that fails must not take the
// others with it, nor leave anything behind.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 200
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			// Every login is wanted twice: one of each pair conflicts.
			_, err := db.CreateUser(t.Context(), intercom.User{Login: "user-" + strconv.Itoa(i/2), PasswordHash: "h"})
			errs <- err
		}()
	}
	conflicts := 0
	for i := 0; i < n; i++ {
		switch err := <-errs; intercom.ErrorCode(err) {
		case "":
		case intercom.ECONFLICT:
			conflicts++
		default:
			t.Fatalf("CreateUser: %v", err)
		}
	}
	if conflicts != n/2 {
		t.Fatalf("%d conflicts, want %d", conflicts, n/2)
	}
	for i := 0; i < n/2; i++ {
		if _, err := db.UserByLogin(t.Context(), "user-"+strconv.Itoa(i)); err != nil {
			t.Fatalf("user-%d lost: %v", i, err)
		}
	}
}

func TestWritesAfterCloseFail(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := db.CreateUser(t.Context(), intercom.User{Login: "late", PasswordHash: "h"}); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

// A write that panics is rolled back and reported; the writer goes on.
func TestPanickingWriteLeavesTheWriterServing(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.CreateUser(t.Context(), intercom.User{Login: "p", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateIntercom(t.Context(), intercom.Intercom{ID: 1, Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 7}); err != nil {
		t.Fatal(err)
	}
	devices := []intercom.CallDevice{{DeviceID: 1, UserID: u.ID, UUID: "d", Client: "ios", Channels: []string{"ws"}}}
	c, err := db.CreateCall(t.Context(), intercom.NewCall(1, nil, devices, intercom.CallLines{}, time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.UpdateCall(t.Context(), c.ID, func(c *intercom.Call) error {
		c.Status = intercom.CallMissed
		panic("boom")
	})
	if err == nil {
		t.Fatal("a panicking write reported success")
	}
	if got, err := db.Call(t.Context(), c.ID); err != nil || got.Status != intercom.CallRing {
		t.Fatalf("after the panic: %+v, %v", got.Status, err)
	}
	if _, err := db.CreateUser(t.Context(), intercom.User{Login: "after", PasswordHash: "h"}); err != nil {
		t.Fatalf("the writer stopped: %v", err)
	}
}

// A batch of writes that fills the disk answers each write as it ended:
// every write answered done is there, and none answered failed is, also
// for the writes queued behind the one that hit the full disk. The limit
// here (PRAGMA max_page_count) makes SQLite roll back the failing statement
// only; a real full disk or I/O error may roll back the whole transaction,
// which this does not reproduce (the writer then stops running the batch's
// later writes, which would otherwise commit on their own: write.go).
func TestFullDiskAnswersEachWriteTruly(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	pages, err := db.Pages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.LimitPages(ctx, pages+40); err != nil {
		t.Fatal(err)
	}
	const n = 300
	name := strings.Repeat("n", 2000) // a few users a page: the limit is reached within the run
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = db.CreateUser(ctx, intercom.User{Login: "user-" + strconv.Itoa(i), Name: name, PasswordHash: "h"})
		})
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		_, found := db.UserByLogin(ctx, "user-"+strconv.Itoa(i))
		switch {
		case err == nil && found != nil:
			t.Errorf("user-%d: answered done, not there: %v", i, found)
		case err != nil && found == nil:
			t.Errorf("user-%d: answered %v, but there", i, err)
		case err != nil:
			failed++
			if intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
				t.Errorf("user-%d: %v, want the database's unavailability", i, err)
			}
		}
	}
	if failed == 0 || failed == n {
		t.Fatalf("%d of %d writes failed: the disk never filled, or nothing fit", failed, n)
	}
}
