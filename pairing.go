package intercom

import (
	"crypto/rand"
	"math/big"
	"strings"
	"time"
)

// Residents pair with an intercom themselves: the app asks for a pairing
// code, the resident types it at the panel and touches their key, the panel
// reports both (the account now has a key_confirmed membership), and the app
// chooses the flat (the membership is confirmed). Keys the operator registers
// and visitor codes residents create then open the door, checked by the panel.

// Defaults of pairing and visitor codes (issue 11; each configurable where
// the server is built).
const (
	DefaultPairingCodeLength = 6
	DefaultPairingCodeTTL    = 60 * time.Second
	// DefaultFlatChoiceTTL is how long a key_confirmed pairing waits for its
	// flat (the expire_in_seconds of intercom.key_confirmed).
	DefaultFlatChoiceTTL     = 10 * time.Minute
	DefaultVisitorCodeLength = 5
	DefaultMaxVisitorCodes   = 5
	// VisitorCodeMaxAhead is how far ahead a visitor code may expire.
	VisitorCodeMaxAhead = 30 * 24 * time.Hour
	// VisitorCodeRetention is how long an expired code stays listed.
	VisitorCodeRetention = 24 * time.Hour
	// An intercom without a range of its own takes these flats (API.md §3).
	DefaultFirstFlat = 1
	DefaultLastFlat  = 99999
	// MaxFlat is the highest flat number an operator may give.
	MaxFlat = 1<<31 - 1
	// MaxKeyID is the longest key id, in bytes.
	MaxKeyID = 64
)

// RandomDigits returns n random decimal digits (crypto/rand).
func RandomDigits(n int) string {
	var b strings.Builder
	ten := big.NewInt(10)
	for range n {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

// FlatRange is the flats an intercom serves: its own range, or the default.
func (ic Intercom) FlatRange() (first, last int64) {
	first, last = DefaultFirstFlat, DefaultLastFlat
	if ic.FirstFlat != nil {
		first = *ic.FirstFlat
	}
	if ic.LastFlat != nil {
		last = *ic.LastFlat
	}
	return first, last
}

// PairingCode is the code an account asked for to pair with an intercom: one
// live code per account. Client is the X-Client of the app that asked: the
// intercom.key_confirmed event speaks its dialect.
type PairingCode struct {
	UserID    int64
	Code      string
	Client    string
	ExpiresAt time.Time
}

// Key is an RFID/NFC key the operator registered for an intercom, as the
// panel reads its id. Flat, when set, is the only flat the key pairs for.
// UserID is the account that paired with it, if any.
type Key struct {
	IntercomID int64
	ID         string
	Flat       *int64
	Note       string
	UserID     *int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Problems of a pairing the panel reported.
const (
	PairUnknownCode  = "unknown_code"  // no live code: nobody to tell
	PairUnknownKey   = "unknown_key"   // the key is not registered for this intercom
	PairKeyTaken     = "key_taken"     // another account paired with this key
	PairAlreadyAdded = "already_added" // the account already has this intercom
)

// Pairing is what came of a code and a key typed at a panel. Problem is ""
// when the account now has a key_confirmed membership (View, as it sees it).
// UserID and Client are those of the code, 0 and "" when it named nobody.
type Pairing struct {
	Problem string
	UserID  int64
	Client  string
	View    IntercomView
}

// ValidKeyID reports whether s is a well-formed key id: 1–64 characters of
// A-Z a-z 0-9 . _ : -.
func ValidKeyID(s string) bool { return len(s) <= MaxKeyID && ValidDeviceUUID(s) }

// ParseKey validates PUT /api/admin/v1/intercoms/{id}/keys/{key}.
func ParseKey(body Body, intercomID int64, keyID string) (Key, error) {
	var p Problems
	body.Only(&p, "flat", "note")
	k := Key{IntercomID: intercomID, ID: keyID, Flat: body.Int("flat", 1, MaxFlat, &p)}
	if note := body.String("note", 255, &p); note != nil {
		k.Note = strings.TrimSpace(*note)
	}
	return k, p.Err()
}

// ParseFlat validates POST /api/v1/intercom/{intercom}/flat for an intercom
// serving flats first–last: a number or a string of digits (the SDKs send
// "15").
func ParseFlat(body Body, first, last int64) (int64, error) {
	var p Problems
	if v, ok := body["flat"]; !ok || v == nil || v == "" {
		p.Add("flat", MsgRequired("flat"))
		return 0, p.Err()
	}
	flat := body.Int("flat", first, last, &p)
	if err := p.Err(); err != nil {
		return 0, err
	}
	return *flat, nil
}

// Flat choice refusals, on key flat.
var (
	ErrFlatTaken    = Invalid("flat", "The flat has already been taken.")
	ErrFlatNotKey   = Invalid("flat", "The selected flat is invalid: the key is registered for another flat.")
	ErrTooManyCodes = Invalid("intercom", "The account already has the most live codes allowed.")
)

// IntercomSettings changes what the operator sets of an intercom after
// provisioning: a nil field is left as it is; FirstFlat/LastFlat pointing at
// nil clear the range.
type IntercomSettings struct {
	FirstFlat, LastFlat       **int64
	OpenDoorCode, OpenDoorKey *bool
	AnalogLine, LandlineLine  *bool
}

// parseIntercomSettings reads the operator's settings of an intercom,
// recording what is wrong in p.
func parseIntercomSettings(body Body, p *Problems) IntercomSettings {
	var s IntercomSettings
	for _, f := range []struct {
		key string
		dst ***int64
	}{{"first_flat", &s.FirstFlat}, {"last_flat", &s.LastFlat}} {
		if _, ok := body[f.key]; ok {
			v := body.Int(f.key, 1, MaxFlat, p)
			*f.dst = &v
		}
	}
	for _, f := range []struct {
		key string
		dst **bool
	}{{"is_open_door_code", &s.OpenDoorCode}, {"is_open_door_key", &s.OpenDoorKey},
		{"has_analog_line", &s.AnalogLine}, {"has_landline_sip_line", &s.LandlineLine}} {
		if v, ok := body[f.key]; ok {
			if b, ok := ParseBool(v, f.key, p); ok {
				*f.dst = &b
			}
		}
	}
	return s
}

// Apply changes ic as s says, and checks that its flat range is a range.
func (s IntercomSettings) Apply(ic *Intercom) error {
	if s.FirstFlat != nil {
		ic.FirstFlat = *s.FirstFlat
	}
	if s.LastFlat != nil {
		ic.LastFlat = *s.LastFlat
	}
	if s.OpenDoorCode != nil {
		ic.OpenDoorCode = *s.OpenDoorCode
	}
	if s.OpenDoorKey != nil {
		ic.OpenDoorKey = *s.OpenDoorKey
	}
	if s.AnalogLine != nil {
		ic.AnalogLine = *s.AnalogLine
	}
	if s.LandlineLine != nil {
		ic.LandlineLine = *s.LandlineLine
	}
	if first, last := ic.FlatRange(); first > last {
		return Invalid("last_flat", "The last flat field must be greater than or equal to first flat.")
	}
	return nil
}

// VisitorCode is a door code a resident made for a visitor: it opens the
// door of its intercom until ExpiredAt, and is listed until WillDeletedAt.
type VisitorCode struct {
	ID         int64
	UserID     int64
	IntercomID int64
	Title      string
	Code       string
	ExpiredAt  time.Time
	CreatedAt  time.Time
}

// WillDeletedAt is when the code is removed: a day after it expired.
func (c VisitorCode) WillDeletedAt() time.Time { return c.ExpiredAt.Add(VisitorCodeRetention) }

// Expired reports whether the code no longer opens the door at instant now.
func (c VisitorCode) Expired(now time.Time) bool { return !now.Before(c.ExpiredAt) }

// CodeTime is the form code dates are answered in, the one iOS decodes:
// 2030-01-01T12:00:00.000000Z (UTC).
const CodeTime = "2006-01-02T15:04:05.000000Z"

// codeTimeLayouts are the forms a visitor code's expired_at is accepted in:
// the iOS form (its formatter writes the zone as +0000), RFC 3339 with any
// zone, and Aipix's documented Y-m-d H:i:s (UTC, seconds optional).
var codeTimeLayouts = []struct {
	layout string
	utc    bool
}{
	{"2006-01-02T15:04:05.999999999Z07:00", false},
	{"2006-01-02T15:04:05.999999999Z0700", false},
	{"2006-01-02T15:04Z07:00", false},
	{time.DateTime, true},
	{"2006-01-02 15:04", true},
}

// ParseCodeTime parses a code date in any accepted form.
func ParseCodeTime(s string) (time.Time, bool) {
	for _, l := range codeTimeLayouts {
		t, err := time.Parse(l.layout, s)
		if err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// ParseVisitorCode validates POST /api/v1/intercom/{intercom}/codes at
// instant now: a title and an expired_at in the future, at most 30 days on.
func ParseVisitorCode(body Body, now time.Time) (VisitorCode, error) {
	var p Problems
	c := VisitorCode{Title: strings.TrimSpace(body.RequiredString("title", MaxTitle, &p)), CreatedAt: now}
	switch v := body["expired_at"].(type) {
	case nil:
		p.Add("expired_at", MsgRequired("expired_at"))
	case string:
		t, ok := ParseCodeTime(strings.TrimSpace(v))
		limit := now.Add(VisitorCodeMaxAhead)
		switch {
		case !ok:
			p.Add("expired_at", MsgDate("expired_at"))
		case !t.After(now):
			p.Add("expired_at", "The expired at field must be a date after now.")
		case t.After(limit):
			p.Add("expired_at", "The expired at field must be a date before or equal to "+limit.UTC().Format(time.DateTime)+".")
		default:
			c.ExpiredAt = t.Truncate(time.Microsecond)
		}
	default:
		p.Add("expired_at", MsgDate("expired_at"))
	}
	return c, p.Err()
}

// Access kinds: what a panel asks about.
const (
	AccessKey  = "key"
	AccessCode = "code"
)

// Reasons a door stays shut.
const (
	ReasonUnknownKey  = "unknown_key"
	ReasonUnknownCode = "unknown_code"
	ReasonExpiredCode = "expired_code"
	ReasonKeysOff     = "keys_not_supported"
	ReasonCodesOff    = "codes_not_supported"
	ReasonThrottled   = "throttled"
)

// AccessReasons are every reason an access entry may give.
var AccessReasons = []string{ReasonUnknownKey, ReasonUnknownCode, ReasonExpiredCode, ReasonKeysOff, ReasonCodesOff, ReasonThrottled}

// AccessEntry is one decision on a key or a code at a panel: who (the key
// or code, its account), when, and whether the door opened.
type AccessEntry struct {
	ID         int64
	IntercomID int64
	Kind       string // AccessKey or AccessCode
	Credential string // the key id or the code as the panel sent it
	UserID     *int64
	CodeID     *int64
	At         time.Time
	Open       bool
	Reason     string // "" when open
}

// AccessFilter narrows an access log. Zero fields do not filter.
type AccessFilter struct {
	Kind   string
	Open   *bool
	UserID int64
}

// DecideKey decides on a key at intercom ic: key is nil when the key is not
// registered for it.
func DecideKey(ic Intercom, key *Key, e *AccessEntry) {
	switch {
	case !ic.OpenDoorKey:
		e.Reason = ReasonKeysOff
	case key == nil:
		e.Reason = ReasonUnknownKey
	default:
		e.UserID, e.Open = key.UserID, true
	}
}

// DecideCode decides on a code at intercom ic at instant e.At: code is nil
// when no code of this intercom not yet removed matches.
func DecideCode(ic Intercom, code *VisitorCode, e *AccessEntry) {
	switch {
	case !ic.OpenDoorCode:
		e.Reason = ReasonCodesOff
	case code == nil:
		e.Reason = ReasonUnknownCode
	default:
		e.UserID, e.CodeID = &code.UserID, &code.ID
		if code.Expired(e.At) {
			e.Reason = ReasonExpiredCode
		} else {
			e.Open = true
		}
	}
}

// PairingFacts is what a store loads in Pair's transaction for
// DecidePairing: each engine loads these and writes what the decision says.
type PairingFacts struct {
	// CodeLive is whether the code typed was live (it is used up now);
	// UserID is then its account.
	CodeLive bool
	UserID   int64
	// KeyRegistered is whether the key is registered for the intercom.
	KeyRegistered bool
	// Confirmed is whether the code's account already has the intercom.
	Confirmed bool
	// Holder is the membership bound to the key, nil when none.
	Holder *KeyHolder
}

// KeyHolder is the membership a key is bound to: its account, its status
// and, for a pairing, until when it waits for its flat (nil: no limit).
type KeyHolder struct {
	UserID int64
	Status string
	FlatBy *time.Time
}

// PairingDecision is what DecidePairing decided.
type PairingDecision struct {
	// Problem is "" when the code's account gets a key_confirmed membership
	// bound to the key, replacing its pairing in progress if any.
	Problem string
	// ReleaseKey says the key's holder is a pairing whose time to choose a
	// flat has passed: it holds the key no more and is removed.
	ReleaseKey bool
}

// DecidePairing decides, at instant at, on a code and a key typed at a
// panel: a live code, then a registered key, then an account that does not
// have the intercom yet, then a key no other account holds.
func DecidePairing(f PairingFacts, at time.Time) PairingDecision {
	switch {
	case !f.CodeLive:
		return PairingDecision{Problem: PairUnknownCode}
	case !f.KeyRegistered:
		return PairingDecision{Problem: PairUnknownKey}
	}
	var d PairingDecision
	holder := f.Holder
	if holder != nil && holder.Status == StatusKeyConfirmed && holder.FlatBy != nil && !holder.FlatBy.After(at) {
		d.ReleaseKey, holder = true, nil
	}
	switch {
	case f.Confirmed:
		d.Problem = PairAlreadyAdded
	case holder != nil && holder.UserID != f.UserID:
		d.Problem = PairKeyTaken
	}
	return d
}

// FlatFacts is what a store loads in ChooseFlat's transaction, once it
// found the viewer's pairing waiting for its flat, for CheckFlat.
type FlatFacts struct {
	Intercom Intercom
	// KeyBound is whether the pairing is bound to a key; Key is that key,
	// nil when the operator deleted it since.
	KeyBound bool
	Key      *Key
	// Taken is whether another account's membership of the intercom has the
	// flat asked for.
	Taken bool
}

// CheckFlat decides whether a pairing may take flat: it must lie in the
// intercom's range (EINVALID), its key must still be registered (ENOTFOUND:
// a deleted key pairs no more) and be for that flat when it names one
// (ErrFlatNotKey), and no other account may have it (ErrFlatTaken).
func CheckFlat(f FlatFacts, flat int64) error {
	if first, last := f.Intercom.FlatRange(); flat < first || flat > last {
		return Invalid("flat", MsgBetween("flat", first, last))
	}
	switch {
	case f.KeyBound && f.Key == nil:
		return ErrNotFound
	case f.KeyBound && f.Key.Flat != nil && *f.Key.Flat != flat:
		return ErrFlatNotKey
	case f.Taken:
		return ErrFlatTaken
	}
	return nil
}
