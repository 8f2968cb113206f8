package pusher

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection and the raw
// connection of the first.
func tcpPair(t *testing.T) (net.Conn, net.Conn, syscall.RawConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); peer.Close() })
	raw, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return conn, peer, raw
}

func wait(raw syscall.RawConn) <-chan error {
	done := make(chan error, 1)
	go func() { done <- waitReadable(raw) }()
	return done
}

// returns fails t unless done yields want (nil or not) within a bound that
// only a wait that never ends exceeds.
func returns(t *testing.T, done <-chan error, wantErr bool, what string) {
	t.Helper()
	select {
	case err := <-done:
		if (err != nil) != wantErr {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: waitReadable did not return", what)
	}
}

// waitReadable returns when there are bytes to read, those that arrived
// before it was called included, and leaves them to read; it fails when the
// connection is closed under it, which ends the socket's loop.
func TestWaitReadable(t *testing.T) {
	conn, peer, raw := tcpPair(t)
	read := func(want string) {
		t.Helper()
		b := make([]byte, 1)
		if n, err := conn.Read(b); n != 1 || string(b) != want || err != nil {
			t.Fatalf("read %q, %v; want %q", b[:n], err, want)
		}
	}
	if _, err := peer.Write([]byte("xy")); err != nil {
		t.Fatal(err)
	}
	read("x") // "y" has arrived too, before the wait
	returns(t, wait(raw), false, "a byte waiting")
	read("y")

	done := wait(raw)
	if _, err := peer.Write([]byte("z")); err != nil {
		t.Fatal(err)
	}
	returns(t, done, false, "a byte sent during the wait")
	read("z")

	done = wait(raw)
	conn.Close()
	returns(t, done, true, "closed during the wait")
}
