package http

import (
	"net/http"
	"strconv"

	"intercom"
	"intercom/wire"
)

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
	nonEmpty    = wire.NonEmpty
)

// maxLang is the longest hl header kept (a BCP 47 tag such as "ru-RU").
const maxLang = 35

// lang is the request's hl header, the language the app speaks, when it is
// a well-formed language tag ("ru", "en-US", "ru_RU"); "" otherwise: an
// optional header that is malformed is left out, not refused.
func lang(r *http.Request) string {
	hl := r.Header.Get("hl")
	if hl == "" || len(hl) > maxLang {
		return ""
	}
	for i, c := range []byte(hl) {
		letter := c|0x20 >= 'a' && c|0x20 <= 'z'
		switch {
		case letter:
		case i >= 2 && (c == '-' || c == '_' || c >= '0' && c <= '9'):
		default:
			return ""
		}
	}
	return hl
}
