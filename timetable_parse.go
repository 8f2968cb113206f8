package intercom

import (
	"strconv"
	"time"
)

func parseDay(s string) (Day, bool) {
	for i, n := range dayNames {
		if n == s {
			return Day(i), true
		}
	}
	return 0, false
}

// ParseTimetable validates a timetable decoded from JSON (a value produced by
// encoding/json with UseNumber) and returns it. Problems are recorded against
// key and its dotted sub-paths; the returned Timetable is meaningful only when
// none were recorded. days, intervals and timezone are optional, null
// counting as absent; a day window's time without an offset takes the other
// end's, and when neither end has one the window is in the timetable's
// timezone, or else in UTC. An interval's end without an offset is in the
// timezone, and refused without one.
func ParseTimetable(v any, key string, p *Problems) Timetable {
	var t Timetable
	obj, ok := v.(map[string]any)
	if !ok {
		p.Add(key, MsgArray(key))
		return t
	}
	// wall: times without an offset are the zone's wall-clock times, even
	// when the zone itself was refused (then only its own problem is told).
	wall := false
	if raw, ok := present(obj, "timezone"); ok {
		k := key + ".timezone"
		wall = true
		if s, ok := raw.(string); !ok {
			p.Add(k, MsgString(k))
		} else if t.Zone, ok = LoadZone(s); !ok {
			p.Add(k, MsgTimezone(k))
		}
	}
	if raw, ok := present(obj, "days"); ok {
		k := key + ".days"
		if items, ok := raw.([]any); !ok {
			p.Add(k, MsgArray(k))
		} else if len(items) > MaxDayWindows {
			p.Add(k, MsgMaxItems(k, MaxDayWindows))
		} else {
			t.Days = make([]DayWindow, 0, len(items))
			for i, item := range items {
				if w, ok := parseDayWindow(item, k+"."+strconv.Itoa(i), wall, p); ok {
					t.Days = append(t.Days, w)
				}
			}
		}
	}
	if raw, ok := present(obj, "intervals"); ok {
		k := key + ".intervals"
		if items, ok := raw.([]any); !ok {
			p.Add(k, MsgArray(k))
		} else if len(items) > MaxIntervals {
			p.Add(k, MsgMaxItems(k, MaxIntervals))
		} else {
			t.Intervals = make([]Interval, 0, len(items))
			for i, item := range items {
				if iv, ok := parseInterval(item, k+"."+strconv.Itoa(i), wall, t.Zone, p); ok {
					t.Intervals = append(t.Intervals, iv)
				}
			}
		}
	}
	return t
}

// requiredString fetches obj[name] as a non-empty string, recording a problem
// under key+"."+name otherwise.
func requiredString(obj map[string]any, key, name string, p *Problems) (string, bool) {
	k := key + "." + name
	switch s := obj[name].(type) {
	case nil:
		p.Add(k, MsgRequired(k))
	case string:
		if s == "" {
			p.Add(k, MsgRequired(k))
			return "", false
		}
		return s, true
	default:
		p.Add(k, MsgString(k))
	}
	return "", false
}

func parseDayWindow(v any, key string, wall bool, p *Problems) (DayWindow, bool) {
	var w DayWindow
	obj, ok := v.(map[string]any)
	if !ok {
		p.Add(key, MsgArray(key))
		return w, false
	}
	good := true
	switch s := obj["type"].(type) {
	case nil:
		p.Add(key+".type", MsgRequired(key+".type"))
		good = false
	case string:
		if s == "" {
			p.Add(key+".type", MsgRequired(key+".type"))
			good = false
		} else if w.Day, ok = parseDay(s); !ok {
			p.Add(key+".type", MsgIn(key+".type"))
			good = false
		}
	default:
		p.Add(key+".type", MsgIn(key+".type"))
		good = false
	}
	var ends [2]clock
	for i, name := range [2]string{"from", "to"} {
		s, ok := requiredString(obj, key, name, p)
		if !ok {
			good = false
			continue
		}
		if ends[i], ok = parseClock(s); !ok {
			p.Add(key+"."+name, "The "+key+"."+name+" field must be a time in the format HH:MM[:SS]±HH:MM.")
			good = false
		}
	}
	if !good {
		return w, false
	}
	from, to := ends[0], ends[1]
	switch {
	case !from.hasOffset && !to.hasOffset:
		// Neither end has an offset: the timetable's zone, or else UTC, as
		// Android's SDK documentation means it.
		w.Zoned = wall
	case !from.hasOffset:
		from.offset = to.offset
	case !to.hasOffset:
		to.offset = from.offset
	case from.offset != to.offset:
		p.Add(key+".to", "The "+key+".to field must have the same UTC offset as "+key+".from.")
		return w, false
	}
	w.From, w.To, w.Offset = from.sec, to.sec, from.offset
	if to.endOfDay {
		w.To = secondsPerDay // so "23:59:59" to "23:59" is one second, and stays so when shown
	}
	if w.From == w.To {
		p.Add(key+".to", "The "+key+".to field and "+key+".from must be different.")
		return w, false
	}
	return w, true
}

func parseInterval(v any, key string, wall bool, zone *Zone, p *Problems) (Interval, bool) {
	var iv Interval
	obj, ok := v.(map[string]any)
	if !ok {
		p.Add(key, MsgArray(key))
		return iv, false
	}
	var ends [2]dateTime
	good := true
	for i, name := range [2]string{"from", "to"} {
		s, ok := requiredString(obj, key, name, p)
		if !ok {
			good = false
			continue
		}
		d, ok := parseDateTime(s)
		switch {
		case !ok:
			p.Add(key+"."+name, MsgDate(key+"."+name))
			good = false
		case !d.hasOffset && !wall:
			p.Add(key+"."+name, "The "+key+"."+name+" field must include a UTC offset.")
			good = false
		default:
			ends[i] = d
		}
	}
	if !good {
		return iv, false
	}
	from, to := ends[0], ends[1]
	iv = Interval{From: from.unix(), To: to.unix(), FromOffset: from.offset, ToOffset: to.offset,
		FromZoned: !from.hasOffset, ToZoned: !to.hasOffset}
	if zone == nil && (iv.FromZoned || iv.ToZoned) {
		return iv, false // the timezone was refused: that is the problem told
	}
	if !iv.ordered(zone) {
		p.Add(key+".to", "The "+key+".to field must be a date after "+key+".from.")
		return iv, false
	}
	return iv, true
}

// ordered reports whether the interval's to is after its from: both read
// on the zone's clock when both are zoned, else as instants.
func (iv *Interval) ordered(zone *Zone) bool {
	from, to := iv.From, iv.To
	if iv.FromZoned != iv.ToZoned {
		if iv.FromZoned {
			from = zone.instant(from)
		} else {
			to = zone.instant(to)
		}
	}
	return to > from
}

// clock is a parsed time of day.
type clock struct {
	sec       int32
	offset    int32
	hasOffset bool
	endOfDay  bool // written as 23:59 or 23:59:59
}

// parseClock parses HH:MM or HH:MM:SS, optionally followed by Z or ±HH:MM.
func parseClock(s string) (clock, bool) {
	var c clock
	if len(s) < 5 {
		return c, false
	}
	h, ok1 := digits2(s, 0)
	m, ok2 := digits2(s, 3)
	if !ok1 || !ok2 || s[2] != ':' || h > 23 || m > 59 {
		return c, false
	}
	sec, rest := 0, s[5:]
	hasSec := false
	if len(rest) >= 3 && rest[0] == ':' {
		v, ok := digits2(rest, 1)
		if !ok || v > 59 {
			return c, false
		}
		sec, rest, hasSec = v, rest[3:], true
	}
	c.sec = int32(h*3600 + m*60 + sec)
	c.endOfDay = h == 23 && m == 59 && (!hasSec || sec == 59)
	if rest == "" {
		return c, true
	}
	off, ok := parseOffset(rest)
	if !ok {
		return c, false
	}
	c.offset, c.hasOffset = off, true
	return c, true
}

// parseOffset parses Z (or z) or ±HH:MM with |offset| ≤ 18:00.
func parseOffset(s string) (int32, bool) {
	if s == "Z" || s == "z" {
		return 0, true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	h, ok1 := digits2(s, 1)
	m, ok2 := digits2(s, 4)
	if !ok1 || !ok2 || m > 59 || h*60+m > 18*60 {
		return 0, false
	}
	off := int32(h*3600 + m*60)
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

func digits2(s string, i int) (int, bool) {
	if i+2 > len(s) || s[i] < '0' || s[i] > '9' || s[i+1] < '0' || s[i+1] > '9' {
		return 0, false
	}
	return int(s[i]-'0')*10 + int(s[i+1]-'0'), true
}

// dateTime is a parsed date-time: local is seconds since 1970-01-01T00:00
// on the clock it was written in, offset that clock's, when it has one.
type dateTime struct {
	local     int64
	offset    int32
	hasOffset bool
}

// unix is the date-time's Unix second, or its local reading when it has no
// offset.
func (d dateTime) unix() int64 { return d.local - int64(d.offset) }

// parseDateTime parses an RFC 3339 date-time, seconds optional, fractions
// allowed (and truncated: the engine works in whole seconds), offset Z or
// ±HH:MM or none.
func parseDateTime(s string) (dateTime, bool) {
	var dt dateTime
	// YYYY-MM-DDTHH:MM
	if len(s) < 16 || s[4] != '-' || s[7] != '-' || s[13] != ':' ||
		(s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return dt, false
	}
	y1, ok1 := digits2(s, 0)
	y2, ok2 := digits2(s, 2)
	mo, ok3 := digits2(s, 5)
	d, ok4 := digits2(s, 8)
	h, ok5 := digits2(s, 11)
	mi, ok6 := digits2(s, 14)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 {
		return dt, false
	}
	year := y1*100 + y2
	if d > daysIn(time.Month(mo), year) {
		return dt, false
	}
	sec, rest := 0, s[16:]
	if len(rest) >= 3 && rest[0] == ':' {
		v, ok := digits2(rest, 1)
		if !ok || v > 59 {
			return dt, false
		}
		sec, rest = v, rest[3:]
		if len(rest) > 0 && rest[0] == '.' {
			n := 1
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				n++
			}
			if n == 1 || n > 10 {
				return dt, false
			}
			rest = rest[n:]
		}
	}
	dt.local = time.Date(year, time.Month(mo), d, h, mi, sec, 0, time.UTC).Unix()
	if rest == "" {
		return dt, true
	}
	off, ok := parseOffset(rest)
	if !ok {
		return dt, false
	}
	dt.offset, dt.hasOffset = off, true
	return dt, true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
