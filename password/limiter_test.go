package password

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestLimiterBoundsConcurrency(t *testing.T) {
	l := NewLimiter(2)
	h, err := Hash("secret")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if ok, err := l.Verify(t.Context(), "secret", h); !ok || err != nil {
				t.Errorf("Verify: %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
	if p := l.Peak(); p < 1 || p > 2 {
		t.Fatalf("%d hashes ran at once, want at most 2", p)
	}
}

// A caller waiting for a slot gives up when its context ends, without
// hashing.
func TestLimiterWaitRespectsContext(t *testing.T) {
	l := NewLimiter(1)
	l.slots <- struct{}{} // the one slot is taken
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	hashed := false
	if err := l.run(ctx, func() { hashed = true }); !errors.Is(err, context.Canceled) || hashed {
		t.Fatalf("run = %v, hashed %v; want context.Canceled without hashing", err, hashed)
	}
	if _, err := l.Verify(ctx, "x", "y"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify = %v", err)
	}
	<-l.slots
	if err := l.run(t.Context(), func() { hashed = true }); err != nil || !hashed {
		t.Fatalf("with a free slot: %v, hashed %v", err, hashed)
	}
}
