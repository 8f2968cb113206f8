//go:build !linux

package sqlite_test

import (
	"os"
	"testing"
)

// actAsNobody skips t as root: only Linux tests change their effective user.
func actAsNobody(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Skip("root writes files whatever their mode")
	}
}
