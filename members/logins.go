package members

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"

	"intercom"
)

// ErrUnauthenticated is the answer to a missing, unknown, revoked or
// expired access token.
var ErrUnauthenticated = &intercom.Error{Code: intercom.EUNAUTHORIZED, Message: "Unauthenticated."}

var errBadCredentials = intercom.Invalid("login", "These credentials do not match our records.")

// Credentials are what a login sends: the account's login and password, the
// device's X-Client, X-UUID, language and User-Agent, and the address it
// came from; after a refusal at the session limit, the session to end and
// the refusal's key.
type Credentials struct {
	Login, Password string
	Client, UUID    string
	Lang            string
	UserAgent       string
	Addr            string
	SessionID, Key  string // "" for none
}

// Login checks the credentials and opens a session for the device: the
// account, the new token and its secret. Failures are throttled per login
// and per address (ETOOMANY); a wrong login or password is EINVALID. At the
// account's session limit it opens none: a *SessionsLimit, whose key lets
// the same login end one session (SessionID) and get in; a key that is not
// such (forged, expired, another login's) is EINVALID on key, and nothing
// ends.
func (s *Service) Login(ctx context.Context, c Credentials) (intercom.User, intercom.AccessToken, string, error) {
	var none intercom.AccessToken
	user, err := s.checkPassword(ctx, c.Login, c.Addr, "login", c.Password)
	if err != nil {
		return user, none, "", err
	}
	now := s.now()
	if c.SessionID != "" && !s.validKey(user.ID, user.Login, c.Key, now) {
		return user, none, "", errBadKey
	}
	secret, tok := intercom.NewAccessToken(user.ID, c.UUID, c.Client, now, s.tokenTTL)
	tok.Lang, tok.IP, tok.UserAgent = c.Lang, c.Addr, c.UserAgent
	if s.limit == 0 && c.SessionID == "" {
		tok, err = s.store.CreateAccessToken(ctx, tok)
		return user, tok, secret, err
	}
	var ended string
	tok, err = s.store.OpenSession(ctx, tok, func(live []intercom.AccessToken) ([]int64, error) {
		ended = ""
		revoke, err := intercom.DecideSessions(live, s.limit, c.SessionID)
		if len(revoke) > 0 {
			ended = c.SessionID
		}
		return revoke, err
	})
	var over *intercom.SessionsLimitError
	if errors.As(err, &over) {
		return user, none, "", &SessionsLimit{Limit: over.Limit, Sessions: s.sessionsOf(over.Live, 0),
			Key: s.sessionKey(user.ID, user.Login, now.Add(s.keyTTL))}
	} else if err != nil {
		return user, none, "", err
	}
	if ended != "" {
		s.loggedOut(ended)
	}
	return user, tok, secret, nil
}

// checkPassword finds the account of login and checks its password, under
// the login throttle (per login and per address addr): the attempt counts
// before the password is checked, so that parallel guesses cannot all pass
// the throttle while the first is hashing. A wrong password is EINVALID on
// key (errBadCredentials for a login); a right one clears the login's
// failures and is not one of the address's.
func (s *Service) checkPassword(ctx context.Context, login, addr, key, password string) (intercom.User, error) {
	keys := []string{"login:" + strings.ToLower(login), "addr:" + addr}
	bad := errBadCredentials
	if key != "login" {
		bad = intercom.Invalid(key, intercom.MsgPasswordIncorrect)
	}
	at, wait, ok, err := s.logins.Attempt(ctx, keys...)
	if err != nil {
		return intercom.User{}, err
	}
	if !ok {
		return intercom.User{}, &intercom.Error{Code: intercom.ETOOMANY, RetryAfter: wait,
			Message: "Too many login attempts. Please try again in " + intercom.SecondsText(wait) + "."}
	}
	user, err := s.store.UserByLogin(ctx, login)
	switch intercom.ErrorCode(err) {
	case "":
		ok, verr := s.hashing.Verify(ctx, password, user.PasswordHash)
		if verr != nil {
			return user, verr
		}
		if !ok {
			return user, bad
		}
	case intercom.ENOTFOUND:
		if err := s.hashing.VerifyNothing(ctx, password); err != nil {
			return user, err
		}
		return user, bad
	default:
		s.logins.Refund(background(ctx), at, keys...) // not a guess: the store failed
		return user, err
	}
	// A success clears the login's failures and is not one of the address's.
	if err := s.logins.Reset(background(ctx), keys[0]); err != nil {
		return user, err
	}
	if err := s.logins.Refund(background(ctx), at, keys[1]); err != nil {
		return user, err
	}
	return user, nil
}

// Authenticate finds the live access token whose secret is secret:
// ErrUnauthenticated when there is none.
func (s *Service) Authenticate(ctx context.Context, secret string) (intercom.AccessToken, error) {
	hash := intercom.HashToken(secret)
	tok, err := s.store.AccessTokenByHash(ctx, hash)
	return s.live(tok, hash, err)
}

// PrefetchedView is an intercom's view read with the access token that
// authenticated the request (AuthenticateWithIntercom).
type PrefetchedView struct {
	ID   int64
	View intercom.IntercomView
	Err  error // the view's: ENOTFOUND when it is not the account's
}

// AuthenticateWithIntercom is Authenticate, and reads the view of intercom
// id for the token's device with the token when the store can in the same
// round trip (intercom.TokenViewReader); nil when it cannot.
func (s *Service) AuthenticateWithIntercom(ctx context.Context, secret string, id int64) (intercom.AccessToken, *PrefetchedView, error) {
	r, ok := s.store.(intercom.TokenViewReader)
	if !ok {
		tok, err := s.Authenticate(ctx, secret)
		return tok, nil, err
	}
	hash := intercom.HashToken(secret)
	tok, view, viewErr, err := r.AccessTokenWithIntercom(ctx, hash, id)
	if tok, err = s.live(tok, hash, err); err != nil {
		return tok, nil, err
	}
	return tok, &PrefetchedView{ID: id, View: view, Err: viewErr}, nil
}

// live is tok, read by the hash of a secret with error err, when it is
// live; ErrUnauthenticated when it is not or was not found.
func (s *Service) live(tok intercom.AccessToken, hash []byte, err error) (intercom.AccessToken, error) {
	if intercom.ErrorCode(err) == intercom.ENOTFOUND {
		return intercom.AccessToken{}, ErrUnauthenticated
	} else if err != nil {
		return intercom.AccessToken{}, err
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

// ChangeUser applies the operator's change to an account (PATCH
// /api/admin/v1/users/{id}, POST …/password): EINVALID on login when it is
// another account's. A new password ends every session of the account: a
// logout event, then their sockets closed. ENOTFOUND.
func (s *Service) ChangeUser(ctx context.Context, id int64, c intercom.UserChange) (intercom.User, error) {
	upd := intercom.UserUpdate{Login: c.Login, Name: c.Name}
	if c.Password != nil {
		hash, err := s.hashing.Hash(ctx, *c.Password)
		if err != nil {
			return intercom.User{}, err
		}
		upd.PasswordHash = &hash
	}
	u, ended, err := s.store.UpdateUser(ctx, id, upd, s.now())
	if intercom.ErrorCode(err) == intercom.ECONFLICT {
		return u, intercom.Invalid("login", "The login has already been taken.")
	} else if err != nil {
		return u, err
	}
	for _, pid := range ended {
		s.loggedOut(pid)
	}
	return u, nil
}
