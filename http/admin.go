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
	u, err := s.members.CreateUser(r.Context(), nu)
	if err != nil {
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
	if err := s.members.DeleteUser(r.Context(), id); err != nil {
		return err
	}
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
	ic, err := intercom.ParseNewIntercom(body, s.now(), s.controlURLCheck(r.Context()))
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
	}{s.adminIntercom(ic), secret, s.calls.SIPCredentials(ic.ID)})
}

// controlURLCheck is the address policy of a control URL the operator
// gives (API.md §6), for the domain's parsers: what is wrong with it, or "".
func (s *Server) controlURLCheck(ctx context.Context) func(string) string {
	return func(u string) string {
		if problem := s.controlURLProblem(ctx, u); problem != "" {
			return "The control url field must not reach this host, a link-local or a metadata address: " + problem + "."
		} else if s.controller != nil && s.controller.Redirects(ctx, u) {
			return "The control url field must not redirect: give the address that answers."
		}
		return ""
	}
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
	m, err = s.members.PutMembership(r.Context(), m)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toMembershipJSON(m))
}

type membershipJSON struct {
	UserID     int64   `json:"user_id"`
	IntercomID int64   `json:"intercom_id"`
	Title      string  `json:"title"`
	Status     string  `json:"status"`
	Flat       *int64  `json:"flat"`
	CreatedAt  *string `json:"created_at"`
	UpdatedAt  *string `json:"updated_at"`
}

func toMembershipJSON(m intercom.Membership) membershipJSON {
	return membershipJSON{m.UserID, m.IntercomID, m.Title, m.Status, m.Flat, laravelTime(m.CreatedAt), laravelTime(m.UpdatedAt)}
}

// deleteMember is DELETE /api/admin/v1/intercoms/{intercom}/members/{user}.
func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) error {
	intercomID, userID, err := memberIDs(r)
	if err != nil {
		return err
	}
	if err := s.members.DeleteMembership(r.Context(), intercomID, userID); err != nil {
		return err
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
