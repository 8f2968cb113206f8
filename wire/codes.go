package wire

import (
	"time"

	"intercom"
)

// VisitorCode is a visitor code as the apps decode it (reference §B.5),
// its dates in the form iOS parses.
type VisitorCode struct {
	ID            int64         `json:"id"`
	Title         string        `json:"title"`
	Code          string        `json:"code"`
	ExpiredAt     string        `json:"expired_at"`
	CreatedAt     string        `json:"created_at"`
	WillDeletedAt string        `json:"will_deleted_at"`
	IsExpired     bool          `json:"is_expired"`
	Intercom      ShortIntercom `json:"intercom"`
}

// CodeTime is a code date as the apps and panels read it (intercom.CodeTime).
func CodeTime(t time.Time) string { return t.UTC().Format(intercom.CodeTime) }

// VisitorCodeOf is the wire form of a visitor code of the intercom full, at
// instant now.
func VisitorCodeOf(c intercom.VisitorCode, full Intercom, now time.Time) VisitorCode {
	return VisitorCode{ID: c.ID, Title: c.Title, Code: c.Code, ExpiredAt: CodeTime(c.ExpiredAt), CreatedAt: CodeTime(c.CreatedAt),
		WillDeletedAt: CodeTime(c.WillDeletedAt()), IsExpired: c.Expired(now),
		Intercom: ShortIntercom{ID: full.ID, Title: full.Title, IsOnline: full.IsOnline, Department: full.Department,
			Address: full.Address, Camera: full.Camera, CreatedAt: full.CreatedAt, UpdatedAt: full.UpdatedAt}}
}

// IntercomDialect is the intercom object as the app of client decodes it:
// the iOS SDK's status enum spells key_confirmed "keyConfirmed" (reference
// §B.8), the others as the docs do.
func IntercomDialect(v Intercom, client string) Intercom {
	if v.Status == intercom.StatusKeyConfirmed && (client == "ios" || client == "ios-cctv") {
		v.Status = "keyConfirmed"
	}
	return v
}
