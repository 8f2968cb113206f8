package intercom

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// What the operator's admin API provisions, validated and completed with
// defaults. Each parser reports every problem of the body at once; none
// touches the network or the store (the control URL's address policy and
// redirect probe are the transport's, at provisioning).

// Defaults and bounds of provisioning.
const (
	DefaultDoorOpenSeconds = 7
	MinPasswordLength      = 8
	DefaultCameraType      = "media_server_v2"
)

// UserStatuses are a camera's user_status values.
var UserStatuses = []string{"active", "blocked"}

// MembershipStatuses are the statuses the operator may give a membership.
var MembershipStatuses = []string{StatusConfirmed, StatusKeyConfirmed}

// NewUser is an account the operator creates: its login (trimmed), password
// and name (the login when none is given).
type NewUser struct {
	Login, Password, Name string
}

// ParseNewUser validates POST /api/admin/v1/users.
func ParseNewUser(body Body) (NewUser, error) {
	var p Problems
	u := NewUser{
		Login:    strings.TrimSpace(body.RequiredString("login", 255, &p)),
		Password: body.RequiredString("password", 1024, &p),
	}
	if u.Password != "" && utf8.RuneCountInString(u.Password) < MinPasswordLength {
		p.Add("password", MsgMinString("password", MinPasswordLength))
	}
	name := body.String("name", 255, &p)
	if err := p.Err(); err != nil {
		return NewUser{}, err
	}
	u.Name = u.Login
	if name != nil && strings.TrimSpace(*name) != "" {
		u.Name = strings.TrimSpace(*name)
	}
	return u, nil
}

// ParseNewCamera validates POST /api/admin/v1/cameras; the camera is created
// at instant now.
func ParseNewCamera(body Body, now time.Time) (Camera, error) {
	var p Problems
	c := Camera{
		Name:               strings.TrimSpace(body.RequiredString("name", 255, &p)),
		GroupID:            body.Int("group_id", 0, 1<<53, &p),
		Status:             body.OneOf("status", "active", CameraStatuses, &p),
		Type:               DefaultCameraType,
		BillingID:          body.String("billing_id", 255, &p),
		Lat:                body.Float("lat", -90, 90, &p),
		Lng:                body.Float("lng", -180, 180, &p),
		Azimuth:            body.Float("azimuth", 0, 360, &p),
		IsArchiveRecording: body.Bool("is_archive_recording", false, &p),
		IsBridge:           body.Bool("is_bridge", false, &p),
		UserStatus:         body.OneOf("user_status", "active", UserStatuses, &p),
		CreatedAt:          now,
	}
	c.PrettyName = c.Name
	if pretty := body.String("pretty_name", 255, &p); pretty != nil && strings.TrimSpace(*pretty) != "" {
		c.PrettyName = strings.TrimSpace(*pretty)
	}
	if typ := body.String("type", 64, &p); typ != nil && *typ != "" {
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
	return c, p.Err()
}

// ParseNewIntercom validates POST /api/admin/v1/intercoms, with the settings
// ParseIntercomSettings reads; the intercom is created at instant now. A control URL must be an absolute http or https
// URL, and then pass checkURL, which says what is wrong with where it points
// ("" for nothing; the transport's check, which may use the network).
func ParseNewIntercom(body Body, now time.Time, checkURL func(string) string) (Intercom, error) {
	var p Problems
	ic := Intercom{
		Address:         strings.TrimSpace(body.RequiredString("address", 255, &p)),
		CameraID:        body.Int("camera_id", 1, 1<<53, &p),
		DoorOpenSeconds: DefaultDoorOpenSeconds,
		CreatedAt:       now,
	}
	if d := body.Int("department", 0, 1<<31-1, &p); d != nil {
		ic.Department = *d
	}
	if d := body.Int("door_open_seconds", 1, 600, &p); d != nil {
		ic.DoorOpenSeconds = int(*d)
	}
	if u := body.String("control_url", 2048, &p); u != nil && *u != "" {
		if !ValidControlURL(*u) {
			p.Add("control_url", "The control url field must be an absolute http or https URL.")
		} else if problem := checkURL(*u); problem != "" {
			p.Add("control_url", problem)
		}
		ic.ControlURL = u
	}
	// The settings PATCH changes later may be given at once.
	settings := parseIntercomSettings(body, &p)
	if err := p.Err(); err != nil {
		return Intercom{}, err
	}
	return ic, settings.Apply(&ic)
}

// ValidControlURL reports whether s is an absolute http or https URL.
func ValidControlURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == ""
}

// ParseMembership validates PUT /api/admin/v1/intercoms/{id}/members/{user}.
func ParseMembership(body Body, intercomID, userID int64) (Membership, error) {
	var p Problems
	m := Membership{UserID: userID, IntercomID: intercomID}
	m.Title, _ = ParseTitle(body["title"], "title", &p)
	if _, ok := body["status"]; !ok {
		p.Add("status", MsgRequired("status"))
	} else {
		m.Status = body.OneOf("status", "", MembershipStatuses, &p)
	}
	m.Flat = body.Int("flat", 0, 1<<31-1, &p)
	return m, p.Err()
}
