package intercom

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecidePairing(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	before, after := at.Add(-time.Second), at.Add(time.Second)
	live := func(f PairingFacts) PairingFacts { f.CodeLive, f.UserID, f.KeyRegistered = true, 7, true; return f }
	for _, tc := range []struct {
		name  string
		facts PairingFacts
		want  PairingDecision
	}{
		{"unknown code", PairingFacts{KeyRegistered: true}, PairingDecision{Problem: PairUnknownCode}},
		{"unknown code before unknown key", PairingFacts{}, PairingDecision{Problem: PairUnknownCode}},
		{"unknown key", PairingFacts{CodeLive: true, UserID: 7}, PairingDecision{Problem: PairUnknownKey}},
		{"free key", live(PairingFacts{}), PairingDecision{}},
		{"already added", live(PairingFacts{Confirmed: true}), PairingDecision{Problem: PairAlreadyAdded}},
		{"already added before key taken",
			live(PairingFacts{Confirmed: true, Holder: &KeyHolder{UserID: 8, Status: StatusConfirmed}}),
			PairingDecision{Problem: PairAlreadyAdded}},
		{"key confirmed by another account",
			live(PairingFacts{Holder: &KeyHolder{UserID: 8, Status: StatusConfirmed}}), PairingDecision{Problem: PairKeyTaken}},
		{"key pairing of another account waiting",
			live(PairingFacts{Holder: &KeyHolder{UserID: 8, Status: StatusKeyConfirmed, FlatBy: &after}}),
			PairingDecision{Problem: PairKeyTaken}},
		{"key pairing of another account without a deadline",
			live(PairingFacts{Holder: &KeyHolder{UserID: 8, Status: StatusKeyConfirmed}}), PairingDecision{Problem: PairKeyTaken}},
		{"key pairing of another account expired",
			live(PairingFacts{Holder: &KeyHolder{UserID: 8, Status: StatusKeyConfirmed, FlatBy: &before}}),
			PairingDecision{ReleaseKey: true}},
		{"key pairing expired at this instant",
			live(PairingFacts{Holder: &KeyHolder{UserID: 8, Status: StatusKeyConfirmed, FlatBy: &at}}),
			PairingDecision{ReleaseKey: true}},
		{"expired key pairing released though the account has the intercom",
			live(PairingFacts{Confirmed: true, Holder: &KeyHolder{UserID: 8, Status: StatusKeyConfirmed, FlatBy: &before}}),
			PairingDecision{Problem: PairAlreadyAdded, ReleaseKey: true}},
		{"the account's own pairing again",
			live(PairingFacts{Holder: &KeyHolder{UserID: 7, Status: StatusKeyConfirmed, FlatBy: &after}}), PairingDecision{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, DecidePairing(tc.facts, at)); diff != "" {
				t.Errorf("DecidePairing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckFlat(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	ranged := Intercom{FirstFlat: n(10), LastFlat: n(20)}
	for _, tc := range []struct {
		name  string
		facts FlatFacts
		flat  int64
		want  string // the error's code, "" for none
		field string // its field, for EINVALID
	}{
		{"default range", FlatFacts{}, 15, "", ""},
		{"below the default range", FlatFacts{}, 0, EINVALID, "flat"},
		{"above the default range", FlatFacts{}, DefaultLastFlat + 1, EINVALID, "flat"},
		{"in the intercom's range", FlatFacts{Intercom: ranged}, 20, "", ""},
		{"outside the intercom's range", FlatFacts{Intercom: ranged}, 21, EINVALID, "flat"},
		{"out of range before taken", FlatFacts{Intercom: ranged, Taken: true}, 9, EINVALID, "flat"},
		{"key gone", FlatFacts{KeyBound: true}, 15, ENOTFOUND, ""},
		{"key of any flat", FlatFacts{KeyBound: true, Key: &Key{}}, 15, "", ""},
		{"key of this flat", FlatFacts{KeyBound: true, Key: &Key{Flat: n(15)}}, 15, "", ""},
		{"key of another flat", FlatFacts{KeyBound: true, Key: &Key{Flat: n(16)}}, 15, EINVALID, "flat"},
		{"taken", FlatFacts{Taken: true}, 15, EINVALID, "flat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckFlat(tc.facts, tc.flat)
			if diff := cmp.Diff(tc.want, ErrorCode(err)); diff != "" {
				t.Fatalf("CheckFlat code (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tc.field != "" {
				var ie *Error
				if !errors.As(err, &ie) || len(ie.Fields) != 1 || ie.Fields[0].Key != tc.field {
					t.Errorf("CheckFlat = %v, want a problem on %s", err, tc.field)
				}
			}
		})
	}
	if err := CheckFlat(FlatFacts{KeyBound: true, Key: &Key{Flat: n(16)}}, 15); err != ErrFlatNotKey {
		t.Errorf("key of another flat = %v, want ErrFlatNotKey", err)
	}
	if err := CheckFlat(FlatFacts{Taken: true}, 15); err != ErrFlatTaken {
		t.Errorf("taken = %v, want ErrFlatTaken", err)
	}
}
