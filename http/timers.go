package http

import (
	"context"
	"sync"
	"time"

	"intercom"
)

// timers watch the expiry of the access tokens that authorized sockets, on
// the server's clock: their sockets close when they expire.
type timers struct {
	mu     sync.Mutex
	expiry map[string]intercom.Timer // by access token public id
}

// watchExpiry calls f when the token expires, once however often it is
// asked, unless forgetToken comes first.
func (t *timers) watchExpiry(clock intercom.Clock, tok intercom.AccessToken, now time.Time, f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.expiry == nil {
		t.expiry = map[string]intercom.Timer{}
	}
	if _, ok := t.expiry[tok.PublicID]; ok {
		return
	}
	t.expiry[tok.PublicID] = clock.AfterFunc(max(0, tok.ExpiresAt.Sub(now)), func() {
		t.mu.Lock()
		delete(t.expiry, tok.PublicID)
		t.mu.Unlock()
		f()
	})
}

// forgetToken stops watching a token's expiry.
func (t *timers) forgetToken(publicID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tm, ok := t.expiry[publicID]; ok {
		tm.Stop()
		delete(t.expiry, publicID)
	}
}

func (t *timers) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tm := range t.expiry {
		tm.Stop()
	}
	t.expiry = nil
}

// Resume sets the deadlines the database says are pending: the timeouts of
// calls still ringing and the offline checks of intercoms online now. Call it
// once the server is about to serve.
func (s *Server) Resume(ctx context.Context) error { return s.calls.Resume(ctx) }

// Close stops the deadlines, closes every socket, waits for the effects under
// way and abandons the push sends still trying. Call it once the HTTP server
// has stopped taking requests.
func (s *Server) Close() {
	s.timers.stopAll()
	s.calls.Close()
	s.hub.Close()
	s.push.Close()
}
