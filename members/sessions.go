package members

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"

	"intercom"
	"intercom/wire"
)

// The defaults of sessions, each written here only.
const (
	// DefaultSessionKeyTTL is how long the key of a refused login (the
	// session limit's 419) lets the app end a session and get in.
	DefaultSessionKeyTTL = 5 * time.Minute
	// DefaultUseEvery is how stale a session's recorded last use may grow
	// (on the nodes that did not serve it) before it is written again; a
	// change of address or User-Agent is written at once.
	DefaultUseEvery = time.Minute
)

// maxUses bounds the sessions whose uses a node remembers; past it, it
// forgets them all (each then writes its next use).
const maxUses = 100_000

// Session is one of an account's live sessions as its owner sees it.
type Session struct {
	Token   intercom.AccessToken // with its last use
	Online  bool                 // a socket it authorized is open, on some node
	Current bool                 // the session asking
}

// SessionsLimit is the refusal of a login beyond the account's limit of
// sessions (API.md §3, 419): the limit, the live sessions, and the key that
// lets the same login end one of them and get in.
type SessionsLimit struct {
	Limit    int
	Sessions []Session
	Key      string
}

func (e *SessionsLimit) Error() string {
	return "intercom error: the account holds its limit of sessions"
}

var errBadKey = intercom.Invalid("key", "The key is invalid or has expired.")

// uses are the last uses of sessions this node served: the last written of
// each, and the latest seen (shown before it is written).
type uses struct {
	mu      sync.Mutex
	written map[int64]intercom.TokenUse
	latest  map[int64]intercom.TokenUse
}

// RecordUse notes that the session tok was used now from address ip with
// userAgent. The use is written only when due (intercom.TokenUseDue): when
// the address or agent changed, or the last written is useEvery old; so a
// request is not a write.
func (s *Service) RecordUse(ctx context.Context, tok intercom.AccessToken, ip, userAgent string) error {
	use := intercom.TokenUse{TokenID: tok.ID, IP: ip, UserAgent: userAgent, At: s.now()}
	u := &s.uses
	u.mu.Lock()
	if len(u.written) >= maxUses {
		clear(u.written)
		clear(u.latest)
	}
	last, ok := u.written[tok.ID]
	if !ok { // as the store had it when the token was read
		last = intercom.TokenUse{TokenID: tok.ID, IP: tok.IP, UserAgent: tok.UserAgent, At: tok.LastUsedAt}
	}
	if prev, ok := u.latest[tok.ID]; !ok || use.At.After(prev.At) {
		u.latest[tok.ID] = use
	}
	due := intercom.TokenUseDue(last, use, s.useEvery)
	if due {
		u.written[tok.ID] = use
	}
	u.mu.Unlock()
	if !due {
		return nil
	}
	return s.store.RecordTokenUses(ctx, []intercom.TokenUse{use})
}

// seen lays over t the latest use this node saw of it, when later than the
// one written.
func (s *Service) seen(t intercom.AccessToken) intercom.AccessToken {
	s.uses.mu.Lock()
	use, ok := s.uses.latest[t.ID]
	s.uses.mu.Unlock()
	if ok && use.At.After(t.LastUsedAt) {
		t.IP, t.UserAgent, t.LastUsedAt = use.IP, use.UserAgent, use.At
	}
	return t
}

// Sessions lists the live sessions of tok's account, by id.
func (s *Service) Sessions(ctx context.Context, tok intercom.AccessToken) ([]Session, error) {
	live, err := s.store.LiveAccessTokens(ctx, tok.UserID, s.now())
	if err != nil {
		return nil, err
	}
	return s.sessionsOf(live, tok.ID), nil
}

func (s *Service) sessionsOf(live []intercom.AccessToken, current int64) []Session {
	out := make([]Session, 0, len(live))
	for _, t := range live {
		out = append(out, Session{Token: s.seen(t), Current: t.ID == current,
			Online: s.presence.Subscribed(wire.TokenChannel(t.PublicID))})
	}
	return out
}

// EndSession ends the session of tok's account whose public id is id (tok's
// own included): the token is revoked, a logout event goes to its channel,
// then its sockets are closed. ENOTFOUND when the account has no such live
// session: another account's is left as it is.
func (s *Service) EndSession(ctx context.Context, tok intercom.AccessToken, id string) error {
	ended, err := s.store.RevokeSession(ctx, tok.UserID, id, s.now())
	if err != nil {
		return err
	}
	s.loggedOut(ended.PublicID)
	return nil
}

// loggedOut tells a session that ended (revoked) so, then closes its sockets:
// the event is queued before the close, so an open socket gets it first.
func (s *Service) loggedOut(publicID string) {
	s.bus.Publish(wire.TokenChannel(publicID), wire.TokenEventName, wire.TokenPush("logout", nil, nil), "")
	s.sessions.CloseToken(publicID)
}

// sessionKey is the key of a refused login of account userID (login) that
// expires at expires: the expiry and an HMAC over the account and expiry.
// It proves that this login was refused lately; it needs the password as
// well to be of any use, so it is not kept.
func (s *Service) sessionKey(userID int64, login string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	m := hmac.New(sha256.New, s.keySecret)
	m.Write([]byte("intercomd session limit\x00" + strconv.FormatInt(userID, 10) + "\x00" + login + "\x00" + exp))
	return exp + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validKey reports whether key is a live key of the account's refused login.
func (s *Service) validKey(userID int64, login, key string, now time.Time) bool {
	exp, _, ok := strings.Cut(key, ".")
	if !ok || len(key) > 128 {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return false
	}
	expires := time.Unix(unix, 0)
	if !now.Before(expires) || expires.Sub(now) > s.keyTTL {
		return false
	}
	return hmac.Equal([]byte(key), []byte(s.sessionKey(userID, login, expires)))
}
