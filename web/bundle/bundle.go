// Package bundle builds the web app's served files (web/dist) from its
// sources (web/src) with esbuild: the app's ES modules and the npm packages
// they import (pusher-js, sip.js, from e2e/node_modules) become one module
// for the first screen and chunks loaded when needed (the call's SIP stack),
// minified. `go generate ./web` writes them; web's tests rebuild them and
// fail when the committed files are stale.
package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Build returns the files of web/dist, by name relative to it, built from
// src (web/src) with the npm packages under nodeModules.
func Build(src, nodeModules string) (map[string][]byte, error) {
	if _, err := os.Stat(filepath.Join(nodeModules, "sip.js")); err != nil {
		return nil, fmt.Errorf("the web app's npm packages are missing (run `npm ci` in e2e/): %w", err)
	}
	src, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	nodeModules, err = filepath.Abs(nodeModules)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(src, "..", "dist")
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{filepath.Join(src, "main.js"), filepath.Join(src, "app.css")},
		Bundle:            true,
		Splitting:         true,
		Format:            api.FormatESModule,
		Target:            api.ES2020,
		Platform:          api.PlatformBrowser,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsLinked,
		Charset:           api.CharsetUTF8,
		EntryNames:        "[name]",
		ChunkNames:        "chunk-[hash]",
		NodePaths:         []string{nodeModules},
		Outdir:            out,
		Write:             false,
		LogLevel:          api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		var msgs []string
		for _, m := range api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage}) {
			msgs = append(msgs, m)
		}
		return nil, errors.New(strings.Join(msgs, "\n"))
	}
	files := map[string][]byte{}
	for _, f := range res.OutputFiles {
		rel, err := filepath.Rel(out, f.Path)
		if err != nil {
			return nil, err
		}
		files[filepath.ToSlash(rel)] = f.Contents
	}
	// index.html and the icon are served as written.
	for _, name := range []string{"index.html", "icon.svg"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	return files, nil
}
