package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"intercom"
	"intercom/control"
)

// panel is a fake intercom behind its control URL: it checks the signature
// and answers as mode says.
type panel struct {
	t      *testing.T
	key    []byte
	mu     sync.Mutex
	mode   string // "", "hang", "broken", "redirect"
	events []map[string]any
}

func (p *panel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == "HEAD" { // intercomd's check at provisioning
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("X-Intercomd-Signature") != control.Sign(p.key, r.Header.Get("X-Intercomd-Timestamp"), body) {
		p.t.Errorf("bad signature on %s", body)
		w.WriteHeader(401)
		return
	}
	var e map[string]any
	json.Unmarshal(body, &e)
	p.mu.Lock()
	mode := p.mode
	p.events = append(p.events, e)
	p.mu.Unlock()
	switch mode {
	case "hang":
		<-r.Context().Done()
	case "broken":
		w.WriteHeader(500)
	case "redirect":
		http.Redirect(w, r, "http://example.invalid/", http.StatusFound)
	}
}

func (p *panel) set(mode string) { p.mu.Lock(); p.mode = mode; p.mu.Unlock() }

func (p *panel) last() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) == 0 {
		return nil
	}
	return p.events[len(p.events)-1]
}

// doorWorld is a world whose intercom has a control URL.
func doorWorld(t *testing.T, f *fixture) (*world, *panel) {
	t.Helper()
	p := &panel{t: t}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	id, secret := f.provision(`{"address":"Lenina 1","control_url":"` + srv.URL + `/control","door_open_seconds":5}`)
	p.key = intercom.HashToken(secret)
	aliceID := f.user("alice")
	f.memberOf(id, aliceID, "15", "confirmed")
	return &world{f: f, intercomID: id, secret: secret, alice: f.loginAs("alice", "alice-phone", "web"), aliceID: aliceID}, p
}

func TestOpenDoor(t *testing.T) {
	f := newFixture(t)
	w, p := doorWorld(t, f)
	path := "/api/v1/intercom/" + itoa(w.intercomID) + "/open-door"
	res := f.want(f.as(w.alice, "POST", path, ""), 422)
	if errorsOf(t, res)["intercom"][0] != "The intercom is offline." {
		t.Errorf("offline: %s", res.Body)
	}
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/heartbeat", ""), 204)
	f.want(f.as(w.alice, "POST", path, ""), 204)
	if e := p.last(); e["event"] != "door.open" || e["duration"] != float64(5) || e["device"] != "alice-phone" || e["user_id"] != float64(w.aliceID) {
		t.Errorf("door.open %v", e)
	}
	p.set("broken")
	f.want(f.as(w.alice, "POST", path, ""), 502)
	p.set("redirect")
	f.want(f.as(w.alice, "POST", path, ""), 502)
	p.set("hang")
	res = f.want(f.as(w.alice, "POST", path, ""), 504)
	if res.JSON(t)["message"] != "The intercom did not answer in time." {
		t.Errorf("504 body %s", res.Body)
	}
	p.set("")

	// Who may not: another account, a member not yet confirmed, a bad id.
	bobID := f.user("bob")
	bob := f.login("bob", "bob-phone")
	f.want(f.as(bob, "POST", path, ""), 404)
	f.memberOf(w.intercomID, bobID, "16", "key_confirmed")
	f.want(f.as(bob, "POST", path, ""), 404)
	f.want(f.as(w.alice, "POST", "/api/v1/intercom/abc/open-door", ""), 404)

	// Every opening is recorded: who, which device, when, how it went.
	log := f.want(f.admin("GET", "/api/admin/v1/intercoms/"+itoa(w.intercomID)+"/control-log?event=door.open", ""), 200).JSON(t)
	var results []string
	for _, e := range log["data"].([]any) {
		m := e.(map[string]any)
		if m["device"] != "alice-phone" || m["user_id"] != float64(w.aliceID) {
			t.Errorf("entry %v", m)
		}
		results = append(results, strconv.FormatBool(m["ok"].(bool))+"/"+strconv.FormatFloat(m["status"].(float64), 'f', 0, 64)+"/"+strconv.FormatBool(m["timed_out"].(bool)))
	}
	want := []string{"false/0/true", "false/302/false", "false/500/false", "true/200/false"} // newest first
	if len(results) != len(want) {
		t.Fatalf("log %v, want %v", results, want)
	}
	for i := range want {
		if results[i] != want[i] {
			t.Errorf("log %v, want %v", results, want)
			break
		}
	}
	f.want(f.admin("GET", "/api/admin/v1/intercoms/"+itoa(w.intercomID)+"/control-log?event=bogus", ""), 422)
	f.want(f.admin("GET", "/api/admin/v1/intercoms/999/control-log", ""), 404)

	// An intercom without a control URL cannot open from the app.
	id, secret := f.provision(`{"address":"Old gate"}`)
	f.memberOf(id, w.aliceID, "1", "confirmed")
	f.want(f.hw(secret, "POST", "/api/hw/v1/heartbeat", ""), 204)
	res = f.want(f.as(w.alice, "POST", "/api/v1/intercom/"+itoa(id)+"/open-door", ""), 422)
	if _, ok := errorsOf(t, res)["intercom"]; !ok {
		t.Errorf("no control URL: %s", res.Body)
	}
}

// An account that floods open-door gets 429 until the minute has passed.
func TestOpenDoorFlood(t *testing.T) {
	f := newFixture(t)
	w, _ := doorWorld(t, f)
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/heartbeat", ""), 204)
	path := "/api/v1/intercom/" + itoa(w.intercomID) + "/open-door"
	for i := 0; i < 10; i++ {
		f.want(f.as(w.alice, "POST", path, ""), 204)
	}
	res := f.want(f.as(w.alice, "POST", path, ""), 429)
	if res.Header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	f.clock.Advance(time.Minute)
	f.want(f.hw(w.secret, "POST", "/api/hw/v1/heartbeat", ""), 204)
	f.want(f.as(w.alice, "POST", path, ""), 204)
}

func TestCallEventsReachTheIntercom(t *testing.T) {
	f := newFixture(t)
	w, p := doorWorld(t, f)
	f.socket(t, w.alice)
	v := w.ring(`{"flat":15}`)
	ans := f.want(f.as(w.alice, "POST", callPath(v, "start"), ""), 200).JSON(t)
	f.srv.Wait()
	if e := p.last(); e["event"] != "call.answered" || e["call_id"] != v["call_id"] || e["number"] != ans["number"] {
		t.Errorf("call.answered %v", e)
	}
	f.want(f.as(w.alice, "POST", callPath(v, "end"), ""), 204)
	f.srv.Wait()
	if e := p.last(); e["event"] != "call.ended" {
		t.Errorf("call.ended %v", e)
	}
	v = w.ring(`{"flat":15}`)
	p.set("broken")
	f.clock.Advance(30 * time.Second)
	f.srv.Wait()
	if e := p.last(); e["event"] != "call.missed" || e["call_id"] != v["call_id"] {
		t.Errorf("call.missed %v", e)
	}
	// The failed delivery is visible to the operator.
	log := f.want(f.admin("GET", "/api/admin/v1/intercoms/"+itoa(w.intercomID)+"/control-log?event=call.missed", ""), 200).JSON(t)
	entry := log["data"].([]any)[0].(map[string]any)
	if entry["ok"] != false || entry["status"] != float64(500) || entry["call_id"] != v["call_id"] {
		t.Errorf("log entry %v", entry)
	}
}

// The intercom of a call is the call's, whatever its first account did with
// it: after that account forgot the call, left the intercom or was deleted,
// another account's answer still stops the other devices and reaches the
// intercom's control URL.
func TestCallIntercomOutlivesTheFirstAccount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(f *fixture, w *world, call map[string]any)
	}{
		{"forgets the call", func(f *fixture, w *world, call map[string]any) {
			f.want(f.as(w.alice, "DELETE", "/api/v1/intercom/calls", `{"ids":[`+itoa(int64(call["call_id"].(float64)))+`]}`), 204)
		}},
		{"unlinks the intercom", func(f *fixture, w *world, call map[string]any) {
			f.want(f.as(w.alice, "DELETE", "/api/v1/intercom", `{"ids":[`+itoa(w.intercomID)+`]}`), 204)
		}},
		{"is deleted", func(f *fixture, w *world, call map[string]any) {
			f.want(f.admin("DELETE", "/api/admin/v1/users/"+itoa(w.aliceID), ""), 204)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			w, p := doorWorld(t, f)
			w.alice = f.loginAs("alice", "alice-browser", "web") // rung over its socket
			bobID := f.user("bob")
			f.memberOf(w.intercomID, bobID, "15", "confirmed")
			bobPhone, bobTablet := f.loginAs("bob", "bob-phone", "web"), f.loginAs("bob", "bob-tablet", "web")
			f.socket(t, w.alice).drain()
			f.socket(t, bobPhone).drain()
			tablet := f.socket(t, bobTablet)
			call := w.ring(`{"flat":15}`)
			tablet.expect("intercom_ring")
			tc.before(f, w, call)

			ans := f.want(f.as(bobPhone, "POST", callPath(call, "start"), ""), 200).JSON(t)
			if e := tablet.expect("intercom_cancel"); e["reason"] != "answered_elsewhere" || e.data()["id"] != float64(w.intercomID) {
				t.Errorf("cancel %v", e)
			}
			f.srv.Wait()
			if e := p.last(); e["event"] != "call.answered" || e["call_id"] != call["call_id"] || e["number"] != ans["number"] {
				t.Errorf("control URL got %v, want call.answered", e)
			}
			f.want(f.as(bobPhone, "POST", callPath(call, "end"), ""), 204)
			f.srv.Wait()
			if e := p.last(); e["event"] != "call.ended" {
				t.Errorf("control URL got %v, want call.ended", e)
			}
		})
	}
}
