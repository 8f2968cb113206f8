package intercom

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// The flat's handset and landline (API.md §6). Many intercoms also ring a
// flat's analog handset, and some forward the ring to a SIP landline. The
// operator says which lines an intercom has (Intercom.AnalogLine,
// LandlineLine) and sets each flat's landline; the flat's residents choose,
// for all of them at once, whether a ring reaches the handset and the
// landline (FlatLines). The ring answer tells the panel (CallLines), and the
// panel reports when one of them answers (Call.AnswerOn).

// What can answer a call, as available_answer_devices names it (the iOS
// SDK's enum): the apps always, then the lines the flat has.
const (
	AnswerApps     = "is_enabled"
	AnswerAnalog   = "is_analog_line_available"
	AnswerLandline = "is_landline_sip_line_available"
)

// Lines a call may ring besides the apps: the by of the panel's report that
// one answered, and Call.AnsweredOn.
const (
	LineAnalog   = "analog"
	LineLandline = "landline"
)

// Lines are the values of by.
var Lines = []string{LineAnalog, LineLandline}

// MaxLandlineURI is the longest landline URI, in bytes.
const MaxLandlineURI = 255

// FlatLines is what a flat chose for its handset and landline, shared by
// every account of the flat, with the landline's SIP URI the operator set
// ("" when none). A flat that never chose has DefaultFlatLines: the handset
// rings, as it did before there were apps; the landline rings once asked to.
type FlatLines struct {
	Analog, Landline bool
	LandlineURI      string
}

// FlatKey is the flat a flat's lines are stored under: the flat's number,
// or -1 for a private house (members without a flat), a number no flat has.
func FlatKey(flat *int64) int64 {
	if flat == nil {
		return -1
	}
	return *flat
}

// DefaultFlatLines is what a flat that never chose has.
var DefaultFlatLines = FlatLines{Analog: true}

// AnswerDevices lists what can answer a call to a flat with lines fl at
// intercom ic: the apps, the handset when the intercom has analog lines,
// the landline when it forwards to landlines and the flat has one.
func AnswerDevices(ic Intercom, fl FlatLines) []string {
	out := []string{AnswerApps}
	if ic.AnalogLine {
		out = append(out, AnswerAnalog)
	}
	if landlineAvailable(ic, fl) {
		out = append(out, AnswerLandline)
	}
	return out
}

func landlineAvailable(ic Intercom, fl FlatLines) bool {
	return ic.LandlineLine && fl.LandlineURI != ""
}

// AnalogOn and LandlineOn are the flat's settings as the apps see them:
// false for a line the flat does not have.
func (fl FlatLines) AnalogOn(ic Intercom) bool   { return ic.AnalogLine && fl.Analog }
func (fl FlatLines) LandlineOn(ic Intercom) bool { return landlineAvailable(ic, fl) && fl.Landline }

// CallLines are the lines a ring rings besides the apps: the handset, and
// the landline's URI when the ring is forwarded there ("" when not).
type CallLines struct {
	Analog   bool
	Landline string
}

// Any reports whether the ring rings a line.
func (l CallLines) Any() bool { return l.Analog || l.Landline != "" }

// Has reports whether the ring rang line (LineAnalog, LineLandline).
func (l CallLines) Has(line string) bool {
	switch line {
	case LineAnalog:
		return l.Analog
	case LineLandline:
		return l.Landline != ""
	}
	return false
}

// Rings is what a ring to the flat rings at intercom ic now: what the flat
// chose, of the lines it has.
func (fl FlatLines) Rings(ic Intercom) CallLines {
	l := CallLines{Analog: fl.AnalogOn(ic)}
	if fl.LandlineOn(ic) {
		l.Landline = fl.LandlineURI
	}
	return l
}

// ApplyLines applies the lines of an app's PATCH to the flat's at ic and
// reports whether it changed a choice of the flat. Turning on a line the
// flat does not have is a 422 on that setting, and nothing changes; turning
// one off is what the intercom object already says of it (false), which an
// app may send back with its other settings: nothing to change.
func (u IntercomUpdate) ApplyLines(ic Intercom, fl *FlatLines) (bool, error) {
	analog := u.Analog != nil && ic.AnalogLine
	landline := u.Landline != nil && landlineAvailable(ic, *fl)
	var p Problems
	if u.Analog != nil && *u.Analog && !analog {
		p.Add(AnswerAnalog, "The intercom has no analog handset line.")
	}
	if u.Landline != nil && *u.Landline && !landline {
		p.Add(AnswerLandline, "The flat has no landline to forward calls to.")
	}
	if err := p.Err(); err != nil {
		return false, err
	}
	if analog {
		fl.Analog = *u.Analog
	}
	if landline {
		fl.Landline = *u.Landline
	}
	return analog || landline, nil
}

// FlatLinesUpdate is a validated PATCH /api/admin/v1/intercoms/{id}/flats/{flat}:
// each field nil when not sent; LandlineURI pointing at "" clears it.
type FlatLinesUpdate struct {
	Analog, Landline *bool
	LandlineURI      *string
}

// flatLinesKeys are the fields an operator may send for a flat.
var flatLinesKeys = []string{"landline_uri", AnswerAnalog, AnswerLandline}

// ParseFlatLinesUpdate validates the operator's settings of a flat: the
// landline's URI (sip: or sips:, null or "" for none) and the flat's
// choices. An unknown field is a 422 naming it.
func ParseFlatLinesUpdate(body Body) (FlatLinesUpdate, error) {
	var u FlatLinesUpdate
	var p Problems
	for k := range body {
		if !slices.Contains(flatLinesKeys, k) {
			p.Add(k, "The "+Attribute(k)+" field is not a setting of a flat.")
		}
	}
	if v, ok := body["landline_uri"]; ok {
		s, isString := v.(string)
		switch {
		case v == nil || isString && strings.TrimSpace(s) == "":
			empty := ""
			u.LandlineURI = &empty
		case !isString:
			p.Add("landline_uri", MsgString("landline_uri"))
		case !ValidLandlineURI(s):
			p.Add("landline_uri", "The landline uri field must be a sip: or sips: URI of at most 255 characters, such as sip:+15551234567@gateway.example.")
		default:
			u.LandlineURI = &s
		}
	}
	for _, f := range []struct {
		key string
		dst **bool
	}{{AnswerAnalog, &u.Analog}, {AnswerLandline, &u.Landline}} {
		if v, ok := present(body, f.key); ok {
			if b, ok := ParseBool(v, f.key, &p); ok {
				*f.dst = &b
			}
		}
	}
	if p.Len() == 0 && u.LandlineURI == nil && u.Analog == nil && u.Landline == nil {
		p.Add("landline_uri", "The landline uri field is required when none of is analog line available / is landline sip line available are present.")
	}
	return u, p.Err()
}

// Apply changes fl as u says.
func (u FlatLinesUpdate) Apply(fl *FlatLines) {
	if u.LandlineURI != nil {
		fl.LandlineURI = *u.LandlineURI
	}
	if u.Analog != nil {
		fl.Analog = *u.Analog
	}
	if u.Landline != nil {
		fl.Landline = *u.Landline
	}
}

// ValidLandlineURI reports whether s is a SIP URI a panel can dial: sip: or
// sips:, a host, no spaces or control characters, at most MaxLandlineURI
// bytes.
func ValidLandlineURI(s string) bool {
	if len(s) > MaxLandlineURI || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "sip" && u.Scheme != "sips") || u.Opaque == "" {
		return false
	}
	// sip:[user[:password]@]host[:port][;params][?headers]
	rest := u.Opaque
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if at == 0 {
			return false
		}
		rest = rest[at+1:]
	}
	host, _, _ := strings.Cut(rest, ";")
	host, _, _ = strings.Cut(host, "?")
	return host != "" && host[0] != ':'
}
