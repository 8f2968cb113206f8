package main

import (
	"fmt"
	"net"

	intercomhttp "intercom/http"
)

// privateListener is a listener of its own for paths kept off the public
// one: the admin API (--admin-addr), /metrics (--metrics-addr), or both
// when the two addresses are the same.
type privateListener struct {
	addr  string // as configured
	ln    net.Listener
	paths intercomhttp.Paths
	flags string // the flags that asked for it, for errors
}

// listenPrivate opens the listeners --admin-addr and --metrics-addr ask
// for: none when both are empty, one when they are equal. On an error it
// closes what it opened.
func listenPrivate(c config) ([]privateListener, error) {
	var ls []privateListener
	for _, p := range []struct {
		addr, flag string
		paths      intercomhttp.Paths
	}{{c.adminAddr, "--admin-addr", intercomhttp.AdminPaths}, {c.metricsAddr, "--metrics-addr", intercomhttp.MetricsPaths}} {
		if p.addr == "" {
			continue
		}
		if len(ls) > 0 && ls[0].addr == p.addr {
			ls[0].paths |= p.paths
			ls[0].flags += " and " + p.flag
			continue
		}
		ls = append(ls, privateListener{addr: p.addr, paths: p.paths, flags: p.flag})
	}
	for i := range ls {
		ln, err := net.Listen("tcp", ls[i].addr)
		if err != nil {
			closePrivate(ls[:i])
			return nil, fmt.Errorf("%s: %w", ls[i].flags, err)
		}
		ls[i].ln = ln
	}
	return ls, nil
}

// closePrivate closes the listeners of ls.
func closePrivate(ls []privateListener) {
	for _, l := range ls {
		l.ln.Close()
	}
}

// privateAddr is the address of the listener of ls serving paths, "" when
// none does (they are on the public listener).
func privateAddr(ls []privateListener, paths intercomhttp.Paths) string {
	for _, l := range ls {
		if l.paths&paths != 0 {
			return l.ln.Addr().String()
		}
	}
	return ""
}
