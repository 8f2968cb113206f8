package intercom

import (
	"net/url"
	"slices"
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
	body.Only(&p, userFields...)
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
	body.Only(&p, cameraFields...)
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
// ParseIntercomChange reads too; the intercom is created at instant now. A
// control URL must be an absolute http or https URL, and then pass
// checkURL, which says what is wrong with where it points ("" for nothing;
// the transport's check, which may use the network).
func ParseNewIntercom(body Body, now time.Time, checkURL func(string) string) (Intercom, error) {
	var p Problems
	body.Only(&p, intercomFields...)
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
	body.Only(&p, "title", "status", "flat")
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

// The fields each admin write accepts; any other is a 422 naming it
// (Body.Only).
var (
	userFields   = []string{"login", "password", "name"}
	cameraFields = []string{"name", "pretty_name", "group_id", "status", "type", "billing_id", "lat", "lng", "azimuth",
		"is_archive_recording", "is_bridge", "user_status", "start_at"}
	intercomFields = []string{"address", "department", "camera_id", "control_url", "door_open_seconds",
		"first_flat", "last_flat", "is_open_door_code", "is_open_door_key", "has_analog_line", "has_landline_sip_line"}
)

// ReadOnlyFields are fields the admin API shows but no write sets: the
// store's, the clock's, or (secret) only POST /intercoms/{id}/secret's.
var ReadOnlyFields = []string{"id", "created_at", "updated_at", "secret", "secret_hash", "password_hash",
	"last_heartbeat_at", "online", "user_id", "intercom_id", "sip", "can_update_password"}

// Only records in p every key of body that is not one of allowed, in key
// order: a read-only field (ReadOnlyFields) as such, any other as unknown.
// An admin write never ignores what it was sent.
func (body Body) Only(p *Problems, allowed ...string) {
	keys := make([]string, 0, len(body))
	for k := range body {
		if !slices.Contains(allowed, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(ReadOnlyFields, k) {
			p.Add(k, "The "+Attribute(k)+" field is read-only.")
		} else {
			p.Add(k, "The "+Attribute(k)+" field is not a field of this resource.")
		}
	}
}

// ParsePassword validates a new password: PasswordField of body, as
// POST /api/admin/v1/users/{id}/password sends it.
func ParsePassword(body Body) (string, error) {
	var p Problems
	body.Only(&p, "password")
	pw := parsePassword(body, true, &p)
	return pw, p.Err()
}

// parsePassword reads body's password: required, or absent (""), at least
// MinPasswordLength characters.
func parsePassword(body Body, required bool, p *Problems) string {
	var pw string
	if required {
		pw = body.RequiredString("password", 1024, p)
	} else if _, ok := body["password"]; ok {
		pw = body.RequiredString("password", 1024, p)
	}
	if pw != "" && utf8.RuneCountInString(pw) < MinPasswordLength {
		p.Add("password", MsgMinString("password", MinPasswordLength))
	}
	return pw
}

// UserChange is what PATCH /api/admin/v1/users/{id} changes: nil fields are
// left as they are. A new password ends every session of the account.
type UserChange struct {
	Login, Name, Password *string
}

// ParseUserChange validates PATCH /api/admin/v1/users/{id}: login, name,
// password, each as POST /users takes it.
func ParseUserChange(body Body) (UserChange, error) {
	var p Problems
	body.Only(&p, userFields...)
	var u UserChange
	if _, ok := body["login"]; ok {
		login := strings.TrimSpace(body.RequiredString("login", 255, &p))
		u.Login = &login
	}
	if _, ok := body["name"]; ok {
		name := strings.TrimSpace(body.RequiredString("name", 255, &p))
		u.Name = &name
	}
	if _, ok := body["password"]; ok {
		pw := parsePassword(body, true, &p)
		u.Password = &pw
	}
	return u, p.Err()
}

// ParseCameraChange validates PATCH /api/admin/v1/cameras/{id}: every field
// POST /cameras takes, each given one replacing the camera's (null clears
// an optional one). It returns the function that applies it.
func ParseCameraChange(body Body) (func(*Camera), error) {
	var p Problems
	body.Only(&p, cameraFields...)
	var sets []func(*Camera)
	has := func(k string) bool { _, ok := body[k]; return ok }
	if has("name") {
		name := strings.TrimSpace(body.RequiredString("name", 255, &p))
		sets = append(sets, func(c *Camera) { c.Name = name })
	}
	if has("pretty_name") {
		pretty := body.String("pretty_name", 255, &p)
		sets = append(sets, func(c *Camera) {
			if pretty != nil && strings.TrimSpace(*pretty) != "" {
				c.PrettyName = strings.TrimSpace(*pretty)
			} else {
				c.PrettyName = c.Name
			}
		})
	}
	if has("group_id") {
		v := body.Int("group_id", 0, 1<<53, &p)
		sets = append(sets, func(c *Camera) { c.GroupID = v })
	}
	if has("billing_id") {
		v := body.String("billing_id", 255, &p)
		sets = append(sets, func(c *Camera) { c.BillingID = v })
	}
	for _, f := range []struct {
		key    string
		lo, hi float64
		dst    func(*Camera) **float64
	}{
		{"lat", -90, 90, func(c *Camera) **float64 { return &c.Lat }},
		{"lng", -180, 180, func(c *Camera) **float64 { return &c.Lng }},
		{"azimuth", 0, 360, func(c *Camera) **float64 { return &c.Azimuth }},
	} {
		if has(f.key) {
			v, dst := body.Float(f.key, f.lo, f.hi, &p), f.dst
			sets = append(sets, func(c *Camera) { *dst(c) = v })
		}
	}
	if has("status") {
		v := body.OneOf("status", "active", CameraStatuses, &p)
		sets = append(sets, func(c *Camera) { c.Status = v })
	}
	if has("user_status") {
		v := body.OneOf("user_status", "active", UserStatuses, &p)
		sets = append(sets, func(c *Camera) { c.UserStatus = v })
	}
	if has("type") {
		typ := DefaultCameraType
		if v := body.String("type", 64, &p); v != nil && *v != "" {
			typ = *v
		}
		sets = append(sets, func(c *Camera) { c.Type = typ })
	}
	if has("is_archive_recording") {
		v := body.Bool("is_archive_recording", false, &p)
		sets = append(sets, func(c *Camera) { c.IsArchiveRecording = v })
	}
	if has("is_bridge") {
		v := body.Bool("is_bridge", false, &p)
		sets = append(sets, func(c *Camera) { c.IsBridge = v })
	}
	if has("start_at") {
		var at *time.Time
		if v := body["start_at"]; v != nil {
			s, isString := v.(string)
			t, err := time.Parse(time.DateTime, s)
			if !isString || err != nil {
				p.Add("start_at", "The start at field must match the format Y-m-d H:i:s.")
			}
			at = &t
		}
		sets = append(sets, func(c *Camera) { c.StartAt = at })
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return func(c *Camera) {
		for _, set := range sets {
			set(c)
		}
	}, nil
}

// IntercomChange is what PATCH /api/admin/v1/intercoms/{id} changes: every
// field POST /intercoms takes. Nil fields are left as they are; CameraID and
// ControlURL pointing at nil clear them.
type IntercomChange struct {
	Address         *string
	Department      *int64
	CameraID        **int64
	ControlURL      **string
	DoorOpenSeconds *int
	Settings        IntercomSettings
}

// ParseIntercomChange validates PATCH /api/admin/v1/intercoms/{id}; a
// control URL given passes the checks of ParseNewIntercom (checkURL the
// transport's address policy).
func ParseIntercomChange(body Body, checkURL func(string) string) (IntercomChange, error) {
	var p Problems
	body.Only(&p, intercomFields...)
	var u IntercomChange
	has := func(k string) bool { _, ok := body[k]; return ok }
	if has("address") {
		a := strings.TrimSpace(body.RequiredString("address", 255, &p))
		u.Address = &a
	}
	if has("department") {
		d := body.Int("department", 0, 1<<31-1, &p)
		if d == nil {
			d = new(int64)
		}
		u.Department = d
	}
	if has("camera_id") {
		c := body.Int("camera_id", 1, 1<<53, &p)
		u.CameraID = &c
	}
	if has("door_open_seconds") {
		if body["door_open_seconds"] == nil {
			p.Add("door_open_seconds", MsgRequired("door_open_seconds"))
		} else if d := body.Int("door_open_seconds", 1, 600, &p); d != nil {
			n := int(*d)
			u.DoorOpenSeconds = &n
		}
	}
	if has("control_url") {
		var cu *string
		if v := body.String("control_url", 2048, &p); v != nil && *v != "" {
			if !ValidControlURL(*v) {
				p.Add("control_url", "The control url field must be an absolute http or https URL.")
			} else if problem := checkURL(*v); problem != "" {
				p.Add("control_url", problem)
			}
			cu = v
		}
		u.ControlURL = &cu
	}
	u.Settings = parseIntercomSettings(body, &p)
	return u, p.Err()
}

// Apply changes ic as u says, and checks that its flat range is a range.
func (u IntercomChange) Apply(ic *Intercom) error {
	if u.Address != nil {
		ic.Address = *u.Address
	}
	if u.Department != nil {
		ic.Department = *u.Department
	}
	if u.CameraID != nil {
		ic.CameraID = *u.CameraID
	}
	if u.ControlURL != nil {
		ic.ControlURL = *u.ControlURL
	}
	if u.DoorOpenSeconds != nil {
		ic.DoorOpenSeconds = *u.DoorOpenSeconds
	}
	return u.Settings.Apply(ic)
}

// MaxSearch is the longest ?search= the admin lists take, in characters.
const MaxSearch = 255

// ParseSearch validates a list's ?search=: at most MaxSearch characters,
// matched literally (no wildcards) and case-insensitively by the stores.
func ParseSearch(s string, p *Problems) string {
	if utf8.RuneCountInString(s) > MaxSearch || !utf8.ValidString(s) {
		p.Add("search", MsgMaxString("search", MaxSearch))
		return ""
	}
	return strings.TrimSpace(s)
}

// UserFilter narrows the admin's list of accounts: Search is a substring of
// the login (any case); "" does not filter.
type UserFilter struct {
	Search string
}

// IntercomFilter narrows the admin's list of intercoms: Search is a
// substring of the address (any case); Online, when set, keeps those
// online (or offline): online is a last heartbeat after AliveAfter (now less
// the offline delay, as Intercom.Online says).
type IntercomFilter struct {
	Search     string
	Online     *bool
	AliveAfter time.Time
}

// LikePattern is s as a LIKE pattern matching any value that contains it,
// with escape character '\': %, _ and \ in s match themselves.
func LikePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// PushChannels names the push channels device d has a token for (never the
// tokens): fcm, apns, apns-voip, hms.
func (d Device) PushChannels() []string {
	out := []string{}
	for _, t := range []struct {
		token   *string
		channel string
	}{{d.FCMToken, ChannelFCM}, {d.APNToken, ChannelAPNsAlert}, {d.VoIPToken, ChannelAPNsVoIP}, {d.HuaweiToken, ChannelHMS}} {
		if t.token != nil && *t.token != "" {
			out = append(out, t.channel)
		}
	}
	return out
}

// ParseCallWindow reads which calls of an intercom the operator asks for:
// ?date=YYYY-MM-DD (that UTC day), or ?since= and ?until= (RFC 3339, until
// exclusive, each optional: since the epoch, until now), or else the UTC day
// of now. Problems are recorded in p.
func ParseCallWindow(date, since, until string, now time.Time, p *Problems) (from, to time.Time) {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	from = day(now.UTC())
	to = from.AddDate(0, 0, 1)
	if date != "" {
		if since != "" || until != "" {
			p.Add("date", "The date field is prohibited when since or until is present.")
			return from, to
		}
		d, err := time.Parse(time.DateOnly, date)
		if err != nil {
			p.Add("date", "The date field must match the format Y-m-d.")
			return from, to
		}
		return d, d.AddDate(0, 0, 1)
	}
	if since == "" && until == "" {
		return from, to
	}
	from, to = time.Unix(0, 0).UTC(), now.UTC().Add(time.Second)
	for _, f := range []struct {
		key, v string
		dst    *time.Time
	}{{"since", since, &from}, {"until", until, &to}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.v)
		if err != nil {
			p.Add(f.key, MsgDate(f.key))
			continue
		}
		*f.dst = t.UTC()
	}
	switch {
	case p.Has("since") || p.Has("until"):
	case until == "" && to.Before(from):
		to = from // since ahead of now: nothing yet
	case !from.Before(to):
		p.Add("until", "The until field must be a date after since.")
	}
	return from, to
}
