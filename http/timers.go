package http

import (
	"context"
	"sync"

	"time"

	"intercom"
)

// timers are the pending ring timeouts, by call, and offline checks, by
// intercom, on the server's clock.
type timers struct {
	mu      sync.Mutex
	ring    map[int64]intercom.Timer
	offline map[int64]intercom.Timer
	expiry  map[string]intercom.Timer // by access token public id: its sockets close when it expires
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

func (t *timers) startRing(clock intercom.Clock, callID int64, d time.Duration, f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ring == nil {
		t.ring = map[int64]intercom.Timer{}
	}
	t.ring[callID] = clock.AfterFunc(d, func() {
		t.mu.Lock()
		delete(t.ring, callID)
		t.mu.Unlock()
		f()
	})
}

func (t *timers) stopRing(callID int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tm, ok := t.ring[callID]; ok {
		tm.Stop()
		delete(t.ring, callID)
	}
}

func (t *timers) resetOffline(clock intercom.Clock, intercomID int64, d time.Duration, f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.offline == nil {
		t.offline = map[int64]intercom.Timer{}
	}
	if tm, ok := t.offline[intercomID]; ok {
		tm.Stop()
	}
	var tm intercom.Timer
	tm = clock.AfterFunc(d, func() {
		t.mu.Lock()
		if t.offline[intercomID] == tm {
			delete(t.offline, intercomID)
		}
		t.mu.Unlock()
		f()
	})
	t.offline[intercomID] = tm
}

func (t *timers) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tm := range t.ring {
		tm.Stop()
	}
	for _, tm := range t.offline {
		tm.Stop()
	}
	for _, tm := range t.expiry {
		tm.Stop()
	}
	t.ring, t.offline, t.expiry = nil, nil, nil
}

// Resume schedules what the database says is pending: the timeouts of calls
// still ringing and the offline checks of intercoms online now. Call it once
// the server is about to serve.
func (s *Server) Resume(ctx context.Context) error {
	now := s.now()
	ringing, err := s.store.RingingCalls(ctx)
	if err != nil {
		return err
	}
	for id, created := range ringing {
		s.timers.startRing(s.clock, id, max(0, created.Add(s.ringTimeout).Sub(now)), func() { s.timeOut(id) })
	}
	beats, err := s.store.Heartbeats(ctx)
	if err != nil {
		return err
	}
	for id, last := range beats {
		if left := last.Add(s.offlineAfter).Sub(now); left > 0 {
			s.timers.resetOffline(s.clock, id, left, func() { s.checkOffline(id) })
		}
	}
	return nil
}

// Close stops the timers, closes every socket, waits for the event
// deliveries under way and abandons the push sends still trying. Call it once
// the HTTP server has stopped taking requests.
func (s *Server) Close() {
	s.bgMu.Lock()
	s.closing = true
	s.bgMu.Unlock()
	s.timers.stopAll()
	s.hub.Close()
	s.bg.Wait()
	s.push.Close()
}

// spawn runs fn in the background unless the server is closing.
func (s *Server) spawn(fn func()) {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closing {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		fn()
	}()
}
