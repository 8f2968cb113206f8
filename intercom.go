// Package intercom is the domain of intercomd: accounts and their devices,
// intercoms and the memberships that let an account answer them, each
// device's settings (is_enabled and a timetable), the error codes, and the
// Store interface the storage engines implement. It imports neither net/http
// nor database/sql: packages named after a technology (sqlite, http) do that.
package intercom

import (
	"time"
)

// User is an account.
type User struct {
	ID           int64
	Login        string
	Name         string
	PasswordHash string
	Language     string // the language the account chose (PUT /users/self); "" when none
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Clients an app may say it is in X-Client. The SDKs send "ios" and "android",
// aliases of "ios-cctv" and "android-cctv".
var Clients = []string{"ios-cctv", "android-cctv", "thick-legal", "web", "ios", "android"}

// ValidClient reports whether c is one of Clients.
func ValidClient(c string) bool {
	for _, k := range Clients {
		if c == k {
			return true
		}
	}
	return false
}

// ValidDeviceUUID reports whether s is a well-formed X-UUID: 1–128 characters
// of A-Z a-z 0-9 . _ : -.
func ValidDeviceUUID(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// Device is one installation of an app (its X-UUID) signed in to one account.
type Device struct {
	ID          int64
	UserID      int64
	UUID        string
	Client      string
	FCMToken    *string
	APNToken    *string
	VoIPToken   *string
	HuaweiToken *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AccessToken is a session of one device. Only the SHA-256 hash of the secret
// is stored; PublicID is the access_token_id the apps see.
type AccessToken struct {
	ID         int64
	PublicID   string
	Hash       []byte
	UserID     int64
	DeviceID   int64
	DeviceUUID string
	Client     string
	Lang       string // the device's hl at login; "" leaves the device's as it was
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	// Its last use as last recorded (coalesced: see TokenUse): the client's
	// address and User-Agent, and when. At creation, the login's.
	IP, UserAgent string
	LastUsedAt    time.Time
}

// Live reports whether the token may be used at instant now.
func (t AccessToken) Live(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// Camera is the camera an intercom shows.
type Camera struct {
	ID                 int64
	GroupID            *int64
	Status             string // active | inactive | partial | empty | initial
	Type               string
	StartAt            *time.Time
	CreatedAt          time.Time
	BillingID          *string
	PrettyName         string
	Lat, Lng, Azimuth  *float64
	IsArchiveRecording bool
	IsBridge           bool
	UserStatus         string // active | blocked
	Name               string
}

// CameraStatuses are the values the iOS SDK decodes for a camera's status.
var CameraStatuses = []string{"active", "inactive", "partial", "empty", "initial"}

// Intercom is a door panel.
type Intercom struct {
	ID         int64
	Address    string
	Department int64
	CameraID   *int64
	// SecretHash finds the intercom by the secret it was given
	// (IntercomSecretHash); ControlKey is the key its control URL's
	// commands are signed with, as stored: sealed by package secrets under
	// --secret-key-file when one is given (IntercomKeys).
	SecretHash      []byte
	ControlKey      []byte
	ControlURL      *string
	DoorOpenSeconds int
	LastHeartbeatAt *time.Time
	CreatedAt       time.Time
	// FirstFlat and LastFlat bound the flats residents may choose (nil:
	// DefaultFirstFlat, DefaultLastFlat); OpenDoorCode and OpenDoorKey say
	// whether the panel opens for visitor codes and keys (is_open_door_code,
	// is_open_door_key). The operator sets them.
	FirstFlat, LastFlat       *int64
	OpenDoorCode, OpenDoorKey bool
	// AnalogLine and LandlineLine say whether the intercom also rings
	// flats' analog handsets and forwards rings to flats' SIP landlines
	// (has_analog_line, has_landline_sip_line; see FlatLines).
	AnalogLine, LandlineLine bool
}

// Online reports whether the intercom has sent a heartbeat within offlineAfter
// before now.
func (ic Intercom) Online(now time.Time, offlineAfter time.Duration) bool {
	return ic.LastHeartbeatAt != nil && now.Sub(*ic.LastHeartbeatAt) < offlineAfter
}

// Membership statuses.
const (
	StatusConfirmed    = "confirmed"
	StatusKeyConfirmed = "key_confirmed"
)

// Membership links an account to an intercom (for a flat, or a private house
// when Flat is nil) under the account's own title for it.
type Membership struct {
	UserID     int64
	IntercomID int64
	Flat       *int64
	Title      string
	Status     string
	CreatedAt  *time.Time
	UpdatedAt  *time.Time
}

// DeviceSettings is what one device chose for one intercom. A device that
// never saved any has DefaultDeviceSettings.
type DeviceSettings struct {
	IsEnabled bool
	Timetable Timetable
}

// DefaultDeviceSettings is what a device that never saved settings has.
var DefaultDeviceSettings = DeviceSettings{IsEnabled: true}

// IntercomView is an intercom as one device of one account sees it: the
// intercom, its camera, the account's membership and the device's settings.
type IntercomView struct {
	Intercom   Intercom
	Camera     *Camera
	IsFavorite bool
	Membership Membership
	Settings   DeviceSettings
	Lines      FlatLines // of the membership's flat
}

// OpensDoorFromApp reports whether the apps may open the door of the intercom
// (is_open_door_app): the account's membership is confirmed and the intercom
// has a control URL to send the command to.
func OpensDoorFromApp(membershipStatus string, ic Intercom) bool {
	return membershipStatus == StatusConfirmed && ic.ControlURL != nil
}

// OpensDoorFromApp reports OpensDoorFromApp for the view's membership and
// intercom.
func (v IntercomView) OpensDoorFromApp() bool {
	return OpensDoorFromApp(v.Membership.Status, v.Intercom)
}

// Viewer is the account and device a request acts for.
type Viewer struct {
	UserID   int64
	DeviceID int64
}

// Page asks for one page of a list: Page is 1-based.
type Page struct {
	Page, PerPage int
}

// Offset is the number of items before the page.
func (p Page) Offset() int { return (p.Page - 1) * p.PerPage }
