package intercom

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// present returns obj[key] and whether it is there and not null: null counts
// as absent.
func present(obj map[string]any, key string) (any, bool) {
	v := obj[key]
	return v, v != nil
}

// Body is a decoded JSON request body. Its methods validate one field each,
// Laravel style, and record what is wrong in p.
type Body map[string]any

// RequiredString is a present, non-blank string of at most maxLen characters.
func (body Body) RequiredString(key string, maxLen int, p *Problems) string {
	switch v := body[key].(type) {
	case nil:
		p.Add(key, MsgRequired(key))
	case string:
		if strings.TrimSpace(v) == "" {
			p.Add(key, MsgRequired(key))
		} else if utf8.RuneCountInString(v) > maxLen {
			p.Add(key, MsgMaxString(key, maxLen))
		} else {
			return v
		}
	default:
		p.Add(key, MsgString(key))
	}
	return ""
}

// String is absent or null (nil), or a string of at most maxLen
// characters.
func (body Body) String(key string, maxLen int, p *Problems) *string {
	switch v := body[key].(type) {
	case nil:
	case string:
		if utf8.RuneCountInString(v) > maxLen {
			p.Add(key, MsgMaxString(key, maxLen))
		} else {
			return &v
		}
	default:
		p.Add(key, MsgString(key))
	}
	return nil
}

// Int is absent or null (nil), or an integer in [lo, hi], sent as a
// JSON number or a string of digits (the SDKs send flats as strings).
func (body Body) Int(key string, lo, hi int64, p *Problems) *int64 {
	v, ok := body[key]
	if !ok || v == nil {
		return nil
	}
	var s string
	switch t := v.(type) {
	case json.Number:
		s = string(t)
	case string:
		s = t
	default:
		p.Add(key, MsgInteger(key))
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.Add(key, MsgInteger(key))
		return nil
	}
	if n < lo || n > hi {
		p.Add(key, MsgBetween(key, lo, hi))
		return nil
	}
	return &n
}

// Float is absent or null (nil), or a number in [lo, hi].
func (body Body) Float(key string, lo, hi float64, p *Problems) *float64 {
	v, ok := body[key]
	if !ok || v == nil {
		return nil
	}
	n, isNum := v.(json.Number)
	f, err := n.Float64()
	if !isNum || err != nil {
		p.Add(key, MsgNumeric(key))
		return nil
	}
	if f < lo || f > hi {
		p.Add(key, MsgBetween(key, lo, hi))
		return nil
	}
	return &f
}

// Bool is absent (def), or a Laravel boolean.
func (body Body) Bool(key string, def bool, p *Problems) bool {
	v, ok := body[key]
	if !ok {
		return def
	}
	b, _ := ParseBool(v, key, p)
	return b
}

// OneOf is absent (def), or one of allowed.
func (body Body) OneOf(key, def string, allowed []string, p *Problems) string {
	v, ok := body[key]
	if !ok {
		return def
	}
	if s, ok := v.(string); ok {
		for _, a := range allowed {
			if s == a {
				return s
			}
		}
	}
	if v == nil {
		p.Add(key, MsgRequired(key))
	} else {
		p.Add(key, MsgIn(key))
	}
	return def
}
