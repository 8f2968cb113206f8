package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"

	"intercom"
	"intercom/members"
)

// Error codes of the HTTP layer, beside the domain's.
const (
	EMALFORMED   = "malformed"          // 400: the body is not valid JSON
	EMETHOD      = "method"             // 405
	ETOOLARGE    = "too_large"          // 413
	EUNSUPPORTED = "unsupported"        // 415
	EFORBIDDEN   = "forbidden"          // 403
	EBADGATEWAY  = intercom.EBADGATEWAY // 502: an intercom refused or could not be reached
	ETIMEOUT     = intercom.ETIMEOUT    // 504: an intercom did not answer in time
	ESLOWCLIENT  = "slow_client"        // 408: the request body did not arrive in time, or the client went away
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[string]int{
	intercom.EINVALID:      http.StatusUnprocessableEntity,
	intercom.ENOTFOUND:     http.StatusNotFound,
	intercom.EUNAUTHORIZED: http.StatusUnauthorized,
	intercom.ECONFLICT:     http.StatusConflict,
	intercom.ETOOMANY:      http.StatusTooManyRequests,
	intercom.EUNAVAILABLE:  http.StatusServiceUnavailable,
	intercom.EINTERNAL:     http.StatusInternalServerError,
	EMALFORMED:             http.StatusBadRequest,
	EFORBIDDEN:             http.StatusForbidden,
	EMETHOD:                http.StatusMethodNotAllowed,
	ETOOLARGE:              http.StatusRequestEntityTooLarge,
	EUNSUPPORTED:           http.StatusUnsupportedMediaType,
	EBADGATEWAY:            http.StatusBadGateway,
	ETIMEOUT:               http.StatusGatewayTimeout,
	ESLOWCLIENT:            http.StatusRequestTimeout,
}

var errUnauthenticated = members.ErrUnauthenticated

// handlerFunc is a handler that returns its error for handle to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc to http.Handler.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError writes err as the JSON body API.md §2 describes. Internal errors
// are logged with the request id and shown as a bare message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The request ended (the client went away, or its body timed out)
		// while it was being served: not a fault of the server.
		err = errClientGone
	}
	code := intercom.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch {
	case status == http.StatusInternalServerError:
		s.log.Error("internal error", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
	case code == intercom.EUNAVAILABLE && r.Pattern != "GET /readyz":
		// The database refused: the cause is for the operator, the message
		// for the caller. /readyz logs its own changes of mind.
		s.log.Warn("database unavailable", "request_id", requestID(r.Context()), "method", r.Method, "route", r.Pattern, "error", err)
	}
	var e *intercom.Error
	errors.As(err, &e)
	if e != nil && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1_000_000_000)))
	}
	var b bytes.Buffer
	b.WriteString(`{"message":`)
	writeJSONString(&b, intercom.ErrorMessage(err))
	if e != nil && len(e.Fields) > 0 {
		b.WriteString(`,"errors":{`)
		for i, f := range e.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, f.Key)
			b.WriteString(":[")
			for j, m := range f.Messages {
				if j > 0 {
					b.WriteByte(',')
				}
				writeJSONString(&b, m)
			}
			b.WriteByte(']')
		}
		b.WriteByte('}')
	}
	b.WriteString("}\n")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// encode writes v as JSON with the given status.
func encode(w http.ResponseWriter, status int, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // links carry "&", which needs no escaping in JSON
	if err := enc.Encode(v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(b.Bytes())
	return err
}

// MaxBody is the largest request body accepted (API.md §2).
const MaxBody = 64 << 10

var (
	errTooLarge    = &intercom.Error{Code: ETOOLARGE, Message: "The request body is larger than 64 KiB."}
	errContentType = &intercom.Error{Code: EUNSUPPORTED, Message: "The request body must be application/json."}
	errNotJSON     = &intercom.Error{Code: EMALFORMED, Message: "The request body is not valid JSON."}
	errNotObject   = &intercom.Error{Code: EMALFORMED, Message: "The request body must be a JSON object."}
	errUnreadable  = &intercom.Error{Code: EMALFORMED, Message: "The request body could not be read."}
	errSlowBody    = &intercom.Error{Code: ESLOWCLIENT, Message: "The request body did not arrive in time."}
	errClientGone  = &intercom.Error{Code: ESLOWCLIENT, Message: "The request ended before it was served."}
)

// bodyError is the error for a body that could not be read: too large
// (413), too slow (408), or cut off (400). Never a server error.
func bodyError(r *http.Request, err error) error {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return errTooLarge
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return errSlowBody
	case r.Context().Err() != nil:
		return errClientGone
	}
	return errUnreadable
}

// decode reads a JSON object body into a map of values decoded with
// UseNumber, so that validation sees exactly what was sent. An empty body
// with no Content-Type is an empty object.
func decode(r *http.Request) (map[string]any, error) {
	if r.ContentLength > MaxBody {
		return nil, errTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		return nil, bodyError(r, err)
	}
	ct := r.Header.Get("Content-Type")
	if len(body) == 0 && ct == "" {
		return map[string]any{}, nil
	}
	if !isJSON(ct) {
		return nil, errContentType
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errNotJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotJSON
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errNotObject
	}
	return obj, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || (len(mt) > 17 && mt[:12] == "application/" && mt[len(mt)-5:] == "+json"))
}
