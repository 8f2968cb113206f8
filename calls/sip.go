package calls

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
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
}

// SIPAnswer is what an answering app needs: the SIP-over-WebSocket URL with
// its token, the call's number and the domain.
type SIPAnswer struct {
	SIP    string `json:"sip"`
	Number string `json:"number"`
	Host   string `json:"host"`
}

// Number is a call's extension on the SIP server.
func Number(c intercom.Call) string { return c.Number }

// Answer signs the token of an answer to call c by device who at instant now
// (claims call, user, device, sub = the number, iat, exp).
func (cfg SIPConfig) Answer(c intercom.Call, who Device, now time.Time) (SIPAnswer, error) {
	number := Number(c)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"call": c.ID, "user": who.UserID, "device": who.UUID, "sub": number,
		"iat": now.Unix(), "exp": now.Add(SIPTokenTTL).Unix(),
	}).SignedString(cfg.Secret)
	if err != nil {
		return SIPAnswer{}, err
	}
	wsURL := cfg.WSURL
	if wsURL == "" {
		wsURL = "wss://" + cfg.Host + "/sip"
	}
	u, err := url.Parse(wsURL)
	if err != nil {
		return SIPAnswer{}, err
	}
	q := u.Query()
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return SIPAnswer{SIP: u.String(), Number: number, Host: cfg.Host}, nil
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
// when it is intercom ic's (nil: anyone's). ENOTFOUND otherwise.
func (s *Service) LiveCall(ctx context.Context, ic *intercom.Intercom, number string) (intercom.Call, error) {
	if !intercom.IsCallNumber(number) {
		return intercom.Call{}, intercom.ErrNotFound
	}
	c, err := s.store.CallByNumber(ctx, number)
	if err != nil {
		return c, err
	}
	if ic != nil && c.IntercomID != ic.ID {
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
		if c.Number != number {
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
		if c.Number != number {
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
