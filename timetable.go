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
