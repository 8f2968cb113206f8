package intercom

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"
)

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

// appendClock appends HH:MM:SS and, unless zoned, the offset.
func appendClock(b []byte, sec, off int32, zoned bool) []byte {
	if sec >= secondsPerDay {
		sec = secondsPerDay - 1 // the end of the day is shown as 23:59:59
	}
	b = append2(b, int(sec/3600))
	b = append(b, ':')
	b = append2(b, int(sec%3600/60))
	b = append(b, ':')
	b = append2(b, int(sec%60))
	if zoned {
		return b
	}
	return appendOffset(b, off)
}

// FromString returns the window's start as the API shows it: HH:MM:SS±HH:MM,
// or HH:MM:SS when it is zoned.
func (w DayWindow) FromString() string { return string(appendClock(nil, w.From, w.Offset, w.Zoned)) }

// ToString returns the window's end like FromString, the end of the day
// being 23:59:59.
func (w DayWindow) ToString() string { return string(appendClock(nil, w.To, w.Offset, w.Zoned)) }

// FromString returns the interval's start as YYYY-MM-DDTHH:MM:SS±HH:MM in the
// offset it was sent with, or YYYY-MM-DDTHH:MM:SS when it is zoned.
func (iv Interval) FromString() string { return formatDateTime(iv.From, iv.FromOffset, iv.FromZoned) }

// ToString returns the interval's end like FromString.
func (iv Interval) ToString() string { return formatDateTime(iv.To, iv.ToOffset, iv.ToZoned) }

// formatDateTime formats Unix second unix in offset off, or, when zoned, the
// zone's clock reading unix.
func formatDateTime(unix int64, off int32, zoned bool) string {
	t := time.Unix(unix+int64(off), 0).UTC()
	b := t.AppendFormat(make([]byte, 0, 25), "2006-01-02T15:04:05")
	if zoned {
		return string(b)
	}
	return string(appendOffset(b, off))
}

// MarshalJSON writes the normalized form the API shows, with day keys in the
// seed's order (to, from, type), and timezone last, only when there is one.
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
	b.WriteByte(']')
	if t.Zone != nil {
		b.WriteString(`,"timezone":"`)
		b.WriteString(t.Zone.name) // an IANA name: nothing to escape
		b.WriteByte('"')
	}
	b.WriteByte('}')
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

// Binary format versions: 1 has no zone; 2 starts with the zone's name and
// flags which times are zoned. A timetable without a zone is written in 1,
// so what was stored before zones existed reads the same and is the same.
const (
	binaryNoZone = 1
	binaryZone   = 2
	binaryZoned  = 0x80 // in a day window's day byte
)

var errTimetableEncoding = errors.New("timetable: bad binary encoding")

// MarshalBinary encodes the timetable compactly for storage: reading it back
// is far cheaper than parsing JSON, which matters when a ring weighs a
// thousand devices' timetables.
func (t Timetable) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+len(t.Days)*10+len(t.Intervals)*24)
	if t.Zone == nil {
		b = append(b, binaryNoZone)
	} else {
		b = append(b, binaryZone)
		b = binary.AppendUvarint(b, uint64(len(t.Zone.name)))
		b = append(b, t.Zone.name...)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Days)))
	for _, w := range t.Days {
		day := byte(w.Day)
		if w.Zoned {
			if t.Zone == nil {
				return nil, errTimetableEncoding
			}
			day |= binaryZoned
		}
		b = append(b, day)
		b = binary.AppendVarint(b, int64(w.From))
		b = binary.AppendVarint(b, int64(w.To))
		b = binary.AppendVarint(b, int64(w.Offset))
	}
	b = binary.AppendUvarint(b, uint64(len(t.Intervals)))
	for _, iv := range t.Intervals {
		if t.Zone != nil {
			var zoned byte
			if iv.FromZoned {
				zoned |= 1
			}
			if iv.ToZoned {
				zoned |= 2
			}
			b = append(b, zoned)
		} else if iv.FromZoned || iv.ToZoned {
			return nil, errTimetableEncoding
		}
		b = binary.AppendVarint(b, iv.From)
		b = binary.AppendVarint(b, iv.To)
		b = binary.AppendVarint(b, int64(iv.FromOffset))
		b = binary.AppendVarint(b, int64(iv.ToOffset))
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, checking every bound.
func (t *Timetable) UnmarshalBinary(b []byte) error {
	r := binReader{b: b}
	var out Timetable
	switch r.byte() {
	case binaryNoZone:
	case binaryZone:
		n := r.uvarint()
		if n > MaxZoneName || n > uint64(len(r.b)) {
			return errTimetableEncoding
		}
		z, ok := LoadZone(string(r.b[:n]))
		if !ok {
			return errTimetableEncoding
		}
		out.Zone, r.b = z, r.b[n:]
	default:
		return errTimetableEncoding
	}
	n := r.uvarint()
	if n > MaxDayWindows {
		return errTimetableEncoding
	}
	if n > 0 {
		out.Days = make([]DayWindow, n)
	}
	for i := range out.Days {
		day := r.byte()
		w := DayWindow{Day: Day(day &^ binaryZoned), From: int32(r.varint()), To: int32(r.varint()), Offset: int32(r.varint()),
			Zoned: day&binaryZoned != 0}
		if w.Day > EveryDay || w.From < 0 || w.From >= secondsPerDay || w.To < 0 || w.To > secondsPerDay || w.From == w.To ||
			w.Offset < -18*3600 || w.Offset > 18*3600 || (w.Zoned && (out.Zone == nil || w.Offset != 0)) {
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
		var zoned byte
		if out.Zone != nil {
			if zoned = r.byte(); zoned > 3 {
				return errTimetableEncoding
			}
		}
		iv := Interval{From: r.varint(), To: r.varint(), FromOffset: int32(r.varint()), ToOffset: int32(r.varint()),
			FromZoned: zoned&1 != 0, ToZoned: zoned&2 != 0}
		if (iv.FromZoned && iv.FromOffset != 0) || (iv.ToZoned && iv.ToOffset != 0) || !iv.ordered(out.Zone) {
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
