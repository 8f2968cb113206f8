package calls

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"intercom"
)

// SIPTokenTTL is how long the token in an answer's SIP URL is good for.
const SIPTokenTTL = 60 * time.Second

// SIPConfig is where answering apps join the conversation.
type SIPConfig struct {
	Host   string // the SIP domain
	WSURL  string // the SIP-over-WebSocket URL; "" for wss://<Host>/sip
	Secret []byte // signs the short-lived tokens (HS256) and derives the panels' SIP passwords
	// ICEURLs are the TURN and STUN servers (turn:, turns:, stun:, stuns:
	// URLs) an answering app's WebRTC leg may use; none: the answer names
	// none.
	ICEURLs []string
	// TURNSecret is the TURN server's static-auth-secret (coturn's
	// use-auth-secret), from which the turn: and turns: URLs' credentials
	// are derived (TURNCredential).
	TURNSecret []byte
}

// SIPAnswer is what an answering app needs: the SIP-over-WebSocket URL with
// its token, the call's number and the domain, and the TURN and STUN
// servers when there are any.
type SIPAnswer struct {
	SIP        string      `json:"sip"`
	Number     string      `json:"number"`
	Host       string      `json:"host"`
	ICEServers []ICEServer `json:"ice_servers,omitempty"`
}

// ICEServer is a TURN or STUN server in the shape of the browser's
// RTCIceServer, which a web app hands to RTCPeerConnection as it is.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// TURNCredential is the TURN REST credential (coturn's use-auth-secret) of
// user userID until expires: username "<unix expiry>:<user id>" and
// credential base64(HMAC-SHA1(secret, username)), which the TURN server
// checks with the same secret and nothing stored.
func TURNCredential(secret []byte, userID int64, expires time.Time) (username, credential string) {
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + strconv.FormatInt(userID, 10)
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// IsTURN reports whether an ICE URL names a TURN server (turn: or turns:),
// which takes credentials, rather than a STUN one.
func IsTURN(iceURL string) bool {
	scheme, _, _ := strings.Cut(strings.ToLower(iceURL), ":")
	return scheme == "turn" || scheme == "turns"
}

// iceServers are cfg's TURN servers, in one entry with the credential of
// user userID until expires, then its STUN servers in one without; nil when
// there are none.
func (cfg SIPConfig) iceServers(userID int64, expires time.Time) []ICEServer {
	var turn, stun []string
	for _, u := range cfg.ICEURLs {
		if IsTURN(u) {
			turn = append(turn, u)
		} else {
			stun = append(stun, u)
		}
	}
	var servers []ICEServer
	if len(turn) > 0 {
		username, credential := TURNCredential(cfg.TURNSecret, userID, expires)
		servers = append(servers, ICEServer{URLs: turn, Username: username, Credential: credential})
	}
	if len(stun) > 0 {
		servers = append(servers, ICEServer{URLs: stun})
	}
	return servers
}

// Number is a call's extension on the SIP server.
func Number(c intercom.Call) string { return c.Number }

// WSAddress is the SIP-over-WebSocket URL answers hand out, without their
// token: WSURL, or wss://<Host>/sip.
func (cfg SIPConfig) WSAddress() string {
	if cfg.WSURL != "" {
		return cfg.WSURL
	}
	return "wss://" + cfg.Host + "/sip"
}

// Answer signs the token of an answer to call c by device who at instant now
// (claims call, user, device, sub = the number, iat, exp), and gives the
// TURN servers' credential until turnExpires: the end of the conversation's
// whole possible life, so that a TURN allocation can refresh to the end.
func (cfg SIPConfig) Answer(c intercom.Call, who Device, now, turnExpires time.Time) (SIPAnswer, error) {
	number := Number(c)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"call": c.ID, "user": who.UserID, "device": who.UUID, "sub": number,
		"iat": now.Unix(), "exp": now.Add(SIPTokenTTL).Unix(),
	}).SignedString(cfg.Secret)
	if err != nil {
		return SIPAnswer{}, err
	}
	u, err := url.Parse(cfg.WSAddress())
	if err != nil {
		return SIPAnswer{}, err
	}
	q := u.Query()
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return SIPAnswer{SIP: u.String(), Number: number, Host: cfg.Host, ICEServers: cfg.iceServers(who.UserID, turnExpires)}, nil
}

// SIPCredentials are an intercom's digest credentials on the SIP server.
type SIPCredentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Domain   string `json:"domain"`
}

// Credentials are the SIP digest credentials of intercom id. They are
// derived, not stored: the password is base64url (unpadded) of
// HMAC-SHA256(secret, "panel:" + username), which the SIP server computes
// from the same secret (deploy/kamailio). The "panel:" prefix keeps it apart
// from the answer tokens' signatures, whose input never holds a colon.
func (cfg SIPConfig) Credentials(id int64) SIPCredentials {
	user := intercom.SIPUsername(id)
	mac := hmac.New(sha256.New, cfg.Secret)
	mac.Write([]byte("panel:" + user))
	return SIPCredentials{Username: user, Password: base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), Domain: cfg.Host}
}

// SIPCredentials are the SIP digest credentials of intercom id.
func (s *Service) SIPCredentials(id int64) SIPCredentials { return s.sip.Credentials(id) }

// Who hung up a call on the SIP server (SIPEnded).
const (
	SIPByPanel = "panel" // the visitor: CANCEL, a BYE from the panel, or the panel's INVITE given up
	SIPByApp   = "app"   // the answering app: BYE, or a refusal of the INVITE
)

// LiveCall is the live call (ringing or answered) whose number is number,
// when it is intercom ic's (nil: anyone's), as the SIP server knows calls:
// one the flat's handset or landline answered is no longer its (its
// conversation is the panel's), and so not live to it. ENOTFOUND otherwise.
func (s *Service) LiveCall(ctx context.Context, ic *intercom.Intercom, number string) (intercom.Call, error) {
	if !intercom.IsCallNumber(number) {
		return intercom.Call{}, intercom.ErrNotFound
	}
	c, err := s.store.CallByNumber(ctx, number)
	if err != nil {
		return c, err
	}
	if (ic != nil && c.IntercomID != ic.ID) || c.AnsweredOn != "" {
		return intercom.Call{}, intercom.ErrNotFound
	}
	return c, nil
}

// SIPCall is the call with that number for the SIP server: the live one,
// or, when none is live and callID is the id of the call that had the
// number, that call as it ended (the SIP server holding a panel's INVITE
// asks this to learn that intercomd ended the call). When ic is not nil
// the call must be its. ENOTFOUND otherwise.
func (s *Service) SIPCall(ctx context.Context, ic *intercom.Intercom, number string, callID int64) (intercom.Call, error) {
	c, err := s.LiveCall(ctx, ic, number)
	if err != intercom.ErrNotFound || callID <= 0 {
		return c, err
	}
	c, err = s.store.Call(ctx, callID)
	if err != nil {
		return intercom.Call{}, err
	}
	if c.Number != number || (ic != nil && c.IntercomID != ic.ID) {
		return intercom.Call{}, intercom.ErrNotFound
	}
	return c, nil
}

// AllDeclined reports whether call c was missed because every device it
// rang declined it (the panel then hears 603 Decline).
func AllDeclined(c intercom.Call) bool {
	if c.Status != intercom.CallMissed {
		return false
	}
	rung := 0
	for _, d := range c.Devices {
		if d.Rung() {
			rung++
			if d.DeclinedAt == nil {
				return false
			}
		}
	}
	return rung > 0
}

// SIPEnded is the SIP server saying the conversation of the call with that
// number is over, hung up by: a ringing call is missed (its devices stop
// ringing), an answered one ends. A BYE from the app ends the call as the
// app's own hang-up does; from the panel, as the visitor leaving does (the
// answering device is told). ENOTFOUND when no live call has the number:
// it is over already, which the SIP server may take as done.
func (s *Service) SIPEnded(ctx context.Context, number, by string) (intercom.Call, error) {
	c, err := s.LiveCall(ctx, nil, number)
	if err != nil {
		return c, err
	}
	var notify []intercom.CallDevice
	was := ""
	now := s.clock.Now()
	c, err = s.store.UpdateCall(ctx, c.ID, func(c *intercom.Call) error {
		if c.Number != number || c.AnsweredOn != "" { // a line answered it meanwhile
			return intercom.ErrNotFound
		}
		was = c.Status
		notify = c.StillIn()
		if err := c.VisitorLeft(now); err != nil {
			return err
		}
		if by == SIPByApp && was == intercom.CallAnswered {
			c.EndReason = intercom.EndHungUp
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	e := left(c, was, notify)
	if by == SIPByApp && was == intercom.CallAnswered {
		e = ended(c) // the app hung up: it knows
	}
	s.applyLoaded(ctx, c, e)
	return c, nil
}

// SIPConnected is the SIP server saying that the voice of the answered
// call with that number connected (the app's 200 OK reached the panel): its
// connect deadline no longer applies. A report repeated changes nothing;
// ENOTFOUND when no answered call has the number (over already, never
// answered, or unknown).
func (s *Service) SIPConnected(ctx context.Context, number string) (intercom.Call, error) {
	c, err := s.LiveCall(ctx, nil, number)
	if err != nil {
		return c, err
	}
	changed := false
	now := s.clock.Now()
	c, err = s.store.UpdateCall(ctx, c.ID, func(c *intercom.Call) error {
		if c.Number != number || c.AnsweredOn != "" {
			return intercom.ErrNotFound
		}
		var err error
		changed, err = c.Connect(now)
		return err
	})
	if err != nil {
		return c, err
	}
	if changed {
		s.applyDeadlines(ctx, effects{cancelAt: []intercom.Deadline{{Kind: intercom.DeadlineConnect, ID: c.ID}}})
	}
	return c, nil
}

// HandoverFailed ends a call whose ring the SIP server asked for and could
// not take (its request timed out or failed before it learnt the call's
// number): no panel waits on it, so nobody could ever talk in it. Its
// devices stop ringing at once. ENOTFOUND when the call is over already.
func (s *Service) HandoverFailed(ctx context.Context, callID int64) (intercom.Call, error) {
	now := s.clock.Now()
	c, e, err := s.end(ctx, callID, func(c *intercom.Call) error { return c.End(intercom.EndHandoverFailed, now) },
		intercom.CancelHangup)
	if err != nil {
		return c, err
	}
	s.log.Warn("the SIP server could not take a ring: the call is ended", "call_id", c.ID, "number", c.Number)
	s.applyLoaded(ctx, c, e)
	return c, nil
}
