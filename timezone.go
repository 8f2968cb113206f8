package intercom

import (
	"sync"
	"time"

	// The IANA zone database, embedded: time.LoadLocation falls back to it
	// when the host has none (a scratch or distroless image, Windows), so a
	// timetable's timezone is accepted, and rings, the same on every host.
	// It is imported here, in the domain, rather than in cmd/intercomd so that
	// every binary and test that parses a timetable has the same zones.
	_ "time/tzdata"
)

// MaxZoneName bounds a timetable's timezone before any lookup: the longest
// IANA name is about 30 bytes.
const MaxZoneName = 64

// Zone is an IANA time zone ("Europe/Berlin") in which a timetable's times
// without an offset are wall-clock times, following daylight saving. Zones
// are loaded once per name and shared: two timetables in the same zone hold
// the same *Zone, and a Zone is never changed. Loading is the work done
// ahead, once per name: reading the zone's offset at an instant from its
// *time.Location then neither allocates nor touches the disk (a table
// lookup; past the zone's last listed transition, its rule is applied).
type Zone struct {
	name string
	loc  *time.Location
}

var zones sync.Map // name → *Zone, only names that loaded

// LoadZone returns the zone named name, and false when name is not an IANA
// zone name. Names are checked before any lookup: at most MaxZoneName
// bytes of ASCII components, each starting with a capital letter ("Etc/GMT+3",
// "America/Argentina/Buenos_Aires"). That rules out "", "Local" (the host's
// own zone, which must never decide a resident's schedule), paths ("..",
// "/etc/…") and the files beside the zones in a zoneinfo directory
// ("localtime", "posixrules", "right/…").
func LoadZone(name string) (*Zone, bool) {
	if !zoneName(name) {
		return nil, false
	}
	if z, ok := zones.Load(name); ok {
		return z.(*Zone), true
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	z, _ := zones.LoadOrStore(name, newZone(name, loc))
	return z.(*Zone), true
}

func zoneName(s string) bool {
	if len(s) == 0 || len(s) > MaxZoneName || s == "Local" || s == "Factory" {
		return false
	}
	start := true // at the start of a component
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case start:
			if c < 'A' || c > 'Z' {
				return false
			}
			start = false
		case c == '/':
			start = true
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '+':
		default:
			return false
		}
	}
	return !start // not ending in '/'
}

func newZone(name string, loc *time.Location) *Zone { return &Zone{name: name, loc: loc} }

// String returns the zone's IANA name.
func (z *Zone) String() string { return z.name }

// Equal reports whether z and o are the same zone (or both nil).
func (z *Zone) Equal(o *Zone) bool {
	if z == nil || o == nil {
		return z == o
	}
	return z.name == o.name
}

// offsetAt returns the zone's UTC offset in seconds at instant at. It does
// not allocate.
func (z *Zone) offsetAt(at time.Time) int64 {
	_, off := at.In(z.loc).Zone()
	return int64(off)
}

// instant returns an instant whose wall clock in z reads wall (seconds
// since 1970-01-01T00:00 on that clock), as time.Date resolves it (a
// reading in a gap or an overlap gets one of the two offsets). It only
// orders an interval's ends of which one is zoned and the other is not.
func (z *Zone) instant(wall int64) int64 {
	t := time.Unix(wall, 0).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, z.loc).Unix()
}
