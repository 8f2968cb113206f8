package calls

import (
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
	Secret []byte // signs the short-lived tokens (HS256)
}

// SIPAnswer is what an answering app needs: the SIP-over-WebSocket URL with
// its token, the call's number and the domain.
type SIPAnswer struct {
	SIP    string `json:"sip"`
	Number string `json:"number"`
	Host   string `json:"host"`
}

// Number is a call's extension on the SIP server.
func Number(c intercom.Call) string { return itoa(c.ID) }

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
