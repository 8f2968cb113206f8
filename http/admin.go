package http

import (
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"time"

	"intercom"
	"intercom/wire"
)

// createUser is POST /api/admin/v1/users.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	login := strings.TrimSpace(requiredString(body, "login", 255, &p))
	pw := requiredString(body, "password", 1024, &p)
	if pw != "" && len([]rune(pw)) < 8 {
		p.Add("password", intercom.MsgMinString("password", 8))
	}
	name := optionalString(body, "name", 255, &p)
	if err := p.Err(); err != nil {
		return err
	}
	if name == nil || strings.TrimSpace(*name) == "" {
		name = &login
	}
	hash, err := s.hashing.Hash(r.Context(), pw)
	if err != nil {
		return err
	}
	now := s.now()
	u, err := s.store.CreateUser(r.Context(), intercom.User{Login: login, Name: strings.TrimSpace(*name), PasswordHash: hash,
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

var userStatuses = []string{"active", "blocked"}

// createCamera is POST /api/admin/v1/cameras.
func (s *Server) createCamera(w http.ResponseWriter, r *http.Request) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	c := intercom.Camera{
		Name:               strings.TrimSpace(requiredString(body, "name", 255, &p)),
		GroupID:            optionalInt(body, "group_id", 0, 1<<53, &p),
		Status:             oneOf(body, "status", "active", intercom.CameraStatuses, &p),
		Type:               "media_server_v2",
		BillingID:          optionalString(body, "billing_id", 255, &p),
		Lat:                optionalFloat(body, "lat", -90, 90, &p),
		Lng:                optionalFloat(body, "lng", -180, 180, &p),
		Azimuth:            optionalFloat(body, "azimuth", 0, 360, &p),
		IsArchiveRecording: optionalBool(body, "is_archive_recording", false, &p),
		IsBridge:           optionalBool(body, "is_bridge", false, &p),
		UserStatus:         oneOf(body, "user_status", "active", userStatuses, &p),
		CreatedAt:          s.now(),
	}
	c.PrettyName = c.Name
	if pretty := optionalString(body, "pretty_name", 255, &p); pretty != nil && strings.TrimSpace(*pretty) != "" {
		c.PrettyName = strings.TrimSpace(*pretty)
	}
	if typ := optionalString(body, "type", 64, &p); typ != nil && *typ != "" {
		c.Type = *typ
	}
	if v, ok := body["start_at"]; ok && v != nil {
		s, isString := v.(string)
		t, err := time.Parse(time.DateTime, s)
		if !isString || err != nil {
			p.Add("start_at", "The start at field must match the format Y-m-d H:i:s.")
		} else {
			c.StartAt = &t
		}
	}
	if err := p.Err(); err != nil {
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
	var p intercom.Problems
	ic := intercom.Intercom{
		Address:   strings.TrimSpace(requiredString(body, "address", 255, &p)),
		CameraID:  optionalInt(body, "camera_id", 1, 1<<53, &p),
		CreatedAt: s.now(),
	}
	if d := optionalInt(body, "department", 0, 1<<31-1, &p); d != nil {
		ic.Department = *d
	}
	ic.DoorOpenSeconds = 7
	if d := optionalInt(body, "door_open_seconds", 1, 600, &p); d != nil {
		ic.DoorOpenSeconds = int(*d)
	}
	if u := optionalString(body, "control_url", 2048, &p); u != nil && *u != "" {
		switch {
		case !validControlURL(*u):
			p.Add("control_url", "The control url field must be an absolute http or https URL.")
		case s.controller != nil && s.controller.Redirects(r.Context(), *u):
			p.Add("control_url", "The control url field must not redirect: give the address that answers.")
		}
		ic.ControlURL = u
	}
	if err := p.Err(); err != nil {
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
		ID              int64   `json:"id"`
		Address         string  `json:"address"`
		Department      int64   `json:"department"`
		CameraID        *int64  `json:"camera_id"`
		ControlURL      *string `json:"control_url"`
		DoorOpenSeconds int     `json:"door_open_seconds"`
		CreatedAt       *string `json:"created_at"`
		Secret          string  `json:"secret"`
	}{ic.ID, ic.Address, ic.Department, ic.CameraID, ic.ControlURL, ic.DoorOpenSeconds, laravelTime(&ic.CreatedAt), secret})
}

func validControlURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == ""
}

var membershipStatuses = []string{intercom.StatusConfirmed, intercom.StatusKeyConfirmed}

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
	var p intercom.Problems
	m := intercom.Membership{UserID: userID, IntercomID: intercomID}
	m.Title, _ = intercom.ParseTitle(body["title"], "title", &p)
	if _, ok := body["status"]; !ok {
		p.Add("status", intercom.MsgRequired("status"))
	} else {
		m.Status = oneOf(body, "status", "", membershipStatuses, &p)
	}
	m.Flat = optionalInt(body, "flat", 0, 1<<31-1, &p)
	if err := p.Err(); err != nil {
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
