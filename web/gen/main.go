// Command gen writes web/dist from web/src (package bundle); `go generate
// ./web` runs it from web/.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"intercom/web/bundle"
)

func main() {
	files, err := bundle.Build("src", filepath.Join("..", "e2e", "node_modules"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "web/gen:", err)
		os.Exit(1)
	}
	if err := os.RemoveAll("dist"); err != nil {
		fmt.Fprintln(os.Stderr, "web/gen:", err)
		os.Exit(1)
	}
	for name, b := range files {
		path := filepath.Join("dist", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "web/gen:", err)
			os.Exit(1)
		}
	}
}
