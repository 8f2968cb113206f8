package intercom

import "sync"

// WriteFailures is an engine's memory of the last write that failed because
// the database cannot take writes (an EUNAVAILABLE error): it is kept until a
// probe that began after it commits. Its zero value remembers nothing.
type WriteFailures struct {
	mu  sync.Mutex
	n   uint64 // failures recorded so far
	err error  // the last of them, nil once a later probe committed
}

// Record remembers err if it says that the database cannot take writes
// (code EUNAVAILABLE); other errors are the write's own business.
func (w *WriteFailures) Record(err error) {
	if ErrorCode(err) != EUNAVAILABLE {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	w.err = err
}

// Mark is taken when a probe begins; Clear with it when the probe committed.
func (w *WriteFailures) Mark() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Clear forgets the last failure if none was recorded since mark: a probe
// that began after every failure remembered has committed.
func (w *WriteFailures) Clear(mark uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == mark {
		w.err = nil
	}
}

// Last is the failure remembered, or nil.
func (w *WriteFailures) Last() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
