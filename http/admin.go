package http

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/url"

	"intercom"
	"intercom/wire"
)

// createUser is POST /api/admin/v1/users.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	nu, err := intercom.ParseNewUser(body)
	if err != nil {
		return err
	}
	hash, err := s.hashing.Hash(r.Context(), nu.Password)
	if err != nil {
		return err
	}
	now := s.now()
	u, err := s.store.CreateUser(r.Context(), intercom.User{Login: nu.Login, Name: nu.Name, PasswordHash: hash,
		CreatedAt: now, UpdatedAt: now})
	if intercom.ErrorCode(err) == intercom.ECONFLICT {
		return intercom.Invalid("login", "The login has already been taken.")
	} else if err != nil {
		return err
	}
	return encode(w, http.StatusCreated, struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}{u.ID, u.Login, u.Name})
}

// deleteUser is DELETE /api/admin/v1/users/{user}.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("user"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	s.sessions.CloseUser(id) // nothing more reaches its sockets
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createCamera is POST /api/admin/v1/cameras.
func (s *Server) createCamera(w http.ResponseWriter, r *http.Request) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	c, err := intercom.ParseNewCamera(body, s.now())
	if err != nil {
		return err
	}
	c, err = s.store.CreateCamera(r.Context(), c)
	if err != nil {
		return err
	}
	return encode(w, http.StatusCreated, wire.CameraOf(&c))
}

// createIntercom is POST /api/admin/v1/intercoms. The secret is shown in
// this answer only; the store keeps its hash.
func (s *Server) createIntercom(w http.ResponseWriter, r *http.Request) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	ic, err := intercom.ParseNewIntercom(body, s.now(), func(u string) string {
		if problem := s.controlURLProblem(r.Context(), u); problem != "" {
			return "The control url field must not reach this host, a link-local or a metadata address: " + problem + "."
		} else if s.controller != nil && s.controller.Redirects(r.Context(), u) {
			return "The control url field must not redirect: give the address that answers."
		}
		return ""
	})
	if err != nil {
		return err
	}
	secret := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(secret))
	ic.SecretHash = sum[:]
	ic, err = s.store.CreateIntercom(r.Context(), ic)
	if err != nil {
		return err
	}
	return encode(w, http.StatusCreated, struct {
		adminIntercomJSON
		Secret string `json:"secret"`
		SIP    any    `json:"sip"`
	}{toAdminIntercom(ic), secret, s.calls.SIPCredentials(ic.ID)})
}

// controlURLProblem says why a control URL is refused by the address policy
// (API.md §6), or "". Without a controller nothing is ever sent, and only
// the host as written is judged.
func (s *Server) controlURLProblem(ctx context.Context, raw string) string {
	if s.controller != nil {
		return s.controller.CheckURL(ctx, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "not a URL"
	}
	if p := intercom.ControlHostProblem(u.Hostname(), false); p != "" {
		return u.Hostname() + " " + p
	}
	return ""
}

// putMember is PUT /api/admin/v1/intercoms/{intercom}/members/{user}.
func (s *Server) putMember(w http.ResponseWriter, r *http.Request) error {
	intercomID, userID, err := memberIDs(r)
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	m, err := intercom.ParseMembership(body, intercomID, userID)
	if err != nil {
		return err
	}
	viewer := intercom.Viewer{UserID: userID}
	_, err = s.store.Intercom(r.Context(), viewer, intercomID)
	wasTheirs := err == nil // only a confirmed membership is the account's intercom
	m, _, err = s.store.PutMembership(r.Context(), m, s.now())
	if err != nil {
		return err
	}
	// The account's apps hear of it: an intercom that became theirs, a changed
	// one, or one that is no longer theirs. A pairing in progress (key_confirmed)
	// is not theirs: nothing is said of it.
	switch v, err := s.store.Intercom(r.Context(), viewer, intercomID); {
	case err == nil:
		typ := "intercom.rename"
		if !wasTheirs {
			typ = "intercom.store"
		}
		s.toUser(userID, typ, func() map[string]any { return map[string]any{"intercom": s.intercomJSON(v)} }, "")
	case wasTheirs:
		s.toUser(userID, "intercom.delete", func() map[string]any { return map[string]any{"deleted_ids": []int64{intercomID}} }, "")
	}
	return encode(w, http.StatusOK, struct {
		UserID     int64   `json:"user_id"`
		IntercomID int64   `json:"intercom_id"`
		Title      string  `json:"title"`
		Status     string  `json:"status"`
		Flat       *int64  `json:"flat"`
		CreatedAt  *string `json:"created_at"`
		UpdatedAt  *string `json:"updated_at"`
	}{m.UserID, m.IntercomID, m.Title, m.Status, m.Flat, laravelTime(m.CreatedAt), laravelTime(m.UpdatedAt)})
}

// deleteMember is DELETE /api/admin/v1/intercoms/{intercom}/members/{user}.
func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) error {
	intercomID, userID, err := memberIDs(r)
	if err != nil {
		return err
	}
	_, err = s.store.Intercom(r.Context(), intercom.Viewer{UserID: userID}, intercomID)
	wasTheirs := err == nil // a pairing in progress was never the account's intercom
	if err := s.store.DeleteMembership(r.Context(), intercomID, userID); err != nil {
		return err
	}
	if wasTheirs {
		s.toUser(userID, "intercom.delete", func() map[string]any { return map[string]any{"deleted_ids": []int64{intercomID}} }, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// memberIDs parses the {intercom} and {user} path values of a membership.
func memberIDs(r *http.Request) (intercomID, userID int64, err error) {
	if intercomID, err = pathID(r.PathValue("intercom")); err != nil {
		return 0, 0, err
	}
	userID, err = pathID(r.PathValue("user"))
	return intercomID, userID, err
}

// sipCredentials is POST /api/admin/v1/intercoms/{intercom}/sip-credentials:
// the intercom's SIP digest credentials, for a panel that dials flats. They
// are derived from --sip-secret, so asking again gives the same.
func (s *Server) sipCredentials(w http.ResponseWriter, r *http.Request) error {
	ic, err := s.adminPathIntercom(r)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.calls.SIPCredentials(ic.ID))
}
