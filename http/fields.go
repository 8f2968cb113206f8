package http

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"intercom"
	"intercom/wire"
)

// Helpers that validate one field of a decoded JSON body, Laravel style.

// requiredString is a present, non-blank string of at most maxLen characters.
func requiredString(body map[string]any, key string, maxLen int, p *intercom.Problems) string {
	switch v := body[key].(type) {
	case nil:
		p.Add(key, intercom.MsgRequired(key))
	case string:
		if strings.TrimSpace(v) == "" {
			p.Add(key, intercom.MsgRequired(key))
		} else if utf8.RuneCountInString(v) > maxLen {
			p.Add(key, intercom.MsgMaxString(key, maxLen))
		} else {
			return v
		}
	default:
		p.Add(key, intercom.MsgString(key))
	}
	return ""
}

// optionalString is absent or null (nil), or a string of at most maxLen
// characters.
func optionalString(body map[string]any, key string, maxLen int, p *intercom.Problems) *string {
	switch v := body[key].(type) {
	case nil:
	case string:
		if utf8.RuneCountInString(v) > maxLen {
			p.Add(key, intercom.MsgMaxString(key, maxLen))
		} else {
			return &v
		}
	default:
		p.Add(key, intercom.MsgString(key))
	}
	return nil
}

// optionalInt is absent or null (nil), or an integer in [lo, hi], sent as a
// JSON number or a string of digits (the SDKs send flats as strings).
func optionalInt(body map[string]any, key string, lo, hi int64, p *intercom.Problems) *int64 {
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
		p.Add(key, intercom.MsgInteger(key))
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.Add(key, intercom.MsgInteger(key))
		return nil
	}
	if n < lo || n > hi {
		p.Add(key, intercom.MsgBetween(key, lo, hi))
		return nil
	}
	return &n
}

// optionalFloat is absent or null (nil), or a number in [lo, hi].
func optionalFloat(body map[string]any, key string, lo, hi float64, p *intercom.Problems) *float64 {
	v, ok := body[key]
	if !ok || v == nil {
		return nil
	}
	n, isNum := v.(json.Number)
	f, err := n.Float64()
	if !isNum || err != nil {
		p.Add(key, intercom.MsgNumeric(key))
		return nil
	}
	if f < lo || f > hi {
		p.Add(key, intercom.MsgBetween(key, lo, hi))
		return nil
	}
	return &f
}

// optionalBool is absent (def), or a Laravel boolean.
func optionalBool(body map[string]any, key string, def bool, p *intercom.Problems) bool {
	v, ok := body[key]
	if !ok {
		return def
	}
	b, _ := intercom.ParseBool(v, key, p)
	return b
}

// oneOf is absent (def), or one of allowed.
func oneOf(body map[string]any, key, def string, allowed []string, p *intercom.Problems) string {
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
		p.Add(key, intercom.MsgRequired(key))
	} else {
		p.Add(key, intercom.MsgIn(key))
	}
	return def
}

// pathID parses a numeric path segment; anything else is 404.
func pathID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 || s[0] == '+' {
		return 0, intercom.ErrNotFound
	}
	return id, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// The API's time formats (wire).
var (
	sqlTime     = wire.SQLTime
	sqlTimePtr  = wire.SQLTimePtr
	laravelTime = wire.LaravelTime
)
