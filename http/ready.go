package http

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"intercom"
)

// ReadyProbeEvery bounds how often /readyz probes the database with a real
// commit (Store.Ping): at most once in this long, by the server's clock,
// however many balancers ask. Between probes it answers from the probe's
// outcome and from the store's memory of failed writes (Store.WriteFailure),
// so a write the database refuses makes the node unready at once.
const ReadyProbeEvery = time.Second

// probeTimeout bounds one probe, which no request's end cancels: other
// requests may be waiting for it.
const probeTimeout = 5 * time.Second

// readiness is what /readyz knows of the database: the last probe, and the
// one under way that concurrent requests share.
type readiness struct {
	mu       sync.Mutex
	probedAt time.Time     // when the last probe began; zero: never
	probing  chan struct{} // closed when the probe under way ends; nil: none
	err      error         // the last probe's failure, nil if it committed
	unready  bool          // the last answer, to log changes only
}

// readyz is GET /readyz: 200 while the database takes writes, else 503 with
// the reason's message.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkReady(r.Context()); err != nil {
		return err
	}
	return encode(w, http.StatusOK, map[string]string{"status": "ready"})
}

// checkReady probes the database if the last probe is ReadyProbeEvery old
// (or joins the probe under way), then says whether the last probe or a
// write since failed.
func (s *Server) checkReady(ctx context.Context) error {
	rd := &s.ready
	rd.mu.Lock()
	now := s.clock.Now()
	if rd.probing == nil && (rd.probedAt.IsZero() || now.Sub(rd.probedAt) >= ReadyProbeEvery) {
		rd.probedAt = now
		done := make(chan struct{})
		rd.probing = done
		go func() {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
			err := s.store.Ping(pctx)
			cancel()
			rd.mu.Lock()
			rd.err, rd.probing = err, nil
			rd.mu.Unlock()
			close(done)
		}()
	}
	wait := rd.probing
	rd.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	err := rd.err
	if err == nil {
		err = s.store.WriteFailure()
	}
	switch {
	case err != nil && !rd.unready:
		s.log.Warn("database not ready: it cannot take writes", "error", err)
	case err == nil && rd.unready:
		s.log.Info("database ready again: a probe committed")
	}
	rd.unready = err != nil
	if err != nil && intercom.ErrorCode(err) != intercom.EUNAVAILABLE {
		return &intercom.Error{Code: intercom.EUNAVAILABLE, Message: intercom.ErrUnwritable.Message, RetryAfter: intercom.ErrUnwritable.RetryAfter}
	}
	return err
}

// readyGauge is intercomd_ready: what /readyz would answer, asked at each
// scrape (so probing at most once in ReadyProbeEvery, as /readyz does).
func (s *Server) readyGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "intercomd_ready",
		Help: "1 while the database takes writes (GET /readyz answers 200), 0 while it does not (503).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		if s.checkReady(ctx) != nil {
			return 0
		}
		return 1
	})
}
