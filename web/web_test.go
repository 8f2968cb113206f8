package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"intercom/web/bundle"
)

// TestDistIsFresh rebuilds web/dist from web/src and fails when the
// committed files differ: run `go generate ./web` after changing src.
func TestDistIsFresh(t *testing.T) {
	nodeModules := filepath.Join("..", "e2e", "node_modules")
	if _, err := os.Stat(filepath.Join(nodeModules, "sip.js")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("e2e/node_modules is missing: this test bundles the web app's npm packages (.ci/run runs npm ci)")
		}
		t.Skip("skipped: e2e/node_modules is missing (run `npm ci` in e2e/)")
	}
	want, err := bundle.Build("src", nodeModules)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	err = fs.WalkDir(os.DirFS("dist"), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			have = append(have, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range have {
		b, _ := os.ReadFile(filepath.Join("dist", name))
		w, ok := want[name]
		switch {
		case !ok:
			t.Errorf("web/dist/%s is not built from web/src any more: run go generate ./web", name)
		case !bytes.Equal(b, w):
			t.Errorf("web/dist/%s is stale: run go generate ./web", name)
		}
	}
	for name := range want {
		if !slices.Contains(have, name) {
			t.Errorf("web/dist/%s is missing: run go generate ./web", name)
		}
	}
}

func newHandler(t *testing.T, sipURL string) *Handler {
	t.Helper()
	h, err := New(Config{SIPWSURL: sipURL})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestContentSecurityPolicy(t *testing.T) {
	for _, tc := range []struct{ sip, connect string }{
		{"wss://sip.example.com:7443/sip", "connect-src 'self' wss://sip.example.com:7443;"},
		{"ws://127.0.0.1:5066/sip", "connect-src 'self' ws://127.0.0.1:5066;"},
		{"", "connect-src 'self';"},
		{"https://sip.example.com/sip", "connect-src 'self';"}, // not a WebSocket URL: nothing more allowed
		{"wss://a.example; script-src *", "connect-src 'self';"},
	} {
		w := get(newHandler(t, tc.sip), "/")
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, tc.connect) {
			t.Errorf("SIP URL %q: policy %q, want %q", tc.sip, csp, tc.connect)
		}
		for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*"} {
			if strings.Contains(csp, bad) {
				t.Errorf("SIP URL %q: policy %q allows %s", tc.sip, csp, bad)
			}
		}
		if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("policy %q: scripts must come from intercomd alone", csp)
		}
	}
}

// TestNoInlineScriptOrStyle: the page works under its policy only if
// nothing in it is inline.
func TestNoInlineScriptOrStyle(t *testing.T) {
	page := get(newHandler(t, ""), "/").Body.String()
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) || strings.Contains(page, "<style") ||
		strings.Contains(page, " style=") || regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Errorf("index.html has inline script, style or handlers:\n%s", page)
	}
	src, err := os.ReadFile(filepath.Join("src", "dom.js"))
	if err != nil {
		t.Fatal(err)
	}
	// Text goes in as text: no HTML parsing of what the API returned.
	for _, dir := range []string{"src", filepath.Join("src", "views")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			if regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function`).Match(b) {
				t.Errorf("%s/%s parses HTML or code from strings", dir, e.Name())
			}
		}
	}
	if !bytes.Contains(src, []byte("createTextNode")) {
		t.Error("dom.js no longer builds text as text nodes")
	}
}

// TestPageFilesAreServed: every file index.html names, and every module
// the entry imports, is served.
func TestPageFilesAreServed(t *testing.T) {
	h := newHandler(t, "")
	page := get(h, "/").Body.String()
	refs := regexp.MustCompile(`(?:src|href)="(/web/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html names %d files, want the script, the style sheet and the icon", len(refs))
	}
	for _, m := range refs {
		if w := get(h, m[1]); w.Code != 200 {
			t.Errorf("%s: %d", m[1], w.Code)
		}
	}
	main := get(h, "/web/main.js").Body.String()
	for _, m := range regexp.MustCompile(`"\./(chunk-[A-Z0-9]+\.js)"`).FindAllStringSubmatch(main, -1) {
		if w := get(h, "/web/"+m[1]); w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
			t.Errorf("/web/%s: %d %s", m[1], w.Code, w.Header().Get("Content-Type"))
		}
	}
}

func TestCompressionAndRevalidation(t *testing.T) {
	h := newHandler(t, "")
	plain := get(h, "/web/main.js")
	zipped := get(h, "/web/main.js", "Accept-Encoding", "br, gzip;q=0.8")
	if plain.Code != 200 || zipped.Code != 200 || zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("main.js: %d / %d %q", plain.Code, zipped.Code, zipped.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Error("the gzip form of main.js is not main.js")
	}
	if zipped.Body.Len() >= plain.Body.Len()/2 {
		t.Errorf("gzip %d bytes of %d", zipped.Body.Len(), plain.Body.Len())
	}
	if get(h, "/web/main.js", "Accept-Encoding", "gzip;q=0").Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
	if plain.Header().Get("ETag") == zipped.Header().Get("ETag") {
		t.Error("both encodings carry one ETag")
	}
	for _, w := range []*httptest.ResponseRecorder{plain, zipped} {
		again := get(h, "/web/main.js", "If-None-Match", w.Header().Get("ETag"), "Accept-Encoding", w.Header().Get("Content-Encoding"))
		if again.Code != http.StatusNotModified {
			t.Errorf("If-None-Match %s: %d, want 304", w.Header().Get("ETag"), again.Code)
		}
	}
	if cc := plain.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q", cc)
	}
}

func TestUnknownFilesAreNotFound(t *testing.T) {
	h := newHandler(t, "")
	for _, p := range []string{"/web/nope.js", "/web/", "/web/../go.mod", "/web/%2e%2e/web.go", "/web/src/main.js"} {
		w := get(h, p)
		if w.Code != http.StatusNotFound || w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d (CSP %q), want 404 with the policy", p, w.Code, w.Header().Get("Content-Security-Policy"))
		}
	}
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "br, gzip;q=0.5", "GZIP", "identity", "", "gzip;q=0.000", ",,;;", "x-gzip"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := acceptsGzip(header)
		if got && !strings.Contains(strings.ToLower(header), "gzip") {
			t.Errorf("%q: gzip without gzip", header)
		}
	})
}
