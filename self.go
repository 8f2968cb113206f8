package intercom

import (
	"slices"
	"unicode/utf8"
)

// DefaultLanguages are the languages an account may choose (PUT
// /api/v1/users/self) unless configured otherwise.
var DefaultLanguages = []string{"en", "ru"}

// SelfUpdate is what an account changes of itself: its language, its
// password (with the current one), or both. Nil fields stay.
type SelfUpdate struct {
	Language        *string
	CurrentPassword string // set with Password
	Password        *string
}

// MsgPasswordIncorrect is Laravel's current_password message.
const MsgPasswordIncorrect = "The password is incorrect."

// ParseSelfUpdate validates PUT /api/v1/users/self: {"language"} (one of
// languages) or {"current_password", "password", "password_confirmation"}
// (the admin API's password rules), or both; one of them at least.
func ParseSelfUpdate(body Body, languages []string) (SelfUpdate, error) {
	var p Problems
	var u SelfUpdate
	_, pw := present(body, "password")
	_, cur := present(body, "current_password")
	_, conf := present(body, "password_confirmation")
	changesPassword := pw || cur || conf
	if lang := body.String("language", 255, &p); lang != nil {
		if !slices.Contains(languages, *lang) {
			p.Add("language", MsgIn("language"))
		}
		u.Language = lang
	} else if !changesPassword && !p.Has("language") {
		p.Add("language", "The language field is required when password is not present.")
	}
	if changesPassword {
		u.CurrentPassword = body.RequiredString("current_password", 1024, &p)
		pass := body.RequiredString("password", 1024, &p)
		if pass != "" && utf8.RuneCountInString(pass) < MinPasswordLength {
			p.Add("password", MsgMinString("password", MinPasswordLength))
		}
		if confirm, _ := body["password_confirmation"].(string); pass != "" && confirm != pass {
			p.Add("password", "The password field confirmation does not match.")
		}
		u.Password = &pass
	}
	if err := p.Err(); err != nil {
		return SelfUpdate{}, err
	}
	return u, nil
}
