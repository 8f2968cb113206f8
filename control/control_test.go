package control_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"intercom"
	"intercom/control"
	"intercom/secrets"
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
	c := control.New(time.Second, func() time.Time { return time.Unix(1700000000, 0) }, control.AllowLoopback())
	url := srv.URL + "/control"
	r := c.Send(t.Context(), intercom.Intercom{ID: 180, ControlKey: stored(t, nil, key), ControlURL: &url}, "door.open", map[string]any{"duration": 7})
	if !r.OK || r.Status != 200 || r.Error != "" {
		t.Fatalf("%+v", r)
	}
	if got["event"] != "door.open" || got["intercom_id"] != float64(180) || got["duration"] != float64(7) || got["sent_at"] != "2023-11-14T22:13:20Z" {
		t.Errorf("body %v", got)
	}
	// Signed with another key: the intercom refuses.
	r = c.Send(t.Context(), intercom.Intercom{ID: 180, ControlKey: stored(t, nil, intercom.HashToken("other")), ControlURL: &url}, "door.open", nil)
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
	c := control.New(time.Second, time.Now, control.AllowLoopback())
	send := func(path string) intercom.ControlResult {
		u := srv.URL + path
		return c.Send(t.Context(), intercom.Intercom{ID: 1, ControlKey: stored(t, nil, []byte("k")), ControlURL: &u}, "door.open", nil)
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
	c := control.New(time.Second, time.Now, control.AllowLoopback())
	if !c.Redirects(t.Context(), srv.URL+"/moved") || c.Redirects(t.Context(), srv.URL+"/control") {
		t.Error("Redirects is wrong")
	}
}

// Without AllowLoopback, a send never connects to a loopback address, even
// through a name that resolves to one: the address each connection dials is
// checked, after DNS, so a name cannot be made to resolve around the policy.
func TestSendRefusesTheAddressItWouldDial(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	c := control.New(time.Second, time.Now)
	for _, u := range []string{srv.URL + "/control", "http://localhost:" + port + "/control", "http://[::ffff:127.0.0.1]:" + port + "/control"} {
		r := c.Send(t.Context(), intercom.Intercom{ID: 1, ControlKey: stored(t, nil, []byte("k")), ControlURL: &u}, "door.open", nil)
		if r.OK || !strings.Contains(r.Error, "loopback") {
			t.Errorf("%s: %+v, want refused as loopback", u, r)
		}
		if c.Redirects(t.Context(), u) {
			t.Errorf("%s: the HEAD got through", u)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback server got %d requests", n)
	}
	// Allowed, the same URL is reached.
	u := srv.URL + "/control"
	if r := control.New(time.Second, time.Now, control.AllowLoopback()).Send(t.Context(),
		intercom.Intercom{ID: 1, ControlKey: stored(t, nil, []byte("k")), ControlURL: &u}, "door.open", nil); !r.OK {
		t.Fatalf("with loopback allowed: %+v", r)
	}
}

func TestCheckURL(t *testing.T) {
	strict, loose := control.New(time.Second, time.Now), control.New(time.Second, time.Now, control.AllowLoopback())
	for _, tc := range []struct {
		url           string
		strict, loose bool // refused by each
	}{
		{"http://127.0.0.1:8080/x", true, false},
		{"http://localhost:8080/x", true, false}, // resolves to loopback
		{"http://[::1]/x", true, false},
		{"http://169.254.169.254/latest/meta-data", true, true},
		{"http://[fd00:ec2::254]/", true, true},
		{"http://metadata.google.internal/computeMetadata/v1/", true, true},
		{"http://METADATA.google.internal./", true, true},
		{"http://0.0.0.0:80/", true, true},
		{"http://[fe80::1%25eth0]/", true, true},
		{"http://10.0.0.5/control", false, false},
		{"http://192.168.1.20:8080/control", false, false},
		{"http://[fd12:3456::1]/control", false, false},
		{"http://intercom.invalid/control", false, false}, // does not resolve (yet): the dial is checked
	} {
		if got := strict.CheckURL(t.Context(), tc.url) != ""; got != tc.strict {
			t.Errorf("%s: refused %v, want %v", tc.url, got, tc.strict)
		}
		if got := loose.CheckURL(t.Context(), tc.url) != ""; got != tc.loose {
			t.Errorf("%s with loopback allowed: refused %v, want %v", tc.url, got, tc.loose)
		}
	}
}

// stored is a control key as the store keeps it, sealed by box.
func stored(t *testing.T, box *secrets.Box, key []byte) []byte {
	t.Helper()
	b, err := box.Seal(secrets.ControlKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSendWithASealedKey: a control key sealed under --secret-key-file signs
// only with that key file; without it (a copy of the database alone) no
// command is sent at all.
func TestSendWithASealedKey(t *testing.T) {
	key := intercom.HashToken("the-intercom-secret")
	box, err := secrets.NewBox([]byte("a key file of more than thirty-two bytes"))
	if err != nil {
		t.Fatal(err)
	}
	sealed := stored(t, box, key)
	if strings.Contains(string(sealed), string(key)) {
		t.Fatal("the sealed key holds the key")
	}
	var posts int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts++
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Intercomd-Signature") != control.Sign(key, r.Header.Get("X-Intercomd-Timestamp"), body) {
			w.WriteHeader(401)
		}
	}))
	defer srv.Close()
	url := srv.URL + "/control"
	ic := intercom.Intercom{ID: 180, ControlKey: sealed, ControlURL: &url}
	if r := control.New(time.Second, time.Now, control.AllowLoopback(), control.Keys(box)).Send(t.Context(), ic, "door.open", nil); !r.OK {
		t.Errorf("with the key file: %+v", r)
	}
	r := control.New(time.Second, time.Now, control.AllowLoopback()).Send(t.Context(), ic, "door.open", nil)
	if r.OK || !strings.Contains(r.Error, "give --secret-key-file") || posts != 1 {
		t.Errorf("without the key file: %+v after %d posts", r, posts)
	}
}
