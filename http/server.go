// Package http serves intercomd's API over HTTP: the client API the apps
// speak (/api/v1), the operator's admin API (/api/admin/v1), health checks,
// metrics and the OpenAPI document. Every route is in routes.go.
package http

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"intercom"
	"intercom/calls"
	"intercom/local"
	"intercom/members"
	"intercom/password"
	"intercom/push"
	"intercom/pusher"
)

// Config is what a Server needs. Zero durations take the defaults of API.md §8.
type Config struct {
	Store  intercom.Store
	Logger *slog.Logger
	Clock  intercom.Clock // nil: the system clock
	Hub    *pusher.Hub    // the Pusher socket server events go through
	// Sessions closes the sockets of tokens and accounts that ended; nil:
	// the Hub, which holds every socket of a single process.
	Sessions     intercom.Sessions
	PublicURL    string        // scheme://host[:port] the API is reached at, for pagination links
	AdminToken   string        // empty: the admin API answers 404
	TokenTTL     time.Duration // lifetime of an access token
	OfflineAfter time.Duration // an intercom without a heartbeat for this long is offline
	RingTimeout  time.Duration // a call still ringing this long is missed
	// AnswerConnectTimeout and MaxCallDuration bound a conversation
	// (calls.Config); zero takes their defaults.
	AnswerConnectTimeout time.Duration
	MaxCallDuration      time.Duration
	SIPHost              string // the SIP domain an answering app registers with
	SIPWSURL             string // the SIP-over-WebSocket URL an answering app connects to
	SIPSecret            []byte // signs the short-lived SIP tokens (HS256) and derives the panels' SIP passwords
	// ICEURLs are the TURN and STUN servers (turn:, turns:, stun:, stuns:
	// URLs) the answer to start names in ice_servers; none: no ice_servers.
	ICEURLs []string
	// TURNSecret is the TURN server's static-auth-secret, from which the
	// turn: and turns: URLs' credentials are derived (calls.TURNCredential).
	TURNSecret []byte
	// SIPAPIToken is the bearer token of the SIP server's API (/api/sip/v1);
	// empty: that API answers 404.
	SIPAPIToken string
	// PushProviders ring devices whose app is not connected; one not given is
	// not a channel.
	PushProviders   []intercom.PushProvider
	PushConcurrency int // sends in flight per provider; default 64
	// PushAttemptTimeout bounds one attempt of a send (push.Config); zero:
	// its default.
	PushAttemptTimeout time.Duration
	// PushSleep waits between the attempts of a send (push.Config); nil:
	// real time. Tests pass one that moves their clock.
	PushSleep func(ctx context.Context, d time.Duration) error
	// Controller posts door commands and call events to intercoms' control
	// URLs; nil: doors cannot be opened from the apps.
	Controller intercom.Controller
	LoginMax   int // failed logins allowed per login and per address in LoginWindow
	// HashConcurrency bounds the password hashes (19 MiB each) running at
	// once; 0: GOMAXPROCS. Logins beyond it wait, as long as their request.
	HashConcurrency int
	LoginWindow     time.Duration
	// RealIPHeader names the header a trusted reverse proxy puts the client's
	// address in (X-Forwarded-For, X-Real-IP); empty: the peer address is the
	// client's. Its last comma-separated value is used.
	RealIPHeader string

	// The seams of a cluster (package intercom); nil: this process alone —
	// the Hub delivers and knows the sockets, deadlines are local timers,
	// door openings are counted in memory.
	Broadcaster intercom.Broadcaster
	Presence    intercom.Presence
	Scheduler   intercom.Scheduler
	Doors       intercom.Limiter // door openings per account (calls.DoorOpensPerMinute a minute)
	Logins      intercom.Limiter // failed logins per login and per address (LoginMax in LoginWindow)
	// Guesses counts wrong codes typed at panels per intercom, pairing and
	// visitor codes apart (GuessMax in GuessWindow).
	Guesses intercom.Limiter
	// Pairing sets the codes' lengths and lifetimes and the visitor codes'
	// limit; zero values take the defaults.
	Pairing members.PairingConfig
	// HeartbeatBatch writes the refreshes of online intercoms arriving
	// within it together; a heartbeat that brings an intercom online is
	// written at once (calls.Config). Zero: each at once.
	HeartbeatBatch time.Duration

	// Web serves the residents' web app at / and /web/ (package web); nil:
	// those paths are 404 like any unknown one.
	Web http.Handler
}

var _ intercom.Sessions = (*pusher.Hub)(nil)

// Server is the HTTP handler of intercomd.
type Server struct {
	store        intercom.Store
	log          *slog.Logger
	clock        intercom.Clock
	now          func() time.Time
	hub          *pusher.Hub
	sessions     intercom.Sessions
	push         *push.Dispatcher
	controller   intercom.Controller
	calls        *calls.Service
	members      *members.Service
	publicURL    string
	adminToken   string
	sipAPIToken  string
	offlineAfter time.Duration
	realIPHeader string
	mux          *http.ServeMux
	web          http.Handler

	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	rings    *prometheus.CounterVec
	sends    *prometheus.CounterVec
}

// NewServer returns a Server with every route registered.
func NewServer(c Config) *Server {
	s := &Server{
		store:        c.Store,
		log:          c.Logger,
		clock:        c.Clock,
		hub:          c.Hub,
		publicURL:    strings.TrimRight(c.PublicURL, "/"),
		adminToken:   c.AdminToken,
		sipAPIToken:  c.SIPAPIToken,
		offlineAfter: c.OfflineAfter,
		realIPHeader: c.RealIPHeader,
		mux:          http.NewServeMux(),
		web:          c.Web,
		registry:     prometheus.NewRegistry(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = intercom.SystemClock{}
	}
	s.now = s.clock.Now
	if s.hub == nil {
		s.hub = pusher.New("intercomd", rand.Text(), s.log)
	}
	s.hub.SetClock(s.clock) // tokens' sockets close when the tokens expire
	s.sessions = c.Sessions
	if s.sessions == nil {
		s.sessions = s.hub
	}
	if s.offlineAfter == 0 {
		s.offlineAfter = 90 * time.Second
	}
	if c.LoginMax == 0 {
		c.LoginMax = members.DefaultLoginMax
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = members.DefaultLoginWindow
	}
	if c.Logins == nil {
		c.Logins = local.NewLimiter(c.LoginMax, c.LoginWindow, s.now)
	}
	if c.Guesses == nil {
		c.Guesses = local.NewLimiter(members.GuessMax, members.GuessWindow, s.now)
	}
	if c.HashConcurrency <= 0 {
		c.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	s.controller = c.Controller
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intercomd_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"route", "method", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "intercomd_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	s.rings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intercomd_rings_total", Help: "Rings by the status the call started in (ring, or missed when no device could ring).",
	}, []string{"status"})
	s.sends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intercomd_push_sends_total", Help: "Push sends by channel (apns-voip, apns, fcm, hms), type (intercom_ring, intercom_cancel, call.missed) and outcome.",
	}, []string{"channel", "type", "outcome"})
	ringPushes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intercomd_ring_pushes_total",
		Help: "Devices whose ring push the provider accepted, counted when the ring ends, by channel, client and whether the device was seen acting on the call (seen=\"false\": pushed but never seen: the phone did not wake, or nobody looked).",
	}, []string{"channel", "client", "seen"})
	s.push = push.New(push.Config{Store: s.store, Providers: c.PushProviders, Concurrency: c.PushConcurrency, Logger: s.log,
		AttemptTimeout: c.PushAttemptTimeout, Sleep: c.PushSleep, Now: s.now,
		Observe: func(channel, typ, outcome string) { s.sends.WithLabelValues(channel, typ, outcome).Inc() },
		// s.calls is set below, before anything is sent.
		Obsolete: func(m intercom.PushMessage) bool { return m.Type == intercom.PushRing && s.calls.RingOver(m.CallID) }})
	if c.Broadcaster == nil {
		c.Broadcaster = pusher.Broadcaster{Hub: s.hub}
	}
	if c.Presence == nil {
		c.Presence = s.hub
	}
	if c.Scheduler == nil {
		c.Scheduler = local.NewScheduler(s.clock)
	}
	if c.Doors == nil {
		c.Doors = local.NewLimiter(calls.DoorOpensPerMinute, time.Minute, s.now)
	}
	sip := calls.SIPConfig{Host: c.SIPHost, WSURL: c.SIPWSURL, Secret: c.SIPSecret, ICEURLs: c.ICEURLs, TURNSecret: c.TURNSecret}
	if sip.Host == "" {
		sip.Host = "localhost"
		if u, err := url.Parse(s.publicURL); err == nil && u.Hostname() != "" {
			sip.Host = u.Hostname()
		}
	}
	if len(sip.Secret) == 0 {
		sip.Secret = []byte(rand.Text())
	}
	s.calls = calls.New(calls.Config{Store: s.store, Broadcaster: c.Broadcaster, Presence: c.Presence, Scheduler: c.Scheduler,
		Doors: c.Doors, Push: s.push, Controller: c.Controller, Clock: s.clock, Logger: s.log,
		RingTimeout: c.RingTimeout, OfflineAfter: s.offlineAfter, SIP: sip, HeartbeatBatch: c.HeartbeatBatch,
		AnswerConnectTimeout: c.AnswerConnectTimeout, MaxCallDuration: c.MaxCallDuration,
		Rang: func(status string) { s.rings.WithLabelValues(status).Inc() },
		RingSeen: func(channel, client string, seen bool) {
			ringPushes.WithLabelValues(channel, client, strconv.FormatBool(seen)).Inc()
		}})
	s.members = members.New(members.Config{Store: s.store, Calls: s.calls, Sessions: s.sessions, Logins: c.Logins,
		Guesses: c.Guesses, Hashing: password.NewLimiter(c.HashConcurrency), Clock: s.clock, TokenTTL: c.TokenTTL,
		Pairing: c.Pairing})
	s.registry.MustRegister(s.rings, s.sends, ringPushes,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intercomd_sockets_open", Help: "Open Pusher sockets."},
			func() float64 { return float64(s.hub.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "intercomd_sockets_dropped_total", Help: "Sockets dropped for not reading their events."},
			func() float64 { return float64(s.hub.Dropped()) }))
	build := intercom.ReadBuild()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "intercomd_build_info", Help: "Always 1; its labels say which build of intercomd runs.",
	}, []string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(build.Version, build.Revision, build.GoVersion).Set(1)
	s.registry.MustRegister(buildInfo)
	s.registry.MustRegister(s.requests, s.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.routes()
	return s
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
}

type ctxKey int

const requestIDKey ctxKey = iota

// ServeHTTP runs a request through recovery, request ids, metrics, logging
// and the router; unmatched paths and methods get JSON 404 and 405 bodies.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-ID")
	if len(id) == 0 || len(id) > 64 || !intercom.ValidDeviceUUID(id) {
		id = rand.Text()
	}
	w.Header().Set("X-Request-ID", id)
	w.Header().Set("X-Content-Type-Options", "nosniff") // every response, errors and operations included
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
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
			s.log.Debug("request", "request_id", id, "method", r.Method, "route", route, "status", sw.code(),
				"duration", time.Since(start))
		}
	}()
	if strings.HasPrefix(r.URL.Path, "/api/admin/") && s.adminToken == "" ||
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
