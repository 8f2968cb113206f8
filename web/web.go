// Package web serves the residents' web app (README "The web app"): the
// files of dist, built from src by `go generate ./web` and embedded in the
// binary. The app speaks only the client API and the Pusher socket, as the
// mobile apps do; this package adds no endpoint of its own.
package web

//go:generate go run ./gen

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// Prefix is where the app's files are served; the app itself is at /.
const Prefix = "/web/"

// Config is what the app's pages need to know of the server.
type Config struct {
	// SIPWSURL is the SIP-over-WebSocket URL answers hand out (API.md §6):
	// the Content-Security-Policy lets the page connect to its origin.
	SIPWSURL string
}

// file is one served file, with its gzip form when that is smaller.
type file struct {
	body, gz []byte
	etag     string
	ctype    string
}

// Handler serves the app: GET / and GET /web/{file}.
type Handler struct {
	files map[string]*file
	csp   string
}

// New reads the embedded files and compresses them once.
func New(c Config) (*Handler, error) {
	h := &Handler{files: map[string]*file{}, csp: policy(c.SIPWSURL)}
	err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		f := &file{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: mime.TypeByExtension(path.Ext(p))}
		if f.ctype == "" {
			f.ctype = "text/plain; charset=utf-8"
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		if buf.Len() < len(b) {
			f.gz = buf.Bytes()
		}
		h.files[strings.TrimPrefix(p, "dist/")] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	if h.files["index.html"] == nil {
		return nil, fmt.Errorf("web: index.html is not embedded (run go generate ./web)")
	}
	return h, nil
}

// policy is the Content-Security-Policy of every response: nothing inline,
// no eval, nothing from another origin but the SIP server's WebSocket.
func policy(sipWSURL string) string {
	connect := "'self'"
	if u, err := url.Parse(sipWSURL); err == nil && (u.Scheme == "ws" || u.Scheme == "wss") && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"media-src 'self'; manifest-src 'self'; connect-src " + connect + "; base-uri 'none'; form-action 'none'; " +
		"frame-ancestors 'none'"
}

// ServeHTTP answers GET and HEAD of / and of /web/{file}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := "index.html"
	if r.URL.Path != "/" {
		name = strings.TrimPrefix(r.URL.Path, Prefix)
	}
	f := h.files[name]
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
	if f == nil {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	// Revalidated every time: an upgraded server never leaves a page on
	// last version's modules, and an unchanged file costs a 304.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	hd.Set("Content-Type", f.ctype)
	body := f.body
	if f.gz != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			// Each encoding is its own representation, with its own tag.
			hd.Set("Content-Encoding", "gzip")
			hd.Set("ETag", strings.TrimSuffix(f.etag, `"`)+`-gz"`)
			body = f.gz
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
