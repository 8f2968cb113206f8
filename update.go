package intercom

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// MaxTitle is the longest intercom title, in characters, after trimming.
const MaxTitle = 255

// IntercomUpdate is a validated PATCH /api/v1/intercom/{intercom}: each field
// is nil when it was not sent.
type IntercomUpdate struct {
	Title     *string    // the account's name for the intercom, trimmed
	IsEnabled *bool      // this device's call processing
	Timetable *Timetable // this device's schedule
	// The flat's handset and landline (FlatLines), shared by its accounts.
	Analog, Landline *bool
}

// ParseIntercomUpdate validates a request body decoded from JSON with
// UseNumber. Every field is optional and null counts as absent (Android's SDK
// sends every unset field as null), but a present field is validated fully
// and at least one must be present; every problem is reported at once.
func ParseIntercomUpdate(body map[string]any) (IntercomUpdate, error) {
	var u IntercomUpdate
	var p Problems
	rawTitle, hasTitle := present(body, "title")
	rawEnabled, hasEnabled := present(body, "is_enabled")
	rawTimetable, hasTimetable := present(body, "timetable")
	rawAnalog, hasAnalog := present(body, AnswerAnalog)
	rawLandline, hasLandline := present(body, AnswerLandline)
	if !hasTitle && !hasEnabled && !hasTimetable && !hasAnalog && !hasLandline {
		p.Add("title", "The title field is required when none of is enabled / timetable are present.")
		return u, p.Err()
	}
	if hasTitle {
		if t, ok := ParseTitle(rawTitle, "title", &p); ok {
			u.Title = &t
		}
	}
	if hasEnabled {
		if b, ok := ParseBool(rawEnabled, "is_enabled", &p); ok {
			u.IsEnabled = &b
		}
	}
	for _, f := range []struct {
		has bool
		raw any
		key string
		dst **bool
	}{{hasAnalog, rawAnalog, AnswerAnalog, &u.Analog}, {hasLandline, rawLandline, AnswerLandline, &u.Landline}} {
		if f.has {
			if b, ok := ParseBool(f.raw, f.key, &p); ok {
				*f.dst = &b
			}
		}
	}
	if hasTimetable {
		if isEmptyValue(rawTimetable) {
			p.Add("timetable", MsgRequired("timetable"))
		} else {
			t := ParseTimetable(rawTimetable, "timetable", &p)
			u.Timetable = &t
		}
	}
	if err := p.Err(); err != nil {
		return IntercomUpdate{}, err
	}
	return u, nil
}

// ParseTitle validates a title: a string, 1–255 characters once trimmed,
// without NUL.
func ParseTitle(v any, key string, p *Problems) (string, bool) {
	s, ok := v.(string)
	if v == nil {
		p.Add(key, MsgRequired(key))
		return "", false
	} else if !ok {
		p.Add(key, MsgString(key))
		return "", false
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		p.Add(key, MsgRequired(key))
		return "", false
	case utf8.RuneCountInString(s) > MaxTitle:
		p.Add(key, MsgMaxString(key, MaxTitle))
		return "", false
	case strings.ContainsRune(s, 0): // PostgreSQL cannot store it; no title needs it
		p.Add(key, MsgFormat(key))
		return "", false
	}
	return s, true
}

// ParseBool accepts what Laravel's boolean rule accepts (true, false, 1, 0,
// "1", "0") and the strings "true" and "false" that the seed's example sends.
func ParseBool(v any, key string, p *Problems) (bool, bool) {
	switch b := v.(type) {
	case nil:
		p.Add(key, MsgRequired(key))
		return false, false
	case bool:
		return b, true
	case json.Number:
		switch b {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	case string:
		switch b {
		case "1", "true":
			return true, true
		case "0", "false":
			return false, true
		}
	}
	p.Add(key, MsgBoolean(key))
	return false, false
}

// isEmptyValue is Laravel's notion of a value that fails "required": null,
// an empty or blank string, an empty array or object.
func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
