// Package node assembles one intercomd node from its parts: the seams
// (package local's and the Pusher hub's, or a cluster's), the push
// dispatcher, the call lifecycle (calls.Service), the account side
// (members.Service) and the HTTP transport that serves them. cmd/intercomd
// builds its node here, and so do the HTTP tests, so that the two cannot
// drift; the defaults not written here are their package's own.
package node

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"intercom"
	"intercom/calls"
	intercomhttp "intercom/http"
	"intercom/local"
	"intercom/members"
	"intercom/password"
	"intercom/push"
	"intercom/pusher"
	"intercom/secrets"
)

// Config is what a node is told. Zero values take the defaults of the
// package concerned (API.md §8).
type Config struct {
	Store  intercom.Store
	Logger *slog.Logger
	Clock  intercom.Clock // nil: the system clock
	Hub    *pusher.Hub    // the Pusher socket server events go through; nil: one of its own
	// Cluster holds the seams shared with the other nodes; nil: this process
	// alone — the Hub delivers and knows the sockets, deadlines are local
	// timers, throttles count in memory.
	Cluster *Cluster

	PublicURL    string       // scheme://host[:port] the API is reached at, for pagination links
	AdminToken   string       // empty: the admin API answers 404
	SIPAPIToken  string       // bearer token of the SIP server's API (/api/sip/v1); empty: that API answers 404
	SecretBox    *secrets.Box // seals the control keys of the intercoms provisioned (--secret-key-file); nil: unsealed
	RealIPHeader string       // header a trusted reverse proxy names the client's address in
	Web          http.Handler // the residents' web app; nil: / is 404
	// PrivateAdmin and PrivateMetrics take the admin API and /metrics off the
	// node's public handler, for listeners of their own (Node.HTTP.Private).
	PrivateAdmin, PrivateMetrics bool
	TokenTTL                     time.Duration // lifetime of an access token (members.DefaultTokenTTL)
	OfflineAfter                 time.Duration // an intercom without a heartbeat this long is offline (calls.DefaultOfflineAfter)
	RingTimeout                  time.Duration // a call still ringing this long is missed (calls.DefaultRingTimeout)
	// AnswerConnectTimeout and MaxCallDuration bound a conversation
	// (calls.Config).
	AnswerConnectTimeout time.Duration
	MaxCallDuration      time.Duration
	// HeartbeatBatch writes the refreshes of online intercoms arriving within
	// it together (calls.Config). Zero: each at once.
	HeartbeatBatch time.Duration
	SIPHost        string // the SIP domain an answering app registers with; default: PublicURL's host
	SIPWSURL       string // the SIP-over-WebSocket URL an answering app connects to
	SIPSecret      []byte // signs the SIP tokens and derives the panels' SIP passwords; default: random
	ICEURLs        []string
	TURNSecret     []byte
	// PushProviders ring devices whose app is not connected; one not given is
	// not a channel. PushConcurrency, PushAttemptTimeout and PushSleep are
	// push.Config's.
	PushProviders      []intercom.PushProvider
	PushConcurrency    int
	PushAttemptTimeout time.Duration
	PushSleep          func(ctx context.Context, d time.Duration) error
	// Controller posts door commands and call events to intercoms' control
	// URLs; nil: doors cannot be opened from the apps.
	Controller intercom.Controller
	// LoginMax failed logins are allowed per login and per address in
	// LoginWindow (members.DefaultLoginMax, members.DefaultLoginWindow).
	LoginMax    int
	LoginWindow time.Duration
	// HashConcurrency bounds the password hashes (19 MiB each) running at
	// once; 0: GOMAXPROCS.
	HashConcurrency int
	Pairing         members.PairingConfig
	// SessionsLimit is the most live sessions an account may hold; 0: no
	// limit (members.Config).
	SessionsLimit int
	// Languages an account may choose; nil: intercom.DefaultLanguages.
	Languages []string
}

// Cluster is the seams a node shares with the others (package intercom).
type Cluster struct {
	Broadcaster intercom.Broadcaster
	Presence    intercom.Presence
	Sessions    intercom.Sessions
	Scheduler   intercom.Scheduler
	// Limiter returns the cluster's throttle name: max attempts per key in
	// window, counted on every node.
	Limiter func(name string, max int, window time.Duration) intercom.Limiter
}

// Node is one intercomd process's services and their HTTP transport.
type Node struct {
	Calls   *calls.Service
	Members *members.Service
	Push    *push.Dispatcher
	Hub     *pusher.Hub
	HTTP    *intercomhttp.Server
}

// New assembles a node.
func New(c Config) *Node {
	n := &Node{Hub: c.Hub}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = intercom.SystemClock{}
	}
	if n.Hub == nil {
		n.Hub = pusher.New("intercomd", rand.Text(), c.Logger)
	}
	n.Hub.SetClock(c.Clock) // tokens' sockets close when the tokens expire
	seams := c.Cluster
	if seams == nil {
		now := c.Clock.Now
		seams = &Cluster{Broadcaster: pusher.Broadcaster{Hub: n.Hub}, Presence: n.Hub, Sessions: n.Hub,
			Scheduler: local.NewScheduler(c.Clock),
			Limiter: func(_ string, max int, window time.Duration) intercom.Limiter {
				return local.NewLimiter(max, window, now)
			}}
	}

	registry := prometheus.NewRegistry()
	rings := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intercomd_rings_total", Help: "Rings by the status the call started in (ring, or missed when no device could ring).",
	}, []string{"status"})
	sends := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intercomd_push_sends_total", Help: "Push sends by channel (apns-voip, apns, fcm, hms), type (intercom_ring, intercom_cancel, call.missed) and outcome.",
	}, []string{"channel", "type", "outcome"})
	ringPushes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intercomd_ring_pushes_total",
		Help: "Devices whose ring push the provider accepted, counted when the ring ends, by channel, client and whether the device was seen acting on the call (seen=\"false\": pushed but never seen: the phone did not wake, or nobody looked).",
	}, []string{"channel", "client", "seen"})
	statusChanges := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intercomd_intercom_status_changes_total",
		Help: "Intercoms that came online (to=\"online\") or went offline (to=\"offline\": no heartbeat for --offline-after), each change counted once in the cluster, by the node that saw it.",
	}, []string{"to"})
	statusChanges.WithLabelValues("online")
	statusChanges.WithLabelValues("offline")

	n.Push = push.New(push.Config{Store: c.Store, Providers: c.PushProviders, Concurrency: c.PushConcurrency, Logger: c.Logger,
		AttemptTimeout: c.PushAttemptTimeout, Sleep: c.PushSleep, Now: c.Clock.Now,
		Observe: func(channel, typ, outcome string) { sends.WithLabelValues(channel, typ, outcome).Inc() },
		// n.Calls is set below, before anything is sent.
		Obsolete: func(m intercom.PushMessage) bool { return m.Type == intercom.PushRing && n.Calls.RingOver(m.CallID) }})

	sip := c.SIP()
	if len(sip.Secret) == 0 {
		sip.Secret = []byte(rand.Text())
	}
	n.Calls = calls.New(calls.Config{Store: c.Store, Broadcaster: seams.Broadcaster, Presence: seams.Presence,
		Scheduler: seams.Scheduler, Doors: seams.Limiter("door", calls.DoorOpensPerMinute, time.Minute),
		Push: n.Push, Controller: c.Controller, Clock: c.Clock, Logger: c.Logger,
		RingTimeout: c.RingTimeout, OfflineAfter: c.OfflineAfter, SIP: sip, HeartbeatBatch: c.HeartbeatBatch,
		AnswerConnectTimeout: c.AnswerConnectTimeout, MaxCallDuration: c.MaxCallDuration,
		Rang: func(status string) { rings.WithLabelValues(status).Inc() },
		RingSeen: func(channel, client string, seen bool) {
			ringPushes.WithLabelValues(channel, client, strconv.FormatBool(seen)).Inc()
		},
		StatusChanged: func(online bool) {
			to := "offline"
			if online {
				to = "online"
			}
			statusChanges.WithLabelValues(to).Inc()
		}})

	hashes := c.HashConcurrency
	if hashes <= 0 {
		hashes = runtime.GOMAXPROCS(0)
	}
	loginMax := cmp.Or(c.LoginMax, members.DefaultLoginMax)
	n.Members = members.New(members.Config{Store: c.Store, Calls: n.Calls, Sessions: seams.Sessions,
		Logins: seams.Limiter("login", loginMax, cmp.Or(c.LoginWindow, members.DefaultLoginWindow)), LoginMax: loginMax,
		Guesses: seams.Limiter("guess", members.GuessMax, members.GuessWindow),
		Hashing: password.NewLimiter(hashes), Clock: c.Clock, TokenTTL: c.TokenTTL, Pairing: c.Pairing,
		Broadcaster: seams.Broadcaster, Presence: seams.Presence, SessionsLimit: c.SessionsLimit, Languages: c.Languages,
		Logger: c.Logger,
		// The keys of refused logins are signed with a secret every node
		// shares, derived from the SIP secret (which they must share).
		KeySecret: derive(sip.Secret, "intercomd session limit keys")})

	registry.MustRegister(rings, sends, ringPushes, statusChanges,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intercomd_sockets_open", Help: "Open Pusher sockets."},
			func() float64 { return float64(n.Hub.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "intercomd_sockets_dropped_total", Help: "Sockets dropped for not reading their events."},
			func() float64 { return float64(n.Hub.Dropped()) }))
	// The intercoms on and offline now, as the admin API lists them: the
	// database's count, the same on every node, asked at each scrape.
	count := func(online bool) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			f := intercom.IntercomFilter{Online: &online, AliveAfter: c.Clock.Now().Add(-n.Calls.OfflineAfter())}
			_, total, err := c.Store.AdminIntercoms(ctx, f, intercom.Page{Page: 1, PerPage: 1})
			if err != nil {
				return math.NaN()
			}
			return float64(total)
		}
	}
	registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intercomd_intercoms_online",
			Help: "Intercoms online now (a heartbeat within --offline-after), counted in the database at each scrape: the same on every node."}, count(true)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intercomd_intercoms_offline",
			Help: "Intercoms offline now (no heartbeat within --offline-after, or never one), counted in the database at each scrape: the same on every node."}, count(false)))
	build := intercom.ReadBuild()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "intercomd_build_info", Help: "Always 1; its labels say which build of intercomd runs.",
	}, []string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(build.Version, build.Revision, build.GoVersion).Set(1)
	registry.MustRegister(buildInfo, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	n.HTTP = intercomhttp.NewServer(intercomhttp.Config{Store: c.Store, Calls: n.Calls, Members: n.Members, Hub: n.Hub,
		Sessions: seams.Sessions, Controller: c.Controller, Logger: c.Logger, Clock: c.Clock, Registry: registry,
		PublicURL: c.PublicURL, AdminToken: c.AdminToken, SIPAPIToken: c.SIPAPIToken, RealIPHeader: c.RealIPHeader, Web: c.Web,
		PrivateAdmin: c.PrivateAdmin, PrivateMetrics: c.PrivateMetrics, SecretBox: c.SecretBox})
	return n
}

// derive is a secret for purpose, made from secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// ServeHTTP serves the node's HTTP API.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) { n.HTTP.ServeHTTP(w, r) }

// Resume sets the deadlines the database says are pending: the timeouts of
// calls still ringing and the offline sweep. Call it once the node is about
// to serve.
func (n *Node) Resume(ctx context.Context) error { return n.Calls.Resume(ctx) }

// Wait blocks until the event deliveries and push sends under way are done.
func (n *Node) Wait() {
	n.Calls.Wait()
	n.Push.Wait()
}

// Close stops the deadlines, closes every socket, waits for the effects under
// way and abandons the push sends still trying. Call it once the HTTP server
// has stopped taking requests.
func (n *Node) Close() {
	n.Calls.Close()
	n.Hub.Close()
	n.Push.Close()
}

// SIP is what answers hand out for the conversation: the SIP host defaults
// to the public URL's (localhost without one). The binary's web app asks it
// for the WebSocket its pages may reach.
func (c Config) SIP() calls.SIPConfig {
	sip := calls.SIPConfig{Host: c.SIPHost, WSURL: c.SIPWSURL, Secret: c.SIPSecret, ICEURLs: c.ICEURLs, TURNSecret: c.TURNSecret}
	if sip.Host == "" {
		sip.Host = "localhost"
		if u, err := url.Parse(strings.TrimRight(c.PublicURL, "/")); err == nil && u.Hostname() != "" {
			sip.Host = u.Hostname()
		}
	}
	return sip
}
