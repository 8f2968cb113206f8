package http

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"intercom"
	"intercom/wire"
)

// wsPath is where the Pusher endpoint is announced; clients append
// /app/{key}. /app/{key} is served too, for clients that ignore the path.
const wsPath = "/ws"

// wsURL is GET /api/v1/wsurl: where the apps' Pusher clients connect.
func (s *Server) wsURL(w http.ResponseWriter, r *http.Request, sess session) error {
	u, err := url.Parse(s.baseURL(r))
	if err != nil {
		return err
	}
	encrypted := u.Scheme == "https"
	scheme, port := "ws", 80
	if encrypted {
		scheme, port = "wss", 443
	}
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	return encode(w, http.StatusOK, struct {
		WSURL       string `json:"ws_url"`
		AppKey      string `json:"app_key"`
		Port        int    `json:"port"`
		Host        string `json:"host"`
		Path        string `json:"path"`
		IsEncrypted bool   `json:"is_encrypted"`
	}{scheme + "://" + u.Host + wsPath, s.hub.Key(), port, u.Hostname(), wsPath, encrypted})
}

var (
	socketIDPattern = regexp.MustCompile(`^[0-9]{1,20}\.[0-9]{1,20}$`)
	errForbidden    = &intercom.Error{Code: EFORBIDDEN, Message: "This action is unauthorized."}
)

// broadcastingAuth is POST /api/v1/broadcasting/auth: it signs a socket's
// subscription to the session's own private channels, and nothing else.
func (s *Server) broadcastingAuth(w http.ResponseWriter, r *http.Request, sess session) error {
	socketID, channel, err := authForm(r)
	if err != nil {
		return err
	}
	if channel != wire.UserChannel(sess.token.UserID) && channel != wire.TokenChannel(sess.token.PublicID) {
		return errForbidden
	}
	// The subscription is tied to this token: logout, expiry or the
	// account's deletion closes the socket (API.md §3).
	s.sessions.Authorized(socketID, channel, sess.token.PublicID, sess.token.UserID, sess.token.ExpiresAt)
	auth := s.hub.Sign(socketID, channel)
	return encode(w, http.StatusOK, map[string]string{"auth": auth})
}

// authForm reads socket_id and channel_name, form-encoded as Pusher clients
// send them, or as JSON.
func authForm(r *http.Request) (string, string, error) {
	var socketID, channel string
	if isJSON(r.Header.Get("Content-Type")) {
		body, err := decode(r)
		if err != nil {
			return "", "", err
		}
		socketID, _ = body["socket_id"].(string)
		channel, _ = body["channel_name"].(string)
	} else {
		r.Body = http.MaxBytesReader(nil, r.Body, MaxBody)
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return "", "", bodyError(r, err)
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return "", "", &intercom.Error{Code: EMALFORMED, Message: "The request body is not a valid form."}
		}
		socketID, channel = form.Get("socket_id"), form.Get("channel_name")
	}
	var p intercom.Problems
	switch {
	case socketID == "":
		p.Add("socket_id", intercom.MsgRequired("socket_id"))
	case !socketIDPattern.MatchString(socketID):
		p.Add("socket_id", intercom.MsgFormat("socket_id"))
	}
	if channel == "" {
		p.Add("channel_name", intercom.MsgRequired("channel_name"))
	}
	return socketID, channel, p.Err()
}
