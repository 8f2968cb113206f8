package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"intercom"
	"intercom/members"
)

// session is who a client API request acts for.
type session struct {
	token  intercom.AccessToken
	client string // X-Client of this request
	// prefetched is the {intercom} read with the token, or nil
	// (clientReadingIntercom).
	prefetched *members.PrefetchedView
}

func (s session) viewer() intercom.Viewer {
	return intercom.Viewer{UserID: s.token.UserID, DeviceID: s.token.DeviceID}
}

type clientHandler func(w http.ResponseWriter, r *http.Request, sess session) error

// client authenticates a client API request in the order API.md §1 gives:
// the token (401), then X-Client and X-UUID (422), then that X-UUID is the
// token's device (401).
func (s *Server) client(h clientHandler) http.Handler { return s.clientWith(h, false) }

// clientReadingIntercom is client for a read of the intercom {intercom}:
// where the store can, the token and the intercom's view are read in one
// round trip (members.AuthenticateWithIntercom), and pathIntercom answers
// from what was read.
func (s *Server) clientReadingIntercom(h clientHandler) http.Handler { return s.clientWith(h, true) }

func (s *Server) clientWith(h clientHandler, readIntercom bool) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		var (
			tok intercom.AccessToken
			pre *members.PrefetchedView
			err error
		)
		if id, perr := pathID(r.PathValue("intercom")); readIntercom && perr == nil {
			tok, pre, err = s.authenticateWith(r.Context(), r.Header.Get("Authorization"), id)
		} else {
			tok, err = s.authenticate(r.Context(), r.Header.Get("Authorization"))
		}
		if err != nil {
			return err
		}
		client, uuid, err := deviceHeaders(r)
		if err != nil {
			return err
		}
		if uuid != tok.DeviceUUID {
			return errUnauthenticated
		}
		// The session's last use (GET /api/v1/sessions), written only when
		// due: a failure to write it fails no request.
		if err := s.members.RecordUse(r.Context(), tok, s.clientAddr(r), userAgent(r)); err != nil {
			s.log.Warn("recording a session's use", "request_id", requestID(r.Context()), "error", err)
		}
		return h(w, r, session{token: tok, client: client, prefetched: pre})
	})
}

// pusherClient authenticates POST /api/v1/broadcasting/auth, which stock
// Pusher clients (the SDKs' included) call with Authorization alone: the
// token suffices there; an X-UUID that is sent must still be the token's
// device (API.md §1). X-Client is not needed: the token says what it is.
func (s *Server) pusherClient(h clientHandler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		// The grant outlives the request: the token is read as it is in the
		// database, not as a node's cache may still hold it after another
		// node's logout (whose socket close may already have come).
		tok, err := s.authenticate(intercom.FreshReads(r.Context()), r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		if uuid, sent := r.Header["X-Uuid"]; sent && (len(uuid) != 1 || uuid[0] != tok.DeviceUUID) {
			return errUnauthenticated
		}
		return h(w, r, session{token: tok, client: tok.Client})
	})
}

// authenticate finds the live access token named by an Authorization header.
func (s *Server) authenticate(ctx context.Context, header string) (intercom.AccessToken, error) {
	tok, _, err := s.authenticateWith(ctx, header, 0)
	return tok, err
}

// authenticateWith is authenticate, reading intercom id's view with the
// token when id is not 0 (members.AuthenticateWithIntercom).
func (s *Server) authenticateWith(ctx context.Context, header string, id int64) (intercom.AccessToken, *members.PrefetchedView, error) {
	secret, ok := bearer(header)
	if !ok || len(secret) != intercom.TokenLen || strings.ContainsFunc(secret, notBase64URL) {
		return intercom.AccessToken{}, nil, errUnauthenticated
	}
	var (
		tok intercom.AccessToken
		pre *members.PrefetchedView
		err error
	)
	if id != 0 {
		tok, pre, err = s.members.AuthenticateWithIntercom(ctx, secret, id)
	} else {
		tok, err = s.members.Authenticate(ctx, secret)
	}
	if err == nil {
		noteUser(ctx, tok.UserID)
	}
	return tok, pre, err
}

func bearer(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(header[len(prefix):]), true
}

func notBase64URL(c rune) bool {
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
}

// deviceHeaders validates X-Client and X-UUID, reporting both at once.
func deviceHeaders(r *http.Request) (client, uuid string, err error) {
	var p intercom.Problems
	client, uuid = r.Header.Get("X-Client"), r.Header.Get("X-UUID")
	switch {
	case client == "":
		p.Add("X-Client", "The X-Client header is required.")
	case !intercom.ValidClient(client):
		p.Add("X-Client", "The selected X-Client is invalid.")
	}
	switch {
	case uuid == "":
		p.Add("X-UUID", "The X-UUID header is required.")
	case !intercom.ValidDeviceUUID(uuid):
		p.Add("X-UUID", "The X-UUID header must be 1 to 128 characters of A-Z a-z 0-9 . _ : -.")
	}
	return client, uuid, p.Err()
}

// clientAddr is the address login failures are counted against: the last
// address the trusted proxy's header names, or else the peer's.
func (s *Server) clientAddr(r *http.Request) string {
	if s.realIPHeader != "" {
		v := r.Header.Get(s.realIPHeader)
		if i := strings.LastIndexByte(v, ','); i >= 0 {
			v = v[i+1:]
		}
		if ip, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// login is POST /api/v1/token.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	client, uuid, err := deviceHeaders(r)
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	login := intercom.Body(body).RequiredString("login", 255, &p)
	pw := intercom.Body(body).RequiredString("password", 1024, &p)
	// session_id and key answer a refusal at the session limit (419). The
	// apps may send "key" for a captcha too, and session_id as null or "".
	sessionID := intercom.Body(body).String("session_id", 255, &p)
	var key string
	if sessionID != nil && *sessionID != "" {
		key = intercom.Body(body).RequiredString("key", 255, &p)
	}
	if err := p.Err(); err != nil {
		return err
	}
	c := members.Credentials{Login: login, Password: pw, Client: client, UUID: uuid, Lang: lang(r),
		UserAgent: userAgent(r), Addr: s.clientAddr(r), Key: key}
	if sessionID != nil {
		c.SessionID = *sessionID
	}
	user, tok, secret, err := s.members.Login(r.Context(), c)
	var limit *members.SessionsLimit
	if errors.As(err, &limit) {
		return encode(w, statusSessionsLimit, sessionsLimitJSON{
			Message:       "The number of sessions has reached its limit of " + strconv.Itoa(limit.Limit) + ": end one to log in.",
			SessionsLimit: limit.Limit, Sessions: toSessionsJSON(limit.Sessions), Key: limit.Key,
			CaptchaWillRequiredIn: s.members.LoginMax()})
	} else if err != nil {
		return err
	}
	return encode(w, http.StatusOK, loginJSON{User: toUserJSON(user, tok), AccessToken: secret})
}

// statusSessionsLimit is Aipix's status of a login refused at the session
// limit, which the SDKs decode as such (Laravel's 419).
const statusSessionsLimit = 419

type sessionsLimitJSON struct {
	Message       string        `json:"message"`
	SessionsLimit int           `json:"sessions_limit"`
	Sessions      []sessionJSON `json:"sessions"`
	Key           string        `json:"key"`
	// CaptchaWillRequiredIn is decoded by the SDKs with the rest; intercomd
	// asks for no captcha: the failed logins the throttle still allows.
	CaptchaWillRequiredIn int `json:"captcha_will_required_in"`
}

// userAgent is the request's User-Agent, bounded.
func userAgent(r *http.Request) string {
	ua := r.Header.Get("User-Agent")
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	return ua
}

// Longest User-Agent kept of a session.
const maxUserAgent = 512

func toUserJSON(u intercom.User, tok intercom.AccessToken) userJSON {
	return userJSON{
		ID: u.ID, Login: u.Login, Name: u.Name,
		Permissions:       []permissionJSON{{ID: 1, Name: "intercom-index"}},
		CreatedAt:         sqlTime(u.CreatedAt),
		UpdatedAt:         sqlTime(u.UpdatedAt),
		AccessTokenID:     tok.PublicID,
		CanUpdatePassword: true,
		AnalyticLicense:   []struct{}{},
		Language:          optional(u.Language),
	}
}

// optional is v, or nil when it is "".
func optional(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// self is GET /api/v1/users/self: the account, and this session's
// access_token_id (its private-token channel).
func (s *Server) self(w http.ResponseWriter, r *http.Request, sess session) error {
	u, err := s.store.UserByID(r.Context(), sess.token.UserID)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toUserJSON(u, sess.token))
}

type loginJSON struct {
	User        userJSON `json:"user"`
	AccessToken string   `json:"access_token"`
}

type userJSON struct {
	ID                int64            `json:"id"`
	Login             string           `json:"login"`
	Name              string           `json:"name"`
	ParentID          *int64           `json:"parent_id"`
	Permissions       []permissionJSON `json:"permissions"`
	CreatedAt         string           `json:"created_at"`
	UpdatedAt         string           `json:"updated_at"`
	AccessTokenID     string           `json:"access_token_id"`
	CanUpdatePassword bool             `json:"can_update_password"`
	AnalyticLicense   []struct{}       `json:"analytic_license"`
	Language          *string          `json:"language"` // chosen by PUT /users/self; null: none
}

type permissionJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// logout is POST /api/v1/logout: it revokes the token it was called with.
// The SDKs send {"uuid"}; the body is not needed and not read.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess session) error {
	if err := s.members.Logout(r.Context(), sess.token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Longest push token accepted; real ones are a few hundred characters.
const maxPushToken = 4096

// putDevice is PUT /api/v1/devices: this device's push tokens.
func (s *Server) putDevice(w http.ResponseWriter, r *http.Request, sess session) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	var u intercom.PushTokensUpdate
	for _, f := range []struct {
		key string
		dst ***string
	}{{"fcm_token", &u.FCM}, {"apn_token", &u.APN}, {"voip_token", &u.VoIP}, {"huawei_token", &u.Huawei}} {
		v, ok := body[f.key]
		if !ok {
			continue
		}
		var val *string
		switch t := v.(type) {
		case nil:
		case string:
			switch {
			case t == "":
			case len(t) > maxPushToken:
				p.Add(f.key, intercom.MsgMaxString(f.key, maxPushToken))
				continue
			case strings.ContainsFunc(t, func(c rune) bool { return c <= ' ' || c > '~' }):
				p.Add(f.key, intercom.MsgFormat(f.key))
				continue
			default:
				val = &t
			}
		default:
			p.Add(f.key, intercom.MsgString(f.key))
			continue
		}
		*f.dst = &val
	}
	if err := p.Err(); err != nil {
		return err
	}
	if l := lang(r); l != "" {
		u.Lang = &l
	}
	if err := s.store.UpdatePushTokens(r.Context(), sess.token.DeviceID, u, s.now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sipServer authenticates the SIP server by --sip-api-token: a credential of
// its own, which no app or intercom holds.
func (s *Server) sipServer(h handlerFunc) http.Handler { return s.bearerToken(s.sipAPIToken, h) }

// bearerToken lets through requests whose bearer token is token (compared in
// constant time).
func (s *Server) bearerToken(token string, h handlerFunc) http.Handler {
	want := sha256.Sum256([]byte(token))
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		secret, ok := bearer(r.Header.Get("Authorization"))
		got := sha256.Sum256([]byte(secret))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return errUnauthenticated
		}
		return h(w, r)
	})
}
