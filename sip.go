package intercom

import (
	"crypto/rand"
	"math/big"
	"strconv"
	"strings"
)

// A call's number is its extension on the SIP server: ten digits, the first
// not 0. A flat is at most five digits (1–99999), so a SIP server, a panel
// and a person can always tell a dialled number from a dialled flat. A live
// call's number (ringing or answered) is held by no other live call; once
// the call is over the number may come again.
const (
	CallNumberDigits = 10
	// FlatMaxDigits is the most digits a flat has (API.md: flats 1–99999).
	FlatMaxDigits = 5
)

var numberSpan = big.NewInt(8_000_000_000)

// NewCallNumber draws a random call number, 2000000000–9999999999: hard to
// guess, so a number learnt from one call says nothing of the next.
// (1xxxxxxxxx is left to numbers given to calls that were live when numbers
// were introduced: '1' and the call id.)
func NewCallNumber() string {
	n, err := rand.Int(rand.Reader, numberSpan)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(2_000_000_000)).String()
}

// IsCallNumber reports whether s has the form of a call number.
func IsCallNumber(s string) bool {
	if len(s) != CallNumberDigits || s[0] == '0' {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// SIPUsername is the SIP identity of intercom id on the SIP server:
// "intercom<id>" (a panel's digest username).
func SIPUsername(id int64) string { return "intercom" + strconv.FormatInt(id, 10) }

// ParseSIPUsername is the intercom id of a SIP identity made by
// SIPUsername; ok is false for anything else.
func ParseSIPUsername(s string) (id int64, ok bool) {
	digits, found := strings.CutPrefix(s, "intercom")
	if !found || digits == "" || digits[0] == '0' || len(digits) > 18 {
		return 0, false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return id, true
}
