package intercom

import (
	"slices"
	"time"
)

// Sessions ends the real-time subscriptions a credential authorized once that
// credential ends: a logout or an expiry ends a token's, an account's
// deletion all of its tokens'. The sockets get pusher:error 4009 and nothing
// after it. The single-process implementation is the Pusher hub
// (pusher.Hub); a cluster one tells every node.
type Sessions interface {
	// Authorized records, on the node that holds socketID, that the access
	// token tokenID of account userID, which expires at expires, authorized
	// its subscription to channel: the subscription then lives as long as
	// that token, and that node closes it when the token expires.
	Authorized(socketID, channel, tokenID string, userID int64, expires time.Time)
	// CloseToken closes the sockets the access token (its public id, the
	// access_token_id) authorized.
	CloseToken(tokenID string)
	// CloseUser closes the sockets any token of the account authorized.
	CloseUser(userID int64)
}

// TokenUse is one recorded use of an access token: from which address and
// User-Agent, and when. Uses are coalesced before they are written, so that a
// request is not a write (TokenUseDue).
type TokenUse struct {
	TokenID   int64
	IP        string
	UserAgent string
	At        time.Time
}

// TokenUseDue reports whether use must be written, given the last use of the
// same token written: when its address or User-Agent differ, or when it is
// every or more after it. A use no later than the one written never is.
func TokenUseDue(written, use TokenUse, every time.Duration) bool {
	if !use.At.After(written.At) {
		return false
	}
	return use.IP != written.IP || use.UserAgent != written.UserAgent || use.At.Sub(written.At) >= every
}

// SessionsLimitError is the refusal of a login beyond the account's limit of
// sessions: the limit and the sessions live now, one of which the app may end
// to get in.
type SessionsLimitError struct {
	Limit int
	Live  []AccessToken
}

func (e *SessionsLimitError) Error() string {
	return "intercom error: the account holds its limit of sessions"
}

// DecideSessions is the rule of a login under a limit of limit live sessions
// per account (0: none): given the account's live tokens, it returns those to
// revoke before the new one is recorded — the one whose public id is end, when
// the app chose to end one ("" for none). EINVALID on session_id when end is
// none of live; a *SessionsLimitError when the login would still exceed the
// limit.
func DecideSessions(live []AccessToken, limit int, end string) ([]int64, error) {
	var revoke []int64
	left := live
	if end != "" {
		i := slices.IndexFunc(live, func(t AccessToken) bool { return t.PublicID == end })
		if i < 0 {
			return nil, Invalid("session_id", MsgIn("session_id"))
		}
		revoke = []int64{live[i].ID}
		left = slices.Delete(slices.Clone(live), i, i+1)
	}
	if limit > 0 && len(left) >= limit {
		return nil, &SessionsLimitError{Limit: limit, Live: left}
	}
	return revoke, nil
}

// UserUpdate changes an account (Store.UpdateUser): nil fields stay.
type UserUpdate struct {
	Language *string
	// Login and Name, when set, replace the account's (the operator's
	// change): ECONFLICT when the login is another account's.
	Login, Name *string
	// PasswordHash, when set, is the account's new password: every session
	// of the account but KeepToken (a token id) ends with the change.
	PasswordHash *string
	KeepToken    int64
}
