package http

import (
	"net/http"

	"intercom"
	"intercom/wire"
)

// The admin API's lists, reads, changes and removals beyond provisioning
// (API.md §7): what a billing system and a support desk need.

type adminUserJSON struct {
	ID        int64   `json:"id"`
	Login     string  `json:"login"`
	Name      string  `json:"name"`
	CreatedAt *string `json:"created_at"`
	UpdatedAt *string `json:"updated_at"`
}

func toAdminUser(u intercom.User) adminUserJSON {
	return adminUserJSON{u.ID, u.Login, u.Name, laravelTime(&u.CreatedAt), laravelTime(&u.UpdatedAt)}
}

// listUsers is GET /api/admin/v1/users: ?search= narrows to logins that
// contain it (any case, taken literally).
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var p intercom.Problems
	page := parsePage(q, &p)
	f := intercom.UserFilter{Search: intercom.ParseSearch(q.Get("search"), &p)}
	if err := p.Err(); err != nil {
		return err
	}
	users, total, err := s.store.Users(r.Context(), f, page)
	if err != nil {
		return err
	}
	return encodePage(s, w, r, page, total, users, toAdminUser)
}

// getUser is GET /api/admin/v1/users/{user}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("user"))
	if err != nil {
		return err
	}
	u, err := s.store.UserByID(r.Context(), id)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toAdminUser(u))
}

// patchUser is PATCH /api/admin/v1/users/{user}: login, name, password; a
// new password ends every session of the account.
func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("user"))
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	c, err := intercom.ParseUserChange(body)
	if err != nil {
		return err
	}
	u, err := s.members.ChangeUser(r.Context(), id, c)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toAdminUser(u))
}

// resetPassword is POST /api/admin/v1/users/{user}/password: the account's
// new password; every session of the account ends (sockets closed, 4009).
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("user"))
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	pw, err := intercom.ParsePassword(body)
	if err != nil {
		return err
	}
	if _, err := s.members.ChangeUser(r.Context(), id, intercom.UserChange{Password: &pw}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listUserMemberships is GET /api/admin/v1/users/{user}/memberships.
func (s *Server) listUserMemberships(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("user"))
	if err != nil {
		return err
	}
	return s.listMemberships(w, r, 0, id)
}

// listIntercomMembers is GET /api/admin/v1/intercoms/{intercom}/members.
func (s *Server) listIntercomMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	return s.listMemberships(w, r, id, 0)
}

func (s *Server) listMemberships(w http.ResponseWriter, r *http.Request, intercomID, userID int64) error {
	var p intercom.Problems
	page := parsePage(r.URL.Query(), &p)
	if err := p.Err(); err != nil {
		return err
	}
	ms, total, err := s.store.Memberships(r.Context(), intercomID, userID, page)
	if err != nil {
		return err
	}
	return encodePage(s, w, r, page, total, ms, toMembershipJSON)
}

// getMember is GET /api/admin/v1/intercoms/{intercom}/members/{user}.
func (s *Server) getMember(w http.ResponseWriter, r *http.Request) error {
	intercomID, userID, err := memberIDs(r)
	if err != nil {
		return err
	}
	m, err := s.store.Membership(r.Context(), intercomID, userID)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toMembershipJSON(m))
}

// listCameras is GET /api/admin/v1/cameras.
func (s *Server) listCameras(w http.ResponseWriter, r *http.Request) error {
	var p intercom.Problems
	page := parsePage(r.URL.Query(), &p)
	if err := p.Err(); err != nil {
		return err
	}
	cams, total, err := s.store.Cameras(r.Context(), page)
	if err != nil {
		return err
	}
	out := make([]*wire.Camera, len(cams))
	for i := range cams {
		out[i] = wire.CameraOf(&cams[i])
	}
	return encode(w, http.StatusOK, s.paginate(r, page, total, out))
}

// getCamera is GET /api/admin/v1/cameras/{camera}.
func (s *Server) getCamera(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("camera"))
	if err != nil {
		return err
	}
	c, err := s.store.CameraByID(r.Context(), id)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, wire.CameraOf(&c))
}

// patchCamera is PATCH /api/admin/v1/cameras/{camera}: every field the
// create takes.
func (s *Server) patchCamera(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("camera"))
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	apply, err := intercom.ParseCameraChange(body)
	if err != nil {
		return err
	}
	c, err := s.store.UpdateCamera(r.Context(), id, func(c *intercom.Camera) error { apply(c); return nil })
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, wire.CameraOf(&c))
}

// deleteCamera is DELETE /api/admin/v1/cameras/{camera}: the intercoms it
// watched have camera_id null.
func (s *Server) deleteCamera(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("camera"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteCamera(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listAdminIntercoms is GET /api/admin/v1/intercoms: ?search= narrows to
// addresses that contain it (any case, taken literally), ?online=false to
// the intercoms offline now (each with its last heartbeat: since when).
func (s *Server) listAdminIntercoms(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var p intercom.Problems
	page := parsePage(q, &p)
	f := intercom.IntercomFilter{Search: intercom.ParseSearch(q.Get("search"), &p),
		AliveAfter: s.clock.Now().Add(-s.calls.OfflineAfter())}
	if v := q.Get("online"); v != "" {
		if b, ok := intercom.ParseBool(v, "online", &p); ok {
			f.Online = &b
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	ics, total, err := s.store.AdminIntercoms(r.Context(), f, page)
	if err != nil {
		return err
	}
	return encodePage(s, w, r, page, total, ics, s.adminIntercom)
}

// deleteIntercom is DELETE /api/admin/v1/intercoms/{intercom}: with its
// memberships, calls (live ones ended first), keys, codes, flats' lines and
// logs.
func (s *Server) deleteIntercom(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	if err := s.calls.RemoveIntercom(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateSecret is POST /api/admin/v1/intercoms/{intercom}/secret: a new
// secret, shown in this answer only. The old one is refused from the
// commit on, on every node: panels are authenticated by the stored hash,
// read at every request, never cached.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	secret, hash, key, err := s.newIntercomSecret()
	if err != nil {
		return err
	}
	if _, err := s.store.UpdateIntercomSettings(r.Context(), id, func(ic *intercom.Intercom) error {
		ic.SecretHash, ic.ControlKey = hash, key
		return nil
	}); err != nil {
		return err
	}
	return encode(w, http.StatusOK, struct {
		Secret string `json:"secret"`
	}{secret})
}

// userDevices is GET /api/admin/v1/users/{user}/devices: each device of the
// account with the push channels it registered a token for (never the
// tokens), its live sessions and its last use.
func (s *Server) userDevices(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("user"))
	if err != nil {
		return err
	}
	devices, err := s.store.Devices(r.Context(), id, s.now())
	if err != nil {
		return err
	}
	type deviceJSON struct {
		ID           int64    `json:"id"`
		UUID         string   `json:"uuid"`
		Client       string   `json:"client"`
		PushChannels []string `json:"push_channels"`
		LiveSessions int      `json:"live_sessions"`
		LastUsedAt   *string  `json:"last_used_at"`
		LastIP       *string  `json:"last_ip"`
		CreatedAt    *string  `json:"created_at"`
		UpdatedAt    *string  `json:"updated_at"`
	}
	out := make([]deviceJSON, len(devices))
	for i, a := range devices {
		d := a.Device
		out[i] = deviceJSON{d.ID, d.UUID, d.Client, d.PushChannels(), a.LiveSessions, laravelTime(a.LastUsedAt), nonEmpty(a.LastIP),
			laravelTime(&d.CreatedAt), laravelTime(&d.UpdatedAt)}
	}
	return encode(w, http.StatusOK, struct {
		Data []deviceJSON `json:"data"`
	}{out})
}

// intercomCalls is GET /api/admin/v1/intercoms/{intercom}/calls: the
// intercom's calls of ?date= (a UTC day; today by default) or between
// ?since= and ?until=, newest first, each as GET /calls/{id} renders it.
func (s *Server) intercomCalls(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var p intercom.Problems
	page := parsePage(q, &p)
	since, until := intercom.ParseCallWindow(q.Get("date"), q.Get("since"), q.Get("until"), s.now(), &p)
	if err := p.Err(); err != nil {
		return err
	}
	calls, total, err := s.store.IntercomCalls(r.Context(), id, since, until, page)
	if err != nil {
		return err
	}
	out := make([]adminCallJSON, len(calls))
	for i, c := range calls {
		sends, err := s.store.CallSends(r.Context(), c.ID)
		if err != nil {
			return err
		}
		out[i] = toAdminCall(c, sends)
	}
	return encode(w, http.StatusOK, s.paginate(r, page, total, out))
}
