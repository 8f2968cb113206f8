//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package pusher

import (
	"net"
	"syscall"
)

// pollable returns the raw connection under c that a socket waits on for
// readability (socket.serve), or nil if there is none (TLS, tests' pipes):
// that socket waits in its read.
func pollable(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// waitReadable returns once the connection has bytes to read, is at its end
// or broken (the read that follows tells which), and fails once it is
// closed.
func waitReadable(raw syscall.RawConn) error {
	return raw.Read(readable)
}

// readable reports whether a read of the non-blocking socket fd would not
// block, by peeking at its next byte. The poller alone would not do: it
// forgets, as a wait starts, readiness that came before, so bytes that
// arrived between the last read and the wait would wait for more.
func readable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
	return err != syscall.EAGAIN
}
