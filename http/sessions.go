package http

import (
	"net/http"
	"regexp"

	"intercom"
	"intercom/members"
	"intercom/wire"
)

// sessionJSON is one of an account's sessions (API.md §3).
type sessionJSON struct {
	ID        string `json:"id"` // the token's access_token_id
	Online    bool   `json:"online"`
	IsCurrent bool   `json:"is_current"`
	UserAgent string `json:"user_agent"`
	Client    string `json:"client"`
	IP        string `json:"ip"`
	Last      string `json:"last"`
}

func toSessionsJSON(ss []members.Session) []sessionJSON {
	out := make([]sessionJSON, 0, len(ss))
	for _, s := range ss {
		t := s.Token
		out = append(out, sessionJSON{ID: t.PublicID, Online: s.Online, IsCurrent: s.Current, UserAgent: t.UserAgent,
			Client: t.Client, IP: t.IP, Last: wire.SQLTime(t.LastUsedAt)})
	}
	return out
}

// listSessions is GET /api/v1/sessions: the account's live sessions.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, sess session) error {
	ss, err := s.members.Sessions(r.Context(), sess.token)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toSessionsJSON(ss))
}

// sessionIDPattern is the form of an access_token_id; anything else names
// no session.
var sessionIDPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// endSession is POST /api/v1/sessions/{session}: it ends one of the
// account's sessions, this one included.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request, sess session) error {
	id := r.PathValue("session")
	if !sessionIDPattern.MatchString(id) {
		return intercom.ErrNotFound
	}
	if err := s.members.EndSession(r.Context(), sess.token, id); err != nil {
		return err
	}
	return encode(w, http.StatusOK, map[string]string{"status": "ok"})
}

// updateSelf is PUT /api/v1/users/self: the account's language or password.
func (s *Server) updateSelf(w http.ResponseWriter, r *http.Request, sess session) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	u, err := intercom.ParseSelfUpdate(body, s.members.Languages())
	if err != nil {
		return err
	}
	user, err := s.members.UpdateSelf(r.Context(), sess.token, s.clientAddr(r), u)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toUserJSON(user, sess.token))
}
