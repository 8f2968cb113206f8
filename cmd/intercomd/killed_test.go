package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"intercom/postgres/pgtest"
)

// childNodeArgs, in a test binary's environment, makes it an intercomd node
// rather than a test run (TestMain): a process a test can kill -9.
const childNodeArgs = "INTERCOMD_TEST_CHILD_NODE_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(childNodeArgs); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			os.Stderr.WriteString("bad " + childNodeArgs + ": " + err.Error() + "\n")
			os.Exit(2)
		}
		if err := run(context.Background(), args, environ(os.Environ()), os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChildNode runs a node on db in a process of its own (this test
// binary, as TestMain's child), for a test that kills it. It is killed when
// the test ends, if not before.
func startChildNode(t *testing.T, db, name string, extra ...string) (*node, *exec.Cmd) {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db,
		"--ring-timeout", clusterRingTimeout.String(), "--control-allow-loopback"}, extra...)
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childNodeArgs+"="+string(raw), "INTERCOMD_ADMIN_TOKEN="+clusterAdminToken, "INTERCOMD_LOG_LEVEL=warn")
	if key := withSecretKey(t, nil, args)["INTERCOMD_SECRET_KEY_FILE"]; key != "" {
		cmd.Env = append(cmd.Env, "INTERCOMD_SECRET_KEY_FILE="+key)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("node %s's log:\n%s", name, logs)
		}
	})
	select {
	case u, ok := <-listening(out):
		if !ok {
			t.Fatalf("node %s did not start:\n%s", name, logs)
		}
		return &node{name: name, url: u, logs: logs, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}, cmd
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not listen in 30 s\n%s", name, logs)
	}
	return nil, nil
}

// TestClusterNodeKilledMidConversation: a node is killed -9 right after it
// took an answer, before the voice connected. Its connect deadline was in
// the database before the answer was told, so the surviving node ends the
// call at the deadline — once: one call.ended to the intercom, one
// intercom_cancel to the device that answered. On each bus.
func TestClusterNodeKilledMidConversation(t *testing.T) {
	onEachBus(t, 2, clusterNodeKilledMidConversation)
}

func clusterNodeKilledMidConversation(t *testing.T, busArgs []string, checkBus func(*testing.T)) {
	db := pgtest.NewDatabase(t)
	panel := newControlPanel(t)
	const connect = "2s"
	survivor := startNode(t, t, db, "survivor", append([]string{"--answer-connect-timeout", connect}, busArgs...)...)
	victim, proc := startChildNode(t, db, "victim", append([]string{"--answer-connect-timeout", connect}, busArgs...)...)
	checkBus(t)

	admin := map[string]string{"Authorization": "Bearer " + clusterAdminToken}
	user := survivor.want(t, "POST", "/api/admin/v1/users", admin, `{"login":"alice","password":"password-of-alice"}`, 201)
	ic := survivor.want(t, "POST", "/api/admin/v1/intercoms", admin, `{"address":"Lenina 1","control_url":"`+panel.url+`/control"}`, 201)
	intercomID, secret := int64(ic["id"].(float64)), ic["secret"].(string)
	survivor.want(t, "PUT", "/api/admin/v1/intercoms/"+itoa(intercomID)+"/members/"+itoa(int64(user["id"].(float64))), admin,
		`{"title":"Home","status":"confirmed"}`, 200)
	dev := victim.login(t, "alice", "alice-browser")
	sock := openSocket(t, t, survivor, survivor, dev)
	survivor.want(t, "POST", "/api/hw/v1/heartbeat", bearer(secret), "", 204)

	res := survivor.want(t, "POST", "/api/hw/v1/ring", bearer(secret), `{}`, 201)
	call := int64(res["call_id"].(float64))
	sock.await(t, "intercom_ring", call)
	victim.want(t, "POST", callPath(call, "start"), dev.headers(), "", 200)
	if err := proc.Process.Kill(); err != nil { // SIGKILL: nothing of the node's is cleaned up
		t.Fatal(err)
	}
	proc.Wait()

	panel.await(t, "call.ended", call)
	got := survivor.want(t, "GET", "/api/admin/v1/calls/"+itoa(call), admin, "", 200)
	if got["status"] != "ended" || got["end_reason"] != "connect_timeout" {
		t.Fatalf("after the kill and the connect deadline: %v", got)
	}
	if e := sock.await(t, "intercom_cancel", call); e["reason"] != "timeout" {
		t.Errorf("the answering device was told %v", e)
	}
	// Once: a second firing would show within a few polls of the scheduler.
	time.Sleep(4 * deadlinePoll)
	if n := panel.count("call.ended", call); n != 1 {
		t.Errorf("call.ended sent %d times", n)
	}
	if n := sock.count("intercom_cancel", forCall(call)); n != 1 {
		t.Errorf("intercom_cancel sent %d times: %v", n, sock.all())
	}
}
