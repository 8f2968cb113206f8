//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

import "os"

// tryLock is a no-op where flock(2) does not exist: nothing keeps a second
// process off the database there.
func tryLock(*os.File) error { return nil }
