package intercom

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Limits on a timetable (API.md §5).
const (
	MaxDayWindows = 64
	MaxIntervals  = 64
)

const secondsPerDay = 86400

// Day is the weekday a day window applies to: time.Weekday's numbering for
// Sunday..Saturday, and EveryDay for "same_every_day".
type Day int8

// EveryDay is the day of a "same_every_day" window.
const EveryDay Day = 7

var dayNames = [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "same_every_day"}

// String returns the API name of the day ("monday", "same_every_day").
func (d Day) String() string { return dayNames[d] }

func parseDay(s string) (Day, bool) {
	for i, n := range dayNames {
		if n == s {
			return Day(i), true
		}
	}
	return 0, false
}

// DayWindow admits wall-clock [From, To) seconds of the day in a fixed UTC
// offset, on the days whose weekday in that offset is Day. To < From crosses
// midnight; To == 86400 is the end of the day.
type DayWindow struct {
	Day    Day
	From   int32 // seconds since local midnight, 0..86399
	To     int32 // seconds since local midnight, 0..86400
	Offset int32 // seconds east of UTC
}

// Interval admits [From, To) in Unix seconds. Each end keeps the offset it
// was sent with, so that it is shown back as sent.
type Interval struct {
	From, To             int64
	FromOffset, ToOffset int32
}

// Timetable is one device's calling schedule for one intercom. The zero value
// has no windows and admits every instant.
type Timetable struct {
	Days      []DayWindow
	Intervals []Interval
}

// IsEmpty reports whether t has neither day windows nor intervals.
func (t Timetable) IsEmpty() bool { return len(t.Days) == 0 && len(t.Intervals) == 0 }

// Admits reports whether a call at instant at may ring under t: an empty
// timetable admits everything, otherwise at must fall in a day window or an
// interval. It does no I/O and does not allocate.
func (t Timetable) Admits(at time.Time) bool {
	if t.IsEmpty() {
		return true
	}
	u := at.Unix()
	for i := range t.Intervals {
		if iv := &t.Intervals[i]; u >= iv.From && u < iv.To {
			return true
		}
	}
	for i := range t.Days {
		if t.Days[i].admits(u) {
			return true
		}
	}
	return false
}

func (w *DayWindow) admits(unix int64) bool {
	local := unix + int64(w.Offset)
	day := local / secondsPerDay
	if local%secondsPerDay < 0 {
		day--
	}
	sod := int32(local - day*secondsPerDay)
	wd := Day((day%7 + 11) % 7) // 1970-01-01 was a Thursday (4).
	if w.From < w.To {
		return sod >= w.From && sod < w.To && w.on(wd)
	}
	// Crosses midnight: [From, 24:00) on the day, [00:00, To) on the next.
	if sod >= w.From {
		return w.on(wd)
	}
	return sod < w.To && w.on((wd+6)%7)
}

func (w *DayWindow) on(d Day) bool { return w.Day == EveryDay || w.Day == d }

// ParseTimetable validates a timetable decoded from JSON (a value produced by
// encoding/json with UseNumber) and returns it. Problems are recorded against
// key and its dotted sub-paths; the returned Timetable is meaningful only when
// none were recorded. days and intervals are optional, null counting as
// absent; a day window's time without an offset takes the other end's, and
// when neither end has one the window is in UTC.
func ParseTimetable(v any, key string, p *Problems) Timetable {
	var t Timetable
	obj, ok := v.(map[string]any)
	if !ok {
		p.Add(key, MsgArray(key))
		return t
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
				if w, ok := parseDayWindow(item, k+"."+strconv.Itoa(i), p); ok {
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
				if iv, ok := parseInterval(item, k+"."+strconv.Itoa(i), p); ok {
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

func parseDayWindow(v any, key string, p *Problems) (DayWindow, bool) {
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
		// Neither end has an offset: UTC, as Android's SDK documentation means it.
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

func parseInterval(v any, key string, p *Problems) (Interval, bool) {
	var iv Interval
	obj, ok := v.(map[string]any)
	if !ok {
		p.Add(key, MsgArray(key))
		return iv, false
	}
	var ends [2]int64
	var offs [2]int32
	good := true
	for i, name := range [2]string{"from", "to"} {
		s, ok := requiredString(obj, key, name, p)
		if !ok {
			good = false
			continue
		}
		unix, off, status := parseDateTime(s)
		switch status {
		case dateNoOffset:
			p.Add(key+"."+name, "The "+key+"."+name+" field must include a UTC offset.")
			good = false
		case dateInvalid:
			p.Add(key+"."+name, MsgDate(key+"."+name))
			good = false
		default:
			ends[i], offs[i] = unix, off
		}
	}
	if !good {
		return iv, false
	}
	if ends[1] <= ends[0] {
		p.Add(key+".to", "The "+key+".to field must be a date after "+key+".from.")
		return iv, false
	}
	iv.From, iv.To, iv.FromOffset, iv.ToOffset = ends[0], ends[1], offs[0], offs[1]
	return iv, true
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

const (
	dateOK = iota
	dateNoOffset
	dateInvalid
)

// parseDateTime parses an RFC 3339 date-time, seconds optional, fractions
// allowed (and truncated: the engine works in whole seconds), offset Z or
// ±HH:MM. It returns Unix seconds and the offset in seconds east of UTC.
func parseDateTime(s string) (int64, int32, int) {
	// YYYY-MM-DDTHH:MM
	if len(s) < 16 || s[4] != '-' || s[7] != '-' || s[13] != ':' ||
		(s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return 0, 0, dateInvalid
	}
	y1, ok1 := digits2(s, 0)
	y2, ok2 := digits2(s, 2)
	mo, ok3 := digits2(s, 5)
	d, ok4 := digits2(s, 8)
	h, ok5 := digits2(s, 11)
	mi, ok6 := digits2(s, 14)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 {
		return 0, 0, dateInvalid
	}
	year := y1*100 + y2
	if d > daysIn(time.Month(mo), year) {
		return 0, 0, dateInvalid
	}
	sec, rest := 0, s[16:]
	if len(rest) >= 3 && rest[0] == ':' {
		v, ok := digits2(rest, 1)
		if !ok || v > 59 {
			return 0, 0, dateInvalid
		}
		sec, rest = v, rest[3:]
		if len(rest) > 0 && rest[0] == '.' {
			n := 1
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				n++
			}
			if n == 1 || n > 10 {
				return 0, 0, dateInvalid
			}
			rest = rest[n:]
		}
	}
	if rest == "" {
		return 0, 0, dateNoOffset
	}
	off, ok := parseOffset(rest)
	if !ok {
		return 0, 0, dateInvalid
	}
	local := time.Date(year, time.Month(mo), d, h, mi, sec, 0, time.UTC).Unix()
	return local - int64(off), off, dateOK
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// appendOffset appends ±HH:MM.
func appendOffset(b []byte, off int32) []byte {
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b = append(b, sign)
	b = append2(b, int(off/3600))
	b = append(b, ':')
	return append2(b, int(off%3600/60))
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func appendClock(b []byte, sec, off int32) []byte {
	if sec >= secondsPerDay {
		sec = secondsPerDay - 1 // the end of the day is shown as 23:59:59
	}
	b = append2(b, int(sec/3600))
	b = append(b, ':')
	b = append2(b, int(sec%3600/60))
	b = append(b, ':')
	b = append2(b, int(sec%60))
	return appendOffset(b, off)
}

// FromString returns the window's start as the API shows it: HH:MM:SS±HH:MM.
func (w DayWindow) FromString() string { return string(appendClock(nil, w.From, w.Offset)) }

// ToString returns the window's end as the API shows it: HH:MM:SS±HH:MM, the
// end of the day being 23:59:59.
func (w DayWindow) ToString() string { return string(appendClock(nil, w.To, w.Offset)) }

// FromString returns the interval's start as YYYY-MM-DDTHH:MM:SS±HH:MM in the
// offset it was sent with.
func (iv Interval) FromString() string { return formatDateTime(iv.From, iv.FromOffset) }

// ToString returns the interval's end like FromString.
func (iv Interval) ToString() string { return formatDateTime(iv.To, iv.ToOffset) }

func formatDateTime(unix int64, off int32) string {
	t := time.Unix(unix+int64(off), 0).UTC()
	b := t.AppendFormat(make([]byte, 0, 25), "2006-01-02T15:04:05")
	return string(appendOffset(b, off))
}

// MarshalJSON writes the normalized form the API shows, with day keys in the
// seed's order (to, from, type).
func (t Timetable) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"days":[`)
	for i, w := range t.Days {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"to":"`)
		b.WriteString(w.ToString())
		b.WriteString(`","from":"`)
		b.WriteString(w.FromString())
		b.WriteString(`","type":"`)
		b.WriteString(w.Day.String())
		b.WriteString(`"}`)
	}
	b.WriteString(`],"intervals":[`)
	for i, iv := range t.Intervals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"from":"`)
		b.WriteString(iv.FromString())
		b.WriteString(`","to":"`)
		b.WriteString(iv.ToString())
		b.WriteString(`"}`)
	}
	b.WriteString(`]}`)
	return b.Bytes(), nil
}

// UnmarshalJSON parses a timetable with the same rules as the API, so that a
// stored timetable is read back by the one engine that validated it.
func (t *Timetable) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	var p Problems
	parsed := ParseTimetable(v, "timetable", &p)
	if err := p.Err(); err != nil {
		return err
	}
	*t = parsed
	return nil
}

// MarshalBinary encodes the timetable compactly for storage: reading it back
// is far cheaper than parsing JSON, which matters when a ring weighs a
// thousand devices' timetables.
func (t Timetable) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+len(t.Days)*10+len(t.Intervals)*24)
	b = append(b, 1) // format version
	b = binary.AppendUvarint(b, uint64(len(t.Days)))
	for _, w := range t.Days {
		b = append(b, byte(w.Day))
		b = binary.AppendVarint(b, int64(w.From))
		b = binary.AppendVarint(b, int64(w.To))
		b = binary.AppendVarint(b, int64(w.Offset))
	}
	b = binary.AppendUvarint(b, uint64(len(t.Intervals)))
	for _, iv := range t.Intervals {
		b = binary.AppendVarint(b, iv.From)
		b = binary.AppendVarint(b, iv.To)
		b = binary.AppendVarint(b, int64(iv.FromOffset))
		b = binary.AppendVarint(b, int64(iv.ToOffset))
	}
	return b, nil
}

var errTimetableEncoding = errors.New("timetable: bad binary encoding")

// UnmarshalBinary decodes what MarshalBinary wrote, checking every bound.
func (t *Timetable) UnmarshalBinary(b []byte) error {
	r := binReader{b: b}
	if r.byte() != 1 {
		return errTimetableEncoding
	}
	n := r.uvarint()
	if n > MaxDayWindows {
		return errTimetableEncoding
	}
	var out Timetable
	if n > 0 {
		out.Days = make([]DayWindow, n)
	}
	for i := range out.Days {
		w := DayWindow{Day: Day(r.byte()), From: int32(r.varint()), To: int32(r.varint()), Offset: int32(r.varint())}
		if w.Day > EveryDay || w.From < 0 || w.From >= secondsPerDay || w.To < 0 || w.To > secondsPerDay || w.From == w.To ||
			w.Offset < -18*3600 || w.Offset > 18*3600 {
			return errTimetableEncoding
		}
		out.Days[i] = w
	}
	if n = r.uvarint(); n > MaxIntervals {
		return errTimetableEncoding
	}
	if n > 0 {
		out.Intervals = make([]Interval, n)
	}
	for i := range out.Intervals {
		iv := Interval{From: r.varint(), To: r.varint(), FromOffset: int32(r.varint()), ToOffset: int32(r.varint())}
		if iv.To <= iv.From {
			return errTimetableEncoding
		}
		out.Intervals[i] = iv
	}
	if r.err || len(r.b) != 0 {
		return errTimetableEncoding
	}
	*t = out
	return nil
}

type binReader struct {
	b   []byte
	err bool
}

func (r *binReader) byte() byte {
	if len(r.b) == 0 {
		r.err = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *binReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *binReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}
