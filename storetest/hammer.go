package storetest

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"intercom"
)

// testCachedReadsUnderWrites hammers Intercom, AccessTokenByHash and
// RingCandidates from several goroutines while one writes: every write is
// seen by the next read after it was answered, and no reader ever goes back
// to what an earlier write replaced.
func testCachedReadsUnderWrites(t *testing.T, s intercom.Store) { ReadsUnderWrites(t, s, s) }

// ReadsUnderWrites is the test of CachedReadsUnderWrites with its writes on
// one store and its reads on another, as two nodes of one database are: a
// node must see the other's writes at the very next read — once it has
// heard of them, when it is a ChangeSyncer: each read then syncs first.
func ReadsUnderWrites(t *testing.T, s, readers intercom.Store) {
	ctx := t.Context()
	syncChanges := func() error { return nil }
	if cs, ok := readers.(intercom.ChangeSyncer); ok && readers != s {
		syncChanges = func() error { return cs.SyncChanges(ctx) }
	}
	ic := mustIntercom(t, s, 0, nil)
	u := mustUser(t, s, "u")
	mustMember(t, s, u.ID, ic.ID, "0")
	tok := mustToken(t, s, u.ID, "phone")
	v := intercom.Viewer{UserID: u.ID, DeviceID: tok.DeviceID}
	const writes = 200
	var last atomic.Int64 // the last title answered, by number
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	fail := func(msg string) {
		select {
		case errs <- msg:
		default:
		}
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				floor := last.Load() // answered before this read began
				if err := syncChanges(); err != nil {
					fail("SyncChanges: " + err.Error())
					return
				}
				view, err := readers.Intercom(ctx, v, ic.ID)
				if err != nil {
					fail("Intercom: " + err.Error())
					return
				}
				n, _ := strconv.ParseInt(view.Membership.Title, 10, 64)
				if n < floor || n < seen {
					fail("a read went back: title " + view.Membership.Title + " after " + strconv.FormatInt(max(floor, seen), 10))
					return
				}
				seen = n
				cands, err := readers.RingCandidates(ctx, ic.ID, nil, t0)
				if err != nil || len(cands) != 1 {
					fail(fmt.Sprintf("RingCandidates = %d candidates, %v; want the one device", len(cands), err))
					return
				}
				if c, _ := strconv.ParseInt(cands[0].Title, 10, 64); c < floor {
					fail("a ring saw title " + cands[0].Title + " after " + strconv.FormatInt(floor, 10) + " was answered")
					return
				}
				if _, err := readers.AccessTokenByHash(ctx, tok.Hash); err != nil {
					fail("AccessTokenByHash: " + err.Error())
					return
				}
			}
		}()
	}
	for i := int64(1); i <= writes; i++ {
		title := strconv.FormatInt(i, 10)
		got, err := s.UpdateIntercom(ctx, v, ic.ID, intercom.IntercomUpdate{Title: &title}, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		last.Store(i)
		if got.Membership.Title != title {
			t.Fatalf("UpdateIntercom answered title %q, want %q", got.Membership.Title, title)
		}
		if err := syncChanges(); err != nil {
			t.Fatal(err)
		}
		if view, err := readers.Intercom(ctx, v, ic.ID); err != nil || view.Membership.Title != title {
			t.Fatalf("after write %d: Intercom = %q, %v", i, view.Membership.Title, err)
		}
	}
	close(stop)
	wg.Wait()
	if err := s.RevokeAccessToken(ctx, tok.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := syncChanges(); err != nil {
		t.Fatal(err)
	}
	if got, err := readers.AccessTokenByHash(ctx, tok.Hash); err != nil || got.RevokedAt == nil {
		t.Errorf("right after logout: %+v, %v", got, err)
	}
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}
