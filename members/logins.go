package members

import (
	"context"
	"crypto/subtle"
	"strings"

	"intercom"
)

// ErrUnauthenticated is the answer to a missing, unknown, revoked or
// expired access token.
var ErrUnauthenticated = &intercom.Error{Code: intercom.EUNAUTHORIZED, Message: "Unauthenticated."}

var errBadCredentials = intercom.Invalid("login", "These credentials do not match our records.")

// Credentials are what a login sends: the account's login and password, the
// device's X-Client, X-UUID and language, and the address it came from.
type Credentials struct {
	Login, Password string
	Client, UUID    string
	Lang            string
	Addr            string
}

// Login checks the credentials and opens a session for the device: the
// account, the new token and its secret. Failures are throttled per login
// and per address (ETOOMANY); a wrong login or password is EINVALID.
func (s *Service) Login(ctx context.Context, c Credentials) (intercom.User, intercom.AccessToken, string, error) {
	var none intercom.AccessToken
	keys := []string{"login:" + strings.ToLower(c.Login), "addr:" + c.Addr}
	// The attempt counts before the password is checked, so that parallel
	// guesses cannot all pass the throttle while the first is hashing.
	at, wait, ok, err := s.logins.Attempt(ctx, keys...)
	if err != nil {
		return intercom.User{}, none, "", err
	}
	if !ok {
		return intercom.User{}, none, "", &intercom.Error{Code: intercom.ETOOMANY, RetryAfter: wait,
			Message: "Too many login attempts. Please try again in " + intercom.SecondsText(wait) + "."}
	}
	user, err := s.store.UserByLogin(ctx, c.Login)
	switch intercom.ErrorCode(err) {
	case "":
		ok, verr := s.hashing.Verify(ctx, c.Password, user.PasswordHash)
		if verr != nil {
			return user, none, "", verr
		}
		if !ok {
			return user, none, "", errBadCredentials
		}
	case intercom.ENOTFOUND:
		if err := s.hashing.VerifyNothing(ctx, c.Password); err != nil {
			return user, none, "", err
		}
		return user, none, "", errBadCredentials
	default:
		s.logins.Refund(background(ctx), at, keys...) // not a guess: the store failed
		return user, none, "", err
	}
	// A success clears the login's failures and is not one of the address's.
	if err := s.logins.Reset(background(ctx), keys[0]); err != nil {
		return user, none, "", err
	}
	if err := s.logins.Refund(background(ctx), at, keys[1]); err != nil {
		return user, none, "", err
	}
	secret, tok := intercom.NewAccessToken(user.ID, c.UUID, c.Client, s.now(), s.tokenTTL)
	tok.Lang = c.Lang
	tok, err = s.store.CreateAccessToken(ctx, tok)
	if err != nil {
		return user, none, "", err
	}
	return user, tok, secret, nil
}

// Authenticate finds the live access token whose secret is secret:
// ErrUnauthenticated when there is none.
func (s *Service) Authenticate(ctx context.Context, secret string) (intercom.AccessToken, error) {
	hash := intercom.HashToken(secret)
	tok, err := s.store.AccessTokenByHash(ctx, hash)
	if intercom.ErrorCode(err) == intercom.ENOTFOUND {
		return tok, ErrUnauthenticated
	} else if err != nil {
		return tok, err
	}
	if subtle.ConstantTimeCompare(tok.Hash, hash) != 1 || !tok.Live(s.now()) {
		return intercom.AccessToken{}, ErrUnauthenticated
	}
	return tok, nil
}

// Logout ends a session: the token is revoked and its sockets closed.
func (s *Service) Logout(ctx context.Context, tok intercom.AccessToken) error {
	if err := s.store.RevokeAccessToken(ctx, tok.ID, s.now()); err != nil {
		return err
	}
	s.sessions.CloseToken(tok.PublicID)
	return nil
}

// CreateUser adds an account: EINVALID on login when it is taken.
func (s *Service) CreateUser(ctx context.Context, nu intercom.NewUser) (intercom.User, error) {
	hash, err := s.hashing.Hash(ctx, nu.Password)
	if err != nil {
		return intercom.User{}, err
	}
	now := s.now()
	u, err := s.store.CreateUser(ctx, intercom.User{Login: nu.Login, Name: nu.Name, PasswordHash: hash,
		CreatedAt: now, UpdatedAt: now})
	if intercom.ErrorCode(err) == intercom.ECONFLICT {
		return u, intercom.Invalid("login", "The login has already been taken.")
	}
	return u, err
}

// DeleteUser removes an account and closes its sockets: nothing more
// reaches them. ENOTFOUND.
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.sessions.CloseUser(id)
	return nil
}
