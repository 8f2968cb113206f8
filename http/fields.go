package http

import (
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
)
