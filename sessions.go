package intercom

import "time"

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
