package intercom

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// A History is a kind of record kept for a while and then purged: each has
// its own retention age (flag --retain-<name>). A new one (an audit log) is
// one line in Histories and one statement in each engine's PurgeHistory.
type History string

// The histories intercomd purges.
const (
	// HistoryCalls is the call history: calls with their devices, accounts
	// and sends. A call ringing or answered is never purged.
	HistoryCalls History = "calls"
	// HistorySends is the record of each push sent for a call (call_sends),
	// which may go before the call itself.
	HistorySends History = "sends"
	// HistoryAccessLog is the log of keys and codes shown at panels.
	HistoryAccessLog History = "access-log"
	// HistoryControlLog is the log of POSTs to intercoms' control URLs.
	HistoryControlLog History = "control-log"
	// HistoryAuditLog is the log of admin writes.
	HistoryAuditLog History = "audit-log"
)

// Histories lists every history with its default age and what its records
// are, in the order they are purged and their flags listed.
var Histories = []struct {
	History History
	Default RetentionAge
	What    string
}{
	{HistoryCalls, RetentionAge(365 * day), "ended calls, with their devices, accounts and push sends"},
	{HistorySends, RetentionAge(30 * day), "push sends of ended calls (the calls stay)"},
	{HistoryAccessLog, RetentionAge(90 * day), "access log entries (keys and codes shown at panels)"},
	{HistoryControlLog, RetentionAge(90 * day), "control log entries (POSTs to intercoms' control URLs)"},
	{HistoryAuditLog, RetentionAge(365 * day), "audit log entries (admin writes)"},
}

// day is 24 hours, the unit of the d suffix of a RetentionAge.
const day = 24 * time.Hour

// MinRetention is the shortest retention age accepted: shorter would purge
// records still of use (a call's sends while it rings, today's logs).
const MinRetention = time.Hour

// RetentionAge is how long records of a history are kept; KeepForever (0)
// keeps them forever.
type RetentionAge time.Duration

// KeepForever is the RetentionAge of a history never purged, spelled
// "forever".
const KeepForever RetentionAge = 0

// errRetentionAge says what a retention age may be.
var errRetentionAge = errors.New("want an age such as 90d, 36h or 1h30m (at least 1h), or forever to keep everything")

// ParseRetentionAge reads a retention age: a Go duration (36h, 90m) or a
// whole number of days (90d), at least MinRetention, or the word forever.
// 0, a negative age and anything else are refused: an age of 0 would purge
// everything at once, so keeping everything is spelled forever.
func ParseRetentionAge(s string) (RetentionAge, error) {
	s = strings.TrimSpace(s)
	if s == "forever" {
		return KeepForever, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > int64(1<<63-1)/int64(day) {
			return 0, errRetentionAge
		}
		d = time.Duration(n) * day
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errRetentionAge
		}
	}
	if d < MinRetention {
		return 0, errRetentionAge
	}
	return RetentionAge(d), nil
}

// String is the age as ParseRetentionAge reads it: whole days as 90d.
func (a RetentionAge) String() string {
	d := time.Duration(a)
	switch {
	case a == KeepForever:
		return "forever"
	case d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// Forever reports whether records are kept forever.
func (a RetentionAge) Forever() bool { return a == KeepForever }

// Retention is the age of each history; a history absent from it is kept
// forever.
type Retention map[History]RetentionAge

// DefaultRetention is every history at its default age.
func DefaultRetention() Retention {
	r := Retention{}
	for _, h := range Histories {
		r[h.History] = h.Default
	}
	return r
}

// Cutoff is the instant before which records of h are purged at now, and
// false when h is kept forever.
func (r Retention) Cutoff(h History, now time.Time) (time.Time, bool) {
	a, ok := r[h]
	if !ok || a.Forever() {
		return time.Time{}, false
	}
	return now.Add(-time.Duration(a)), true
}

// ErrUnknownHistory is PurgeHistory's answer for a history the engine does
// not know.
var ErrUnknownHistory = errors.New("unknown history")
