package password

import (
	"context"
	"sync/atomic"
)

// Limiter bounds how many hashes run at once: each holds 19 MiB for its
// duration, so a flood of logins would otherwise exhaust memory. Callers
// beyond the bound wait for a slot, or for their context to end.
type Limiter struct {
	slots chan struct{}
	peak  atomic.Int64 // most hashes seen running at once, for tests
	busy  atomic.Int64
}

// NewLimiter returns a Limiter letting n hashes run at once (at least 1).
func NewLimiter(n int) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(1, n))}
}

// run runs fn in a slot; it returns ctx's error if ctx ends first.
func (l *Limiter) run(ctx context.Context, fn func()) error {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { l.busy.Add(-1); <-l.slots }()
	n := l.busy.Add(1)
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	fn()
	return nil
}

// Peak is the most hashes that ran at once.
func (l *Limiter) Peak() int { return int(l.peak.Load()) }

// Hash is Hash in a slot.
func (l *Limiter) Hash(ctx context.Context, pw string) (h string, err error) {
	if cerr := l.run(ctx, func() { h, err = Hash(pw) }); cerr != nil {
		return "", cerr
	}
	return h, err
}

// Verify is Verify in a slot.
func (l *Limiter) Verify(ctx context.Context, pw, encoded string) (ok bool, err error) {
	if cerr := l.run(ctx, func() { ok, err = Verify(pw, encoded) }); cerr != nil {
		return false, cerr
	}
	return ok, err
}

// VerifyNothing is VerifyNothing in a slot.
func (l *Limiter) VerifyNothing(ctx context.Context, pw string) error {
	return l.run(ctx, func() { VerifyNothing(pw) })
}
