package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// --pprof-addr is off by default and has an environment twin.
func TestPprofAddrFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{nil, "", ""},
		{[]string{"--pprof-addr", "127.0.0.1:6060"}, "", "127.0.0.1:6060"},
		{nil, "127.0.0.1:6061", "127.0.0.1:6061"},
		{[]string{"--pprof-addr", "127.0.0.1:6060"}, "127.0.0.1:6061", "127.0.0.1:6060"},
	} {
		c, err := parseConfig(append([]string{"serve"}, tc.args...), map[string]string{"INTERCOMD_PPROF_ADDR": tc.env}, io.Discard)
		if err != nil || c.pprofAddr != tc.want {
			t.Errorf("args %v, env %q: pprofAddr %q (%v), want %q", tc.args, tc.env, c.pprofAddr, err, tc.want)
		}
	}
}

// The profiles are served on the pprof listener only, never on the API's.
func TestPprofListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pprofAddr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	outR, outW := io.Pipe()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "p.db"), "--log-level", "error"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, map[string]string{"INTERCOMD_PPROF_ADDR": pprofAddr}, outW, io.Discard)
		outW.Close()
	}()
	sc := bufio.NewScanner(outR)
	var api string
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "listening on "); ok {
			api = after
			break
		}
	}
	go io.Copy(io.Discard, outR)
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(url string) int {
		t.Helper()
		res, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get("http://" + pprofAddr + "/debug/pprof/heap"); code != 200 {
		t.Errorf("pprof heap: %d", code)
	}
	if code := get(api + "/debug/pprof/heap"); code == 200 {
		t.Errorf("the API listener serves pprof")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
