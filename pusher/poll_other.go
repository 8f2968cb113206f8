//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package pusher

import (
	"errors"
	"net"
	"syscall"
)

// pollable is nil where a socket's next byte cannot be peeked at: sockets
// wait in their read there.
func pollable(net.Conn) syscall.RawConn { return nil }

func waitReadable(syscall.RawConn) error { return errors.ErrUnsupported }
