package intercom

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes. Each maps to exactly one HTTP status in the http package.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	ETOOMANY      = "too_many_requests"
	EUNAVAILABLE  = "unavailable"
	EBADGATEWAY   = "bad_gateway" // an intercom refused or could not be reached
	ETIMEOUT      = "timeout"     // an intercom did not answer in time
)

// Error is the one error type of the domain. Code says what kind of failure it
// is; Message is safe to show to the caller; Fields carries, for EINVALID, every
// problem found, keyed by the dotted path of the input it concerns.
type Error struct {
	Code       string
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration // ETOOMANY and EUNAVAILABLE: how long the caller should wait.
}

// FieldError is the list of messages about one input key, in the order found.
type FieldError struct {
	Key      string
	Messages []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("intercom error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is the error for a missing resource or one that is not the caller's.
var ErrNotFound = &Error{Code: ENOTFOUND, Message: "Not found."}

// ErrUnwritable is the error of a write the database refused because it
// cannot take writes right now: a full disk, a read-only or immutable file, a
// server in read-only mode or out of resources. Engines return it wrapped
// with its cause (fmt.Errorf("%w: %w", ErrUnwritable, cause)), so that the
// cause reaches the logs and the caller sees only the message.
var ErrUnwritable = &Error{Code: EUNAVAILABLE, Message: "The database cannot take writes right now; try again later.",
	RetryAfter: 5 * time.Second}

// ErrorCode returns the code of err, EINTERNAL for errors that are not *Error,
// and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err; errors that are not
// *Error get a bare "Server Error." so no internals leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Server Error."
}

// Problems gathers validation problems in the order they are found, so that a
// request with several mistakes is told about all of them at once.
type Problems struct {
	fields []FieldError
	count  int
}

// Add records msg against key.
func (p *Problems) Add(key, msg string) {
	p.count++
	for i := range p.fields {
		if p.fields[i].Key == key {
			p.fields[i].Messages = append(p.fields[i].Messages, msg)
			return
		}
	}
	p.fields = append(p.fields, FieldError{Key: key, Messages: []string{msg}})
}

// Addf records a formatted message against key.
func (p *Problems) Addf(key, format string, args ...any) {
	p.Add(key, fmt.Sprintf(format, args...))
}

// Has reports whether any problem was recorded against key.
func (p *Problems) Has(key string) bool {
	for _, f := range p.fields {
		if f.Key == key {
			return true
		}
	}
	return false
}

// Len is the number of messages recorded.
func (p *Problems) Len() int { return p.count }

// Err returns nil when nothing was recorded, else an EINVALID *Error whose
// message is Laravel's summary: the first message and "(and N more errors)".
func (p *Problems) Err() error {
	if p.count == 0 {
		return nil
	}
	msg := p.fields[0].Messages[0]
	switch n := p.count - 1; {
	case n == 1:
		msg += " (and 1 more error)"
	case n > 1:
		msg += fmt.Sprintf(" (and %d more errors)", n)
	}
	return &Error{Code: EINVALID, Message: msg, Fields: p.fields}
}

// Invalid returns an EINVALID error with a single message on key.
func Invalid(key, msg string) error {
	var p Problems
	p.Add(key, msg)
	return p.Err()
}

// Attribute is how Laravel names an input key in a message: underscores
// become spaces ("is_enabled" → "is enabled"), dotted paths stay as they are.
func Attribute(key string) string {
	return strings.ReplaceAll(key, "_", " ")
}

// Laravel 10+ default English validation messages, by rule.

// MsgRequired is Laravel's "required" message.
func MsgRequired(key string) string { return "The " + Attribute(key) + " field is required." }

// MsgBoolean is Laravel's "boolean" message.
func MsgBoolean(key string) string {
	return "The " + Attribute(key) + " field must be true or false."
}

// MsgString is Laravel's "string" message.
func MsgString(key string) string { return "The " + Attribute(key) + " field must be a string." }

// MsgArray is Laravel's "array" message.
func MsgArray(key string) string { return "The " + Attribute(key) + " field must be an array." }

// MsgInteger is Laravel's "integer" message.
func MsgInteger(key string) string {
	return "The " + Attribute(key) + " field must be an integer."
}

// MsgNumeric is Laravel's "numeric" message.
func MsgNumeric(key string) string { return "The " + Attribute(key) + " field must be a number." }

// MsgIn is Laravel's "in" message.
func MsgIn(key string) string { return "The selected " + Attribute(key) + " is invalid." }

// MsgDate is Laravel's "date" message.
func MsgDate(key string) string {
	return "The " + Attribute(key) + " field must be a valid date."
}

// MsgMaxString is Laravel's "max" message for strings.
func MsgMaxString(key string, n int) string {
	return fmt.Sprintf("The %s field must not be greater than %d characters.", Attribute(key), n)
}

// MsgMinString is Laravel's "min" message for strings.
func MsgMinString(key string, n int) string {
	return fmt.Sprintf("The %s field must be at least %d characters.", Attribute(key), n)
}

// MsgMaxItems is Laravel's "max" message for arrays.
func MsgMaxItems(key string, n int) string {
	return fmt.Sprintf("The %s field must not have more than %d items.", Attribute(key), n)
}

// MsgBetween is Laravel's "between" message for numbers.
func MsgBetween(key string, lo, hi any) string {
	return fmt.Sprintf("The %s field must be between %v and %v.", Attribute(key), lo, hi)
}

// MsgTimezone is Laravel's "timezone" message.
func MsgTimezone(key string) string {
	return "The " + Attribute(key) + " field must be a valid timezone."
}

// MsgFormat is Laravel's "regex" message.
func MsgFormat(key string) string { return "The " + Attribute(key) + " field format is invalid." }

// SecondsText says a wait in whole seconds, rounded up: "1 second", "7 seconds".
func SecondsText(d time.Duration) string {
	n := int((d + time.Second - 1) / time.Second)
	if n == 1 {
		return "1 second"
	}
	return fmt.Sprint(n) + " seconds"
}
