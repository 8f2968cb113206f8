package wire

import (
	"intercom"
)

// Intercom is the seed's response object, field for field and in its order,
// then the flags the apps read (API.md §3).
type Intercom struct {
	ID                  int64              `json:"id"`
	Title               string             `json:"title"`
	IsOnline            bool               `json:"is_online"`
	IsEnabled           bool               `json:"is_enabled"`
	Timetable           intercom.Timetable `json:"timetable"`
	Department          int64              `json:"department"`
	Address             string             `json:"address"`
	Camera              *Camera            `json:"camera"`
	Status              string             `json:"status"`
	CreatedAt           *string            `json:"created_at"`
	UpdatedAt           *string            `json:"updated_at"`
	IsOpenDoorApp       bool               `json:"is_open_door_app"`
	IsOpenDoorCode      bool               `json:"is_open_door_code"`
	IsOpenDoorKey       bool               `json:"is_open_door_key"`
	IsOpenDoorFace      bool               `json:"is_open_door_face"`
	IsAnalyticAvailable bool               `json:"is_analytic_available"`
	// What can answer the flat's calls, and the flat's choices of its lines.
	AvailableAnswerDevices     []string `json:"available_answer_devices"`
	IsAnalogLineAvailable      bool     `json:"is_analog_line_available"`
	IsLandlineSIPLineAvailable bool     `json:"is_landline_sip_line_available"`
}

// Camera is a camera as the apps and the admin API see it.
type Camera struct {
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

// CameraOf is the wire form of a camera, nil for none.
func CameraOf(c *intercom.Camera) *Camera {
	if c == nil {
		return nil
	}
	return &Camera{
		ID: c.ID, GroupID: c.GroupID, Status: c.Status, Type: c.Type, StartAt: SQLTimePtr(c.StartAt),
		CreatedAt: SQLTime(c.CreatedAt), BillingID: c.BillingID, PrettyName: c.PrettyName,
		Lat: c.Lat, Lng: c.Lng, Azimuth: c.Azimuth, IsArchiveRecording: c.IsArchiveRecording,
		IsBridge: c.IsBridge, UserStatus: c.UserStatus, Name: c.Name,
	}
}

// IntercomOf is an intercom as the viewer sees it; online is its live state.
func IntercomOf(v intercom.IntercomView, online bool) Intercom {
	cam := CameraOf(v.Camera)
	if cam != nil {
		fav := v.IsFavorite
		cam.IsFavorite = &fav
	}
	return Intercom{
		ID:            v.Intercom.ID,
		Title:         v.Membership.Title,
		IsOnline:      online,
		IsEnabled:     v.Settings.IsEnabled,
		Timetable:     v.Settings.Timetable,
		Department:    v.Intercom.Department,
		Address:       v.Intercom.Address,
		Camera:        cam,
		Status:        v.Membership.Status,
		CreatedAt:     LaravelTime(v.Membership.CreatedAt),
		UpdatedAt:     LaravelTime(v.Membership.UpdatedAt),
		IsOpenDoorApp: intercom.OpensDoorFromApp(v.Membership.Status, v.Intercom),
		// The operator says whether the panel opens for codes and keys.
		IsOpenDoorCode: v.Intercom.OpenDoorCode,
		IsOpenDoorKey:  v.Intercom.OpenDoorKey,

		AvailableAnswerDevices:     intercom.AnswerDevices(v.Intercom, v.Lines),
		IsAnalogLineAvailable:      v.Lines.AnalogOn(v.Intercom),
		IsLandlineSIPLineAvailable: v.Lines.LandlineOn(v.Intercom),
	}
}

// ShortIntercom is the intercom embedded in a call.
type ShortIntercom struct {
	ID         int64   `json:"id"`
	Title      string  `json:"title"`
	IsOnline   bool    `json:"is_online"`
	Department int64   `json:"department"`
	Address    string  `json:"address"`
	Camera     *Camera `json:"camera"`
	CreatedAt  *string `json:"created_at"`
	UpdatedAt  *string `json:"updated_at"`
}

// Call is a call in the apps' history (API.md §3).
type Call struct {
	ID        int64   `json:"id"`
	Status    string  `json:"status"`
	CreatedAt string  `json:"created_at"`
	StartedAt *string `json:"started_at"`
	EndedAt   *string `json:"ended_at"`
	// AnsweredOn says what answered: "app", "analog" (the flat's handset),
	// "landline"; null when nothing did.
	AnsweredOn *string       `json:"answered_on"`
	Intercom   ShortIntercom `json:"intercom"`
}

// CallOf is a call as one account sees it; online is its intercom's live
// state.
func CallOf(cv intercom.CallView, online bool) Call {
	full := IntercomOf(cv.Intercom, online)
	return Call{
		ID: cv.Call.ID, Status: cv.Call.Status, CreatedAt: SQLTime(cv.Call.CreatedAt),
		StartedAt: SQLTimePtr(cv.Call.StartedAt), EndedAt: SQLTimePtr(cv.Call.EndedAt), AnsweredOn: NonEmpty(cv.Call.AnsweredVia()),
		Intercom: ShortIntercom{ID: full.ID, Title: full.Title, IsOnline: full.IsOnline, Department: full.Department,
			Address: full.Address, Camera: full.Camera, CreatedAt: full.CreatedAt, UpdatedAt: full.UpdatedAt},
	}
}

// CallData is the data of intercom_ring and intercom_cancel: what the SDKs
// read (reference §B.6–B.7), ids as numbers. title is the account's name for
// the intercom; openDoor whether the app may open its door.
func CallData(c intercom.Call, ic intercom.Intercom, title string) map[string]any {
	return map[string]any{
		"id": ic.ID, "call_id": c.ID, "title": title, "address": ic.Address, "video_url": nil,
		"call_created_at": SQLTime(c.CreatedAt), "camera_id": ic.CameraID, "mark_type": nil,
		"is_open_door_app": intercom.OpensDoorFromApp(intercom.StatusConfirmed, ic), // rung devices are confirmed members
	}
}

// NonEmpty is s, or nil (JSON null) when it is "".
func NonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
