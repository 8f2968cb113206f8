package sqlite_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// nobody is the user a test acts as when it runs as root (uid 65534).
const nobody = 65534

// actAsNobody makes file modes stop the process's writes for the rest of t,
// as they stop anyone's but root's: run as root, the process takes nobody
// as its effective user (root stays its saved user, taken back when t
// ends), whose permission checks file modes decide, and the directories
// from path up to the test's temporary root are made readable and
// searchable to it (not writable). Tests that
// call it must not run in parallel: the effective user is the process's.
func actAsNobody(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	for dir := filepath.Dir(path); dir != os.TempDir() && dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, fi.Mode().Perm()|0o055); err != nil { // readable and searchable, no more
			t.Fatal(err)
		}
	}
	if err := syscall.Setresuid(-1, nobody, -1); err != nil {
		t.Fatalf("acting as nobody: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Setresuid(-1, 0, -1); err != nil {
			panic("taking back root: " + err.Error()) // the rest of the tests would run as nobody
		}
	})
}
