package http

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"intercom"
)

// intercomJSON is the seed's response object, field for field and in its
// order, then the fields the apps read beyond the seed.
type intercomJSON struct {
	ID         int64              `json:"id"`
	Title      string             `json:"title"`
	IsOnline   bool               `json:"is_online"`
	IsEnabled  bool               `json:"is_enabled"`
	Timetable  intercom.Timetable `json:"timetable"`
	Department int64              `json:"department"`
	Address    string             `json:"address"`
	Camera     *cameraJSON        `json:"camera"`
	Status     string             `json:"status"`
	CreatedAt  *string            `json:"created_at"`
	UpdatedAt  *string            `json:"updated_at"`

	// Read by the apps (iOS declares them non-optional): sent always.
	IsOpenDoorApp       bool `json:"is_open_door_app"`
	IsOpenDoorCode      bool `json:"is_open_door_code"` // false until visitor codes open doors
	IsOpenDoorKey       bool `json:"is_open_door_key"`  // false until keys do
	IsOpenDoorFace      bool `json:"is_open_door_face"` // false until face recognition exists
	IsAnalyticAvailable bool `json:"is_analytic_available"`
}

type cameraJSON struct {
	ID                 int64    `json:"id"`
	GroupID            *int64   `json:"group_id"`
	Status             string   `json:"status"`
	Type               string   `json:"type"`
	StartAt            *string  `json:"start_at"`
	CreatedAt          string   `json:"created_at"`
	BillingID          *string  `json:"billing_id"`
	PrettyName         string   `json:"pretty_name"`
	Lat                *float64 `json:"lat"`
	Lng                *float64 `json:"lng"`
	Azimuth            *float64 `json:"azimuth"`
	IsArchiveRecording bool     `json:"is_archive_recording"`
	IsBridge           bool     `json:"is_bridge"`
	IsFavorite         *bool    `json:"is_favorite,omitempty"` // always set for apps; absent in the admin API
	UserStatus         string   `json:"user_status"`
	Name               string   `json:"name"`
}

func toCameraJSON(c *intercom.Camera) *cameraJSON {
	if c == nil {
		return nil
	}
	return &cameraJSON{
		ID: c.ID, GroupID: c.GroupID, Status: c.Status, Type: c.Type, StartAt: sqlTimePtr(c.StartAt),
		CreatedAt: sqlTime(c.CreatedAt), BillingID: c.BillingID, PrettyName: c.PrettyName,
		Lat: c.Lat, Lng: c.Lng, Azimuth: c.Azimuth, IsArchiveRecording: c.IsArchiveRecording,
		IsBridge: c.IsBridge, UserStatus: c.UserStatus, Name: c.Name,
	}
}

func (s *Server) intercomJSON(v intercom.IntercomView) intercomJSON {
	cam := toCameraJSON(v.Camera)
	if cam != nil {
		fav := v.IsFavorite
		cam.IsFavorite = &fav
	}
	return intercomJSON{
		ID:         v.Intercom.ID,
		Title:      v.Membership.Title,
		IsOnline:   v.Intercom.Online(s.now(), s.offlineAfter),
		IsEnabled:  v.Settings.IsEnabled,
		Timetable:  v.Settings.Timetable,
		Department: v.Intercom.Department,
		Address:    v.Intercom.Address,
		Camera:     cam,
		Status:     v.Membership.Status,
		CreatedAt:  laravelTime(v.Membership.CreatedAt),
		UpdatedAt:  laravelTime(v.Membership.UpdatedAt),

		IsOpenDoorApp: v.OpensDoorFromApp(),
	}
}

func (s *Server) intercomsJSON(views []intercom.IntercomView) []intercomJSON {
	out := make([]intercomJSON, len(views))
	for i, v := range views {
		out[i] = s.intercomJSON(v)
	}
	return out
}

// listIntercoms is GET /api/v1/intercom.
func (s *Server) listIntercoms(w http.ResponseWriter, r *http.Request, sess session) error {
	var p intercom.Problems
	page := parsePage(r.URL.Query(), &p)
	if err := p.Err(); err != nil {
		return err
	}
	views, total, err := s.store.Intercoms(r.Context(), sess.viewer(), page)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.paginate(r, page, total, s.intercomsJSON(views)))
}

// MaxShowIDs is the most ids GET /api/v1/intercom/shows takes.
const MaxShowIDs = 25

// showIntercoms is GET /api/v1/intercom/shows?ids[]=1&ids[]=2.
func (s *Server) showIntercoms(w http.ResponseWriter, r *http.Request, sess session) error {
	raw := queryArray(r.URL.Query(), "ids")
	var p intercom.Problems
	switch {
	case len(raw) == 0:
		p.Add("ids", intercom.MsgRequired("ids"))
	case len(raw) > MaxShowIDs:
		p.Add("ids", intercom.MsgMaxItems("ids", MaxShowIDs))
	}
	ids := make([]int64, 0, len(raw))
	for i, v := range raw {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			k := "ids." + strconv.Itoa(i)
			p.Add(k, intercom.MsgInteger(k))
			continue
		}
		ids = append(ids, id)
	}
	if err := p.Err(); err != nil {
		return err
	}
	views, err := s.store.IntercomsByIDs(r.Context(), sess.viewer(), ids)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.intercomsJSON(views))
}

// queryArray collects a PHP-style array parameter: name[]=, name[N]= or name=.
func queryArray(q url.Values, name string) []string {
	var out []string
	out = append(out, q[name]...)
	out = append(out, q[name+"[]"]...)
	for k, vs := range q {
		if strings.HasPrefix(k, name+"[") && strings.HasSuffix(k, "]") && k != name+"[]" {
			out = append(out, vs...)
		}
	}
	return out
}

// pathIntercom loads the session's intercom named by the {intercom} path
// value; another account's, like a missing one, is not found.
func (s *Server) pathIntercom(r *http.Request, sess session) (intercom.IntercomView, error) {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return intercom.IntercomView{}, err
	}
	return s.store.Intercom(r.Context(), sess.viewer(), id)
}

// getIntercom is GET /api/v1/intercom/{intercom}.
func (s *Server) getIntercom(w http.ResponseWriter, r *http.Request, sess session) error {
	v, err := s.pathIntercom(r, sess)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.intercomJSON(v))
}

// updateIntercom is PATCH /api/v1/intercom/{intercom}, the seed.
func (s *Server) updateIntercom(w http.ResponseWriter, r *http.Request, sess session) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	u, err := s.parseUpdate(r)
	if err != nil {
		// Someone else's intercom is 404 whatever the body says.
		if _, nf := s.store.Intercom(r.Context(), sess.viewer(), id); nf != nil {
			return nf
		}
		return err
	}
	v, err := s.store.UpdateIntercom(r.Context(), sess.viewer(), id, u, s.now())
	if err != nil {
		return err
	}
	out := s.intercomJSON(v)
	// The account's other devices hear of it; the one that asked does not.
	except := r.Header.Get("X-Socket-ID")
	if u.Title != nil {
		s.toUser(sess.token.UserID, "intercom.rename", func() map[string]any { return map[string]any{"intercom": out} }, except)
	}
	if u.IsEnabled != nil || u.Timetable != nil {
		s.toUser(sess.token.UserID, "intercom.update", func() map[string]any { return map[string]any{"intercom": out} }, except)
	}
	return encode(w, http.StatusOK, out)
}

func (s *Server) parseUpdate(r *http.Request) (intercom.IntercomUpdate, error) {
	body, err := decode(r)
	if err != nil {
		return intercom.IntercomUpdate{}, err
	}
	return intercom.ParseIntercomUpdate(body)
}
