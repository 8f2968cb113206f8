package members

import (
	"context"

	"intercom"
)

// UpdateSelf applies u (intercom.ParseSelfUpdate) to tok's account, asked
// from address addr. A password change needs the current password, checked
// under the login throttle (EINVALID on current_password, ETOOMANY), and
// ends every other session of the account (a logout event, then their
// sockets closed); tok's stays.
func (s *Service) UpdateSelf(ctx context.Context, tok intercom.AccessToken, addr string, u intercom.SelfUpdate) (intercom.User, error) {
	upd := intercom.UserUpdate{Language: u.Language, KeepToken: tok.ID}
	if u.Password != nil {
		user, err := s.store.UserByID(ctx, tok.UserID)
		if err != nil {
			return user, err
		}
		if _, err := s.checkPassword(ctx, user.Login, addr, "current_password", u.CurrentPassword); err != nil {
			return user, err
		}
		hash, err := s.hashing.Hash(ctx, *u.Password)
		if err != nil {
			return user, err
		}
		upd.PasswordHash = &hash
	}
	user, ended, err := s.store.UpdateUser(ctx, tok.UserID, upd, s.now())
	if err != nil {
		return user, err
	}
	for _, id := range ended {
		s.loggedOut(id)
	}
	return user, nil
}
