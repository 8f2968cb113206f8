//go:build !(linux || darwin || freebsd)

package storetest

import "testing"

// StopFileWrites skips t: this system has no file size limit to stop writes
// with.
func StopFileWrites(t testing.TB) (resume func()) {
	t.Helper()
	t.Skip("no RLIMIT_FSIZE on this system")
	return func() {}
}
