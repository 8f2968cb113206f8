package main

import (
	"testing"
	"time"

	"intercom/postgres/pgtest"
)

// TestClusterHeartbeatOnlineAtOnce is issue 15, item 7: on three nodes
// batching heartbeats, an offline intercom's heartbeat makes it online at
// once on every node (API.md §6) — on the node that took it, for an open-door
// on another node, and as intercom.status on sockets held by the others —
// ten times over, going offline after --offline-after in between; on each
// bus.
func TestClusterHeartbeatOnlineAtOnce(t *testing.T) { onEachBus(t, 3, clusterHeartbeatOnlineAtOnce) }

func clusterHeartbeatOnlineAtOnce(t *testing.T, busArgs []string, checkBus func(*testing.T)) {
	const (
		offlineAfter = time.Second
		beatBatch    = 900 * time.Millisecond // longer than any of the waits below for "at once"
		announced    = 500 * time.Millisecond // intercom.status online after the heartbeat's 204
		rounds       = 10                     // door openings allowed per minute (calls.DoorOpensPerMinute)
	)
	db := pgtest.NewDatabase(t)
	panel := newControlPanel(t)
	var nodes []*node
	for _, name := range []string{"1", "2", "3"} {
		nodes = append(nodes, startNode(t, t, db, name,
			append([]string{"--offline-after", offlineAfter.String(), "--heartbeat-batch", beatBatch.String()}, busArgs...)...))
	}
	checkBus(t)
	admin := map[string]string{"Authorization": "Bearer " + clusterAdminToken}
	user := nodes[0].want(t, "POST", "/api/admin/v1/users", admin, `{"login":"alice","password":"password-of-alice"}`, 201)
	ic := nodes[0].want(t, "POST", "/api/admin/v1/intercoms", admin, `{"address":"Lenina 1","control_url":"`+panel.url+`/control"}`, 201)
	intercomID, secret := int64(ic["id"].(float64)), ic["secret"].(string)
	nodes[0].want(t, "PUT", "/api/admin/v1/intercoms/"+itoa(intercomID)+"/members/"+itoa(int64(user["id"].(float64))), admin,
		`{"title":"Home","status":"confirmed"}`, 200)
	dev := nodes[1].login(t, "alice", "alice-browser")
	// One socket of alice's on each node, signed on the next.
	var socks []*socketLog
	for i, n := range nodes {
		socks = append(socks, openSocket(t, t, n, nodes[(i+1)%3], dev))
	}
	path := "/api/v1/intercom/" + itoa(intercomID)
	status := func(online bool) func(event) bool {
		return func(e event) bool { return e["intercom_id"] == float64(intercomID) && e["is_online"] == online }
	}

	for round := range rounds {
		on, other := nodes[round%3], nodes[(round+1)%3]
		on.want(t, "POST", "/api/hw/v1/heartbeat", bearer(secret), "", 204)
		beat := time.Now()
		if v := on.want(t, "GET", path, dev.headers(), "", 200); v["is_online"] != true {
			t.Fatalf("round %d: right after the heartbeat on node %s, it says is_online %v", round+1, on.name, v["is_online"])
		}
		if code, v := other.do(t, "POST", path+"/open-door", dev.headers(), ""); code != 204 {
			t.Fatalf("round %d: open-door on node %s right after the heartbeat on node %s: %d %v, want 204", round+1, other.name, on.name, code, v)
		}
		for j, s := range socks {
			if j != round%3 {
				s.awaitNth(t, "intercom.status", "online", status(true), round+1, beat.Add(announced))
			}
		}
		for _, s := range socks {
			s.awaitNth(t, "intercom.status", "offline", status(false), round+1, time.Now().Add(10*time.Second))
		}
		for _, s := range socks {
			if n := s.count("intercom.status", status(true)); n != round+1 {
				t.Fatalf("round %d: socket %s got intercom.status online %d times, want %d: %v", round+1, s.id, n, round+1, s.all())
			}
		}
	}
	if n := len(panel.all()); n != rounds {
		t.Errorf("control URL got %d POSTs, want %d door openings: %v", n, rounds, panel.all())
	}
}

// awaitNth waits until the socket has had n events of type typ that match
// accepts, and fails the test if that is not so by deadline.
func (s *socketLog) awaitNth(t *testing.T, typ, what string, match func(event) bool, n int, deadline time.Time) {
	t.Helper()
	limit := time.After(time.Until(deadline))
	for {
		s.mu.Lock()
		changed, closed := s.changed, s.closed
		s.mu.Unlock()
		got := s.count(typ, match)
		switch {
		case got >= n:
			return
		case closed:
			t.Fatalf("socket %s closed before %s %s number %d came: %v", s.id, typ, what, n, s.all())
		}
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("socket %s: %s %s number %d not there by its deadline; got %v", s.id, typ, what, n, s.all())
		}
	}
}
