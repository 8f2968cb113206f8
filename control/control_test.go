package control_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"intercom"
	"intercom/control"
)

func TestSendSigned(t *testing.T) {
	key := intercom.HashToken("the-intercom-secret")
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Intercomd-Timestamp")
		if r.Header.Get("X-Intercomd-Signature") != control.Sign(key, ts, body) || r.Header.Get("X-Intercomd-Event") != "door.open" {
			w.WriteHeader(401)
			return
		}
		if sec, _ := strconv.ParseInt(ts, 10, 64); sec != 1700000000 {
			t.Errorf("timestamp %s", ts)
		}
		json.Unmarshal(body, &got)
	}))
	defer srv.Close()
	c := control.New(time.Second, func() time.Time { return time.Unix(1700000000, 0) })
	url := srv.URL + "/control"
	r := c.Send(t.Context(), intercom.Intercom{ID: 180, SecretHash: key, ControlURL: &url}, "door.open", map[string]any{"duration": 7})
	if !r.OK || r.Status != 200 || r.Error != "" {
		t.Fatalf("%+v", r)
	}
	if got["event"] != "door.open" || got["intercom_id"] != float64(180) || got["duration"] != float64(7) || got["sent_at"] != "2023-11-14T22:13:20Z" {
		t.Errorf("body %v", got)
	}
	// Signed with another key: the intercom refuses.
	r = c.Send(t.Context(), intercom.Intercom{ID: 180, SecretHash: intercom.HashToken("other"), ControlURL: &url}, "door.open", nil)
	if r.OK || r.Status != 401 || !strings.Contains(r.Error, "401") {
		t.Errorf("wrong key: %+v", r)
	}
}

func TestSendFailures(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) })
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { t.Error("a redirect was followed") })
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // the server notices the client leaving only once the body is read
		<-r.Context().Done()
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := control.New(time.Second, time.Now)
	send := func(path string) intercom.ControlResult {
		u := srv.URL + path
		return c.Send(t.Context(), intercom.Intercom{ID: 1, SecretHash: []byte("k"), ControlURL: &u}, "door.open", nil)
	}
	if r := send("/redirect"); r.OK || r.Status != 302 || !strings.Contains(r.Error, "redirect") {
		t.Errorf("redirect: %+v", r)
	}
	if r := send("/hang"); r.OK || !r.TimedOut {
		t.Errorf("hang: %+v", r)
	}
	if r := send("/broken"); r.OK || r.Status != 500 || r.TimedOut {
		t.Errorf("broken: %+v", r)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	if r := c.Send(t.Context(), intercom.Intercom{ID: 1, ControlURL: &deadURL}, "door.open", nil); r.OK || r.TimedOut || r.Error == "" {
		t.Errorf("refused: %+v", r)
	}
	if r := c.Send(t.Context(), intercom.Intercom{ID: 1}, "door.open", nil); r.OK || r.Error == "" {
		t.Errorf("no URL: %+v", r)
	}
}

func TestRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/moved", http.RedirectHandler("/x", http.StatusFound))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := control.New(time.Second, time.Now)
	if !c.Redirects(t.Context(), srv.URL+"/moved") || c.Redirects(t.Context(), srv.URL+"/control") {
		t.Error("Redirects is wrong")
	}
}
