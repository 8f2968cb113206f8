package pusher

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// deadlineConn records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	read, write time.Time
	set         bool
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.read, c.write, c.set = t, t, true
	return nil
}

type hijackable struct {
	*httptest.ResponseRecorder
	conn *deadlineConn
}

func (h hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReader(h.conn), bufio.NewWriter(h.conn)), nil
}

// A hijacked socket drops the deadlines net/http set for the request (its
// read and write timeouts), or the socket would die with them; smallBuffers
// keeps the connection and read buffer it hands out, for the socket.
func TestHijackClearsDeadlines(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &deadlineConn{Conn: a, read: time.Now(), write: time.Now()}
	hj := &smallBuffers{ResponseWriter: hijackable{httptest.NewRecorder(), c}}
	conn, brw, err := hj.Hijack()
	if err != nil {
		t.Fatal(err)
	}
	if !c.set || !c.read.IsZero() || !c.write.IsZero() || conn != net.Conn(c) || brw.Reader.Size() != bufferSize {
		t.Errorf("deadlines %v %v (set %v), buffer %d", c.read, c.write, c.set, brw.Reader.Size())
	}
	if hj.conn != conn || hj.br != brw.Reader {
		t.Error("smallBuffers did not keep the connection and read buffer it handed out")
	}
	var _ http.Hijacker = &smallBuffers{}
}
