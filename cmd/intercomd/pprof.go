package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof serves net/http/pprof on a listener of its own at addr, so an
// operator can profile a live node (go tool pprof http://addr/debug/pprof/profile).
// It is never on the API's listener: the profiles have no authentication, so
// addr belongs on loopback or a private network. stop closes it.
func servePprof(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if ip, _, err := net.SplitHostPort(ln.Addr().String()); err == nil && !net.ParseIP(ip).IsLoopback() {
		logger.Warn("pprof is served beyond loopback, without authentication", "addr", ln.Addr().String())
	}
	logger.Info("pprof listening", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("pprof listener", "error", err)
		}
	}()
	return func() { srv.Close() }, nil
}
