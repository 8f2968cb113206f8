//go:build linux || darwin || freebsd

package storetest

import (
	"syscall"
	"testing"
)

// StopFileWrites makes the kernel refuse every write this process makes to
// a file, from now until the function it returns is called (or t ends): it
// sets the file size limit (RLIMIT_FSIZE) to 0, so each write(2) to a regular
// file fails with EFBIG, as writes fail on a full disk or an unwritable file,
// whatever the filesystem and even as root. SQLite then sees real I/O errors
// on its database and WAL files. Go ignores the SIGXFSZ that comes with them.
//
// The limit is the whole process's: a test that calls it must not be
// parallel (no other test then runs), and must write no file of its own
// meanwhile.
func StopFileWrites(t testing.TB) (resume func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	stopped := old
	stopped.Cur = 0
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &stopped); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	done := false
	resume = func() {
		if done {
			return
		}
		done = true
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatalf("setrlimit: %v", err)
		}
	}
	t.Cleanup(resume)
	return resume
}
