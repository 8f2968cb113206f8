package intercom

import "time"

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

// DayWindow admits wall-clock [From, To) seconds of the day, on the days
// whose weekday on that clock is Day. The clock is a fixed UTC offset, or,
// when Zoned, the timetable's zone: then the window admits an instant when
// the zone's clock reads a time in [From, To) then, so that it follows
// daylight saving. To < From crosses midnight; To == 86400 is the end of the
// day.
type DayWindow struct {
	Day    Day
	From   int32 // seconds since local midnight, 0..86399
	To     int32 // seconds since local midnight, 0..86400
	Offset int32 // seconds east of UTC; 0 when Zoned
	Zoned  bool  // sent without an offset in a timetable with a zone
}

// Interval admits [From, To). An end with an offset is a Unix second and
// keeps the offset it was sent with, so that it is shown back as sent. An
// end sent without one in a timetable with a zone (FromZoned, ToZoned) is a
// reading of the zone's clock, in seconds since 1970-01-01T00:00 on it: the
// interval then admits an instant when the zone's clock reads at or after
// From (before To) then.
type Interval struct {
	From, To             int64
	FromOffset, ToOffset int32 // 0 for a zoned end
	FromZoned, ToZoned   bool
}

// Timetable is one device's calling schedule for one intercom. The zero value
// has no windows and admits every instant.
type Timetable struct {
	Days      []DayWindow
	Intervals []Interval
	// Zone is the zone the times sent without an offset are read in, or nil:
	// without one those are in UTC (day windows) or refused (intervals).
	Zone *Zone
}

// IsEmpty reports whether t has neither day windows nor intervals (a zone
// alone restricts nothing).
func (t Timetable) IsEmpty() bool { return len(t.Days) == 0 && len(t.Intervals) == 0 }

// Admits reports whether a call at instant at may ring under t: an empty
// timetable admits everything, otherwise at must fall in a day window or an
// interval. It does no I/O and does not allocate.
func (t Timetable) Admits(at time.Time) bool {
	if t.IsEmpty() {
		return true
	}
	u := at.Unix()
	if t.Zone == nil { // every time has its offset
		for i := range t.Intervals {
			if iv := &t.Intervals[i]; u >= iv.From && u < iv.To {
				return true
			}
		}
		for i := range t.Days {
			if w := &t.Days[i]; w.admits(u + int64(w.Offset)) {
				return true
			}
		}
		return false
	}
	wall := u + t.Zone.offsetAt(at) // the zone's clock at u, in seconds since its 1970-01-01T00:00
	for i := range t.Intervals {
		if t.Intervals[i].admits(u, wall) {
			return true
		}
	}
	for i := range t.Days {
		w := &t.Days[i]
		local := wall
		if !w.Zoned {
			local = u + int64(w.Offset)
		}
		if w.admits(local) {
			return true
		}
	}
	return false
}

func (iv *Interval) admits(unix, wall int64) bool {
	from, to := unix, unix
	if iv.FromZoned {
		from = wall
	}
	if iv.ToZoned {
		to = wall
	}
	return from >= iv.From && to < iv.To
}

// admits reports whether the window admits the instant whose reading of the
// window's clock is local, in seconds since 1970-01-01T00:00 on that clock.
func (w *DayWindow) admits(local int64) bool {
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
