package intercom

import (
	"cmp"
	"slices"
	"sync/atomic"
	"time"
)

// A Roster is what a ring weighs at an intercom, or at one of its flats:
// every device of its members with each unrevoked token and its expiry.
// Engines cache rosters, so that a ring at a large house does not read a
// thousand rows each time, and patch them when a few accounts change
// (Patch); token expiry is applied at each ring (Candidates). A Roster is
// shared and never changed.
type Roster struct {
	rows []*RosterRow
	// made is the candidates of the last ring and the instants between which
	// the same tokens are live: the next ring in that span gets them again
	// instead of a thousand fresh ones.
	made atomic.Pointer[madeCandidates]
}

// RosterKey names a roster: an intercom's, of one flat or of every member.
type RosterKey struct {
	IntercomID int64
	Flat       int64
	AnyFlat    bool
}

// RosterKeyOf names the roster a ring at flat of an intercom weighs (nil:
// a private house, every member).
func RosterKeyOf(intercomID int64, flat *int64) RosterKey {
	if flat == nil {
		return RosterKey{IntercomID: intercomID, AnyFlat: true}
	}
	return RosterKey{IntercomID: intercomID, Flat: *flat}
}

// FlatOf is the flat k names: nil for every member.
func (k RosterKey) FlatOf() *int64 {
	if k.AnyFlat {
		return nil
	}
	return &k.Flat
}

// RosterRow is a device of a member: its candidate, whose Tokens are all its
// unrevoked tokens, and when each of them expires.
type RosterRow struct {
	Candidate *RingCandidate
	Expires   []time.Time // by token
}

type madeCandidates struct {
	from, until time.Time // valid for from <= at < until
	list        []*RingCandidate
}

// NewRoster makes a roster of rows, which it orders by device and keeps.
func NewRoster(rows []*RosterRow) *Roster {
	slices.SortFunc(rows, byDevice)
	for _, r := range rows { // capped, so that an append copies
		r.Candidate.Tokens = slices.Clip(r.Candidate.Tokens)
	}
	return &Roster{rows: rows}
}

func byDevice(a, b *RosterRow) int { return cmp.Compare(a.Candidate.DeviceID, b.Candidate.DeviceID) }

// Candidates returns the devices with a token live at instant at, each with
// those tokens, as Store.RingCandidates does. They are shared: callers only
// read them. A device whose tokens are all live, the usual case, is its
// row's own candidate, so a ring right after the roster changed allocates a
// slice of pointers, not a thousand candidates.
func (r *Roster) Candidates(at time.Time) []*RingCandidate {
	if m := r.made.Load(); m != nil && !at.Before(m.from) && at.Before(m.until) {
		return m.list
	}
	// The span in which the same tokens are live: after the last expiry at
	// or before at, until the first after it.
	from, until := time.Time{}, maxTime
	out := make([]*RingCandidate, 0, len(r.rows))
	for _, row := range r.rows {
		live := 0
		for _, e := range row.Expires {
			if e.After(at) {
				live++
				if e.Before(until) {
					until = e
				}
			} else if e.After(from) {
				from = e
			}
		}
		switch live {
		case 0:
			continue
		case len(row.Expires):
			out = append(out, row.Candidate)
		default:
			c := *row.Candidate
			c.Tokens = make([]string, 0, live)
			for i, t := range row.Candidate.Tokens {
				if row.Expires[i].After(at) {
					c.Tokens = append(c.Tokens, t)
				}
			}
			out = append(out, &c)
		}
	}
	out = slices.Clip(out)
	r.made.Store(&madeCandidates{from: from, until: until, list: out})
	return out
}

// maxTime is later than any token's expiry.
var maxTime = time.Unix(1<<62, 0)

// Patch returns a roster in which the rows of the accounts users (sorted)
// are replaced by fresh: those accounts' rows read again, of any order.
func (r *Roster) Patch(users []int64, fresh []*RosterRow) *Roster {
	slices.SortFunc(fresh, byDevice)
	for _, f := range fresh {
		f.Candidate.Tokens = slices.Clip(f.Candidate.Tokens)
	}
	out := make([]*RosterRow, 0, len(r.rows)+len(fresh))
	for _, row := range r.rows {
		for len(fresh) > 0 && fresh[0].Candidate.DeviceID < row.Candidate.DeviceID {
			out, fresh = append(out, fresh[0]), fresh[1:]
		}
		if _, found := slices.BinarySearch(users, row.Candidate.UserID); !found {
			out = append(out, row)
		}
	}
	return &Roster{rows: append(out, fresh...)}
}
