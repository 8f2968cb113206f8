package http

import (
	"net/url"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"intercom"
)

// SIPTokenTTL is how long the token in an answer's SIP URL is good for.
const SIPTokenTTL = 60 * time.Second

type sipConfig struct {
	host   string
	wsURL  string
	secret []byte
}

type sipAnswerJSON struct {
	SIP    string `json:"sip"`
	Number string `json:"number"`
	Host   string `json:"host"`
}

// sipAnswer is what an answering app needs to join the conversation: the
// SIP-over-WebSocket URL with a short-lived HS256 token the SIP server can
// verify (claims call, user, device, exp), the call's number and the domain.
func (s *Server) sipAnswer(c intercom.Call, sess session) (sipAnswerJSON, error) {
	now := s.now()
	number := strconv.FormatInt(c.ID, 10)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"call": c.ID, "user": sess.token.UserID, "device": sess.token.DeviceUUID, "sub": number,
		"iat": now.Unix(), "exp": now.Add(SIPTokenTTL).Unix(),
	}).SignedString(s.sip.secret)
	if err != nil {
		return sipAnswerJSON{}, err
	}
	host, wsURL := s.sip.host, s.sip.wsURL
	if host == "" {
		if u, err := url.Parse(s.publicURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		} else {
			host = "localhost"
		}
	}
	if wsURL == "" {
		wsURL = "wss://" + host + "/sip"
	}
	u, err := url.Parse(wsURL)
	if err != nil {
		return sipAnswerJSON{}, err
	}
	q := u.Query()
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return sipAnswerJSON{SIP: u.String(), Number: number, Host: host}, nil
}
