// Package http serves intercomd's API over HTTP: the client API the apps
// speak (/api/v1), the operator's admin API (/api/admin/v1), health checks,
// metrics and the OpenAPI document. Every route is in routes.go.
package http

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"intercom"
	"intercom/calls"
	"intercom/members"
	"intercom/pusher"
	"intercom/secrets"
)

// Config is what a Server needs: the services it is the transport of, and
// the settings of the transport. cmd/intercomd assembles them (package
// node).
type Config struct {
	// Store answers the reads the handlers make themselves (lists, views);
	// changes go through Calls and Members.
	Store   intercom.Store
	Calls   *calls.Service
	Members *members.Service
	Hub     *pusher.Hub // the Pusher socket server
	// Sessions records which token authorized a socket's subscription (the
	// Hub alone, or a cluster's).
	Sessions intercom.Sessions
	// Controller checks intercoms' control URLs when the operator gives
	// them; nil: only the host as written is judged.
	Controller intercom.Controller
	Logger     *slog.Logger
	Clock      intercom.Clock       // nil: the system clock
	Registry   *prometheus.Registry // served at /metrics with the HTTP metrics added; nil: those alone
	PublicURL  string               // scheme://host[:port] the API is reached at, for pagination links
	AdminToken string               // empty: the admin API answers 404
	// SIPAPIToken is the bearer token of the SIP server's API (/api/sip/v1);
	// empty: that API answers 404.
	SIPAPIToken string
	// RealIPHeader names the header a trusted reverse proxy puts the client's
	// address in (X-Forwarded-For, X-Real-IP); empty: the peer address is the
	// client's. Its last comma-separated value is used.
	RealIPHeader string
	// Web serves the residents' web app at / and /web/ (package web); nil:
	// those paths are 404 like any unknown one.
	Web http.Handler
	// SecretBox seals the control keys of the intercoms the operator
	// provisions (--secret-key-file); nil: they are stored unsealed.
	SecretBox *secrets.Box
	// PrivateAdmin and PrivateMetrics take the admin API (/api/admin/) and
	// /metrics off the public handler (ServeHTTP answers 404 there): they
	// are served by Private on listeners of their own.
	PrivateAdmin   bool
	PrivateMetrics bool
}

var _ intercom.Sessions = (*pusher.Hub)(nil)

// Server is the HTTP handler of intercomd: the transport of calls.Service
// and members.Service.
type Server struct {
	store        intercom.Store
	log          *slog.Logger
	clock        intercom.Clock
	now          func() time.Time
	hub          *pusher.Hub
	sessions     intercom.Sessions
	controller   intercom.Controller
	calls        *calls.Service
	members      *members.Service
	publicURL    string
	adminToken   string
	sipAPIToken  string
	realIPHeader string
	box          *secrets.Box
	mux          *http.ServeMux
	web          http.Handler
	// private is what ServeHTTP leaves to Private's handlers.
	private Paths

	ready readiness // what /readyz knows of the database (ready.go)

	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewServer returns a Server with every route registered.
func NewServer(c Config) *Server {
	s := &Server{
		store:        c.Store,
		log:          c.Logger,
		clock:        c.Clock,
		hub:          c.Hub,
		sessions:     c.Sessions,
		controller:   c.Controller,
		calls:        c.Calls,
		members:      c.Members,
		publicURL:    strings.TrimRight(c.PublicURL, "/"),
		adminToken:   c.AdminToken,
		sipAPIToken:  c.SIPAPIToken,
		realIPHeader: c.RealIPHeader,
		mux:          http.NewServeMux(),
		web:          c.Web,
		registry:     c.Registry,
		box:          c.SecretBox,
	}
	if s.box == nil {
		s.box, _ = secrets.NewBox(nil)
	}
	if c.PrivateAdmin {
		s.private |= AdminPaths
	}
	if c.PrivateMetrics {
		s.private |= MetricsPaths
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = intercom.SystemClock{}
	}
	s.now = s.clock.Now
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intercomd_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"route", "method", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "intercomd_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	s.registry.MustRegister(s.requests, s.latency, s.readyGauge())
	s.routes()
	return s
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	requestLogKey
)

// requestLog is what a request's log line says beyond what ServeHTTP sees:
// who it acted for, once authenticated.
type requestLog struct {
	userID int64 // 0: not authenticated
}

// noteUser records the account a request acts for, for its log line.
func noteUser(ctx context.Context, userID int64) {
	if l, ok := ctx.Value(requestLogKey).(*requestLog); ok {
		l.userID = userID
	}
}

// Paths names the groups of paths a private listener may serve.
type Paths uint8

const (
	AdminPaths   Paths = 1 << iota // the admin API, /api/admin/
	MetricsPaths                   // GET /metrics
)

// pathsOf is the group path belongs to, 0 when none.
func pathsOf(path string) Paths {
	switch {
	case strings.HasPrefix(path, "/api/admin/"):
		return AdminPaths
	case path == "/metrics":
		return MetricsPaths
	}
	return 0
}

// ServeHTTP runs a request through recovery, request ids, metrics, logging
// and the router; unmatched paths and methods get JSON 404 and 405 bodies.
// It is the public listener's handler: the paths taken off it
// (Config.PrivateAdmin, PrivateMetrics) answer 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, true, 0)
}

// Private is the handler of a private listener: it serves the groups of
// paths in only, each as ServeHTTP would, and answers 404 to any other.
func (s *Server) Private(only Paths) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, false, only) })
}

// serve is ServeHTTP for the public listener (every path but the private
// ones), or for a private one (the paths in groups only).
func (s *Server) serve(w http.ResponseWriter, r *http.Request, public bool, groups Paths) {
	start := time.Now()
	id := r.Header.Get("X-Request-ID")
	if len(id) == 0 || len(id) > 64 || !intercom.ValidDeviceUUID(id) {
		id = rand.Text()
	}
	w.Header().Set("X-Request-ID", id)
	w.Header().Set("X-Content-Type-Options", "nosniff") // every response, errors and operations included
	rl := &requestLog{}
	r = r.WithContext(context.WithValue(context.WithValue(r.Context(), requestIDKey, id), requestLogKey, rl))
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
			if sw.status == 0 {
				s.writeError(sw, r, &intercom.Error{Code: intercom.EINTERNAL, Message: "Server Error."})
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		status := strconv.Itoa(sw.code())
		s.requests.WithLabelValues(route, methodLabel(r.Method), status).Inc()
		s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.logRequest(r, rl, id, route, sw.code(), time.Since(start))
		}
	}()
	g := pathsOf(r.URL.Path)
	if public && g&s.private != 0 || !public && g&groups == 0 ||
		strings.HasPrefix(r.URL.Path, "/api/admin/") && s.adminToken == "" ||
		strings.HasPrefix(r.URL.Path, "/api/sip/") && s.sipAPIToken == "" {
		s.writeError(sw, r, intercom.ErrNotFound)
		return
	}
	// The mux is asked first so that its plain-text 404 and 405 become JSON;
	// ServeHTTP then routes again, as only it sets the path values.
	if h, pattern := s.mux.Handler(r); pattern == "" {
		s.unmatched(sw, r, h)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// logRequest writes a request's log line: its route pattern (never the
// path, which carries ids and, on some routes, a token), status, duration in
// milliseconds, the client's address (the trusted proxy's header when
// configured, as login throttles count it) and the account it acted for.
// Never a header's or the query's value.
func (s *Server) logRequest(r *http.Request, rl *requestLog, id, route string, status int, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("request_id", id),
		slog.String("method", methodLabel(r.Method)),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("client", s.clientAddr(r)),
	}
	if rl.userID != 0 {
		attrs = append(attrs, slog.Int64("user_id", rl.userID))
	}
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "request", attrs...)
}

// unmatched asks the mux's own handler for an unmatched request what it
// would have said (404, or 405 with Allow) and says it in JSON.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &probeWriter{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		s.writeError(w, r, &intercom.Error{Code: EMETHOD, Message: "The " + r.Method + " method is not supported for this route."})
		return
	}
	s.writeError(w, r, intercom.ErrNotFound)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header         { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeWriter) WriteHeader(code int)        { p.status = code }

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// methodLabel bounds the method label to the methods HTTP defines, so that a
// client sending made-up methods cannot grow the metrics without limit.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}
