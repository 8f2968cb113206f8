package intercom

// Sessions ends the real-time subscriptions a credential authorized once that
// credential ends: a logout or an expiry ends a token's, an account's
// deletion all of its tokens'. The sockets get pusher:error 4009 and nothing
// after it. The single-process implementation is the Pusher hub
// (pusher.Hub); a cluster one tells every node.
type Sessions interface {
	// CloseToken closes the sockets the access token (its public id, the
	// access_token_id) authorized.
	CloseToken(tokenID string)
	// CloseUser closes the sockets any token of the account authorized.
	CloseUser(userID int64)
}
