package http

import (
	"net/http"
	"strconv"

	"intercom"
)

type adminIntercomJSON struct {
	ID              int64   `json:"id"`
	Address         string  `json:"address"`
	Department      int64   `json:"department"`
	CameraID        *int64  `json:"camera_id"`
	ControlURL      *string `json:"control_url"`
	DoorOpenSeconds int     `json:"door_open_seconds"`
	FirstFlat       *int64  `json:"first_flat"`
	LastFlat        *int64  `json:"last_flat"`
	IsOpenDoorCode  bool    `json:"is_open_door_code"`
	IsOpenDoorKey   bool    `json:"is_open_door_key"`
	HasAnalogLine   bool    `json:"has_analog_line"`
	HasLandlineLine bool    `json:"has_landline_sip_line"`
	Online          bool    `json:"online"`
	LastHeartbeatAt *string `json:"last_heartbeat_at"`
	CreatedAt       *string `json:"created_at"`
}

// adminIntercom is an intercom as the operator sees it, online or not now.
func (s *Server) adminIntercom(ic intercom.Intercom) adminIntercomJSON {
	return adminIntercomJSON{ic.ID, ic.Address, ic.Department, ic.CameraID, ic.ControlURL, ic.DoorOpenSeconds,
		ic.FirstFlat, ic.LastFlat, ic.OpenDoorCode, ic.OpenDoorKey, ic.AnalogLine, ic.LandlineLine,
		s.calls.Online(ic), laravelTime(ic.LastHeartbeatAt), laravelTime(&ic.CreatedAt)}
}

// flatJSON is a flat's lines as the operator sees them: the landline's URI
// it set, the flat's choices, and what can answer the flat's calls.
type flatJSON struct {
	IntercomID                 int64    `json:"intercom_id"`
	Flat                       *int64   `json:"flat"`
	LandlineURI                *string  `json:"landline_uri"`
	IsAnalogLineAvailable      bool     `json:"is_analog_line_available"`
	IsLandlineSIPLineAvailable bool     `json:"is_landline_sip_line_available"`
	AvailableAnswerDevices     []string `json:"available_answer_devices"`
}

func toFlatJSON(ic intercom.Intercom, flat *int64, fl intercom.FlatLines) flatJSON {
	return flatJSON{ic.ID, flat, nonEmpty(fl.LandlineURI), fl.Analog, fl.Landline, intercom.AnswerDevices(ic, fl)}
}

// pathFlat reads the {flat} path value: a flat number, or "house" for a
// private house's members (those without a flat).
func pathFlat(r *http.Request) (*int64, error) {
	raw := r.PathValue("flat")
	if raw == "house" {
		return nil, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 || n > intercom.MaxFlat || strconv.FormatInt(n, 10) != raw {
		return nil, intercom.ErrNotFound
	}
	return &n, nil
}

// getFlat is GET /api/admin/v1/intercoms/{intercom}/flats/{flat}.
func (s *Server) getFlat(w http.ResponseWriter, r *http.Request) error {
	ic, err := s.adminPathIntercom(r)
	if err != nil {
		return err
	}
	flat, err := pathFlat(r)
	if err != nil {
		return err
	}
	fl, err := s.store.FlatLines(r.Context(), ic.ID, flat)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toFlatJSON(ic, flat, fl))
}

// patchFlat is PATCH /api/admin/v1/intercoms/{intercom}/flats/{flat}: the
// landline's URI and the flat's choices of its lines.
func (s *Server) patchFlat(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	flat, err := pathFlat(r)
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	u, err := intercom.ParseFlatLinesUpdate(body)
	if err != nil {
		return err
	}
	var ic intercom.Intercom
	fl, err := s.store.UpdateFlatLines(r.Context(), id, flat, func(at intercom.Intercom, fl *intercom.FlatLines) error {
		ic = at
		u.Apply(fl)
		return nil
	}, s.clock.Now())
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toFlatJSON(ic, flat, fl))
}

// getAdminIntercom is GET /api/admin/v1/intercoms/{intercom}.
func (s *Server) getAdminIntercom(w http.ResponseWriter, r *http.Request) error {
	ic, err := s.adminPathIntercom(r)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.adminIntercom(ic))
}

// adminPathIntercom loads the intercom named by the {intercom} path value,
// whoever it belongs to (the operator's view).
func (s *Server) adminPathIntercom(r *http.Request) (intercom.Intercom, error) {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return intercom.Intercom{}, err
	}
	return s.store.IntercomByID(r.Context(), id)
}

// patchIntercom is PATCH /api/admin/v1/intercoms/{intercom}: every field
// the create takes (the control URL under the same address policy), the
// flat range residents choose from and the door features the panel has.
func (s *Server) patchIntercom(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	u, err := intercom.ParseIntercomChange(body, s.controlURLCheck(r.Context()))
	if err != nil {
		return err
	}
	ic, err := s.store.UpdateIntercomSettings(r.Context(), id, u.Apply)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.adminIntercom(ic))
}

type keyJSON struct {
	Key       string  `json:"key"`
	Flat      *int64  `json:"flat"`
	Note      string  `json:"note"`
	UserID    *int64  `json:"user_id"`
	CreatedAt *string `json:"created_at"`
	UpdatedAt *string `json:"updated_at"`
}

func toKeyJSON(k intercom.Key) keyJSON {
	return keyJSON{k.ID, k.Flat, k.Note, k.UserID, laravelTime(&k.CreatedAt), laravelTime(&k.UpdatedAt)}
}

// pathKey parses {intercom} and {key}: a key id that is not well formed is
// not found.
func pathKey(r *http.Request) (int64, string, error) {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return 0, "", err
	}
	key := r.PathValue("key")
	if !intercom.ValidKeyID(key) {
		return 0, "", intercom.ErrNotFound
	}
	return id, key, nil
}

// putKey is PUT /api/admin/v1/intercoms/{intercom}/keys/{key}: 201 when
// registered, 200 when changed.
func (s *Server) putKey(w http.ResponseWriter, r *http.Request) error {
	id, keyID, err := pathKey(r)
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	k, err := intercom.ParseKey(body, id, keyID)
	if err != nil {
		return err
	}
	k, created, err := s.store.PutKey(r.Context(), k, s.now())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return encode(w, status, toKeyJSON(k))
}

// getKey is GET /api/admin/v1/intercoms/{intercom}/keys/{key}.
func (s *Server) getKey(w http.ResponseWriter, r *http.Request) error {
	id, keyID, err := pathKey(r)
	if err != nil {
		return err
	}
	k, err := s.store.Key(r.Context(), id, keyID)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toKeyJSON(k))
}

// deleteKey is DELETE /api/admin/v1/intercoms/{intercom}/keys/{key}.
func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) error {
	id, keyID, err := pathKey(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteKey(r.Context(), id, keyID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listKeys is GET /api/admin/v1/intercoms/{intercom}/keys.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	var p intercom.Problems
	page := parsePage(r.URL.Query(), &p)
	if err := p.Err(); err != nil {
		return err
	}
	keys, total, err := s.store.Keys(r.Context(), id, page)
	if err != nil {
		return err
	}
	return encodePage(s, w, r, page, total, keys, toKeyJSON)
}

// accessLog is GET /api/admin/v1/intercoms/{intercom}/access-log: every
// decision on a key or a code, newest first; ?kind=key|code, ?open=true|false,
// ?user_id= narrow it.
func (s *Server) accessLog(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var p intercom.Problems
	page := parsePage(q, &p)
	var f intercom.AccessFilter
	switch f.Kind = q.Get("kind"); f.Kind {
	case "", intercom.AccessKey, intercom.AccessCode:
	default:
		p.Add("kind", intercom.MsgIn("kind"))
	}
	if v := q.Get("open"); v != "" {
		if b, ok := intercom.ParseBool(v, "open", &p); ok {
			f.Open = &b
		}
	}
	f.UserID = queryID(q, "user_id", &p)
	if err := p.Err(); err != nil {
		return err
	}
	entries, total, err := s.store.AccessLog(r.Context(), id, f, page)
	if err != nil {
		return err
	}
	type entryJSON struct {
		ID         int64  `json:"id"`
		Kind       string `json:"kind"`
		Credential string `json:"credential"`
		UserID     *int64 `json:"user_id"`
		CodeID     *int64 `json:"code_id"`
		At         string `json:"at"`
		Open       bool   `json:"open"`
		Reason     string `json:"reason"`
	}
	out := make([]entryJSON, len(entries))
	for i, e := range entries {
		out[i] = entryJSON{e.ID, e.Kind, e.Credential, e.UserID, e.CodeID, sqlTime(e.At), e.Open, e.Reason}
	}
	return encode(w, http.StatusOK, s.paginate(r, page, total, out))
}
