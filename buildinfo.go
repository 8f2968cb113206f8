package intercom

import (
	"runtime"
	"runtime/debug"
)

// Build is what a binary knows of its own build: the module version, the
// VCS revision it was built from and the Go release that built it.
type Build struct {
	Version   string // "(devel)" for a build from a work tree
	Revision  string // the commit, with "-modified" when the tree had changes; "unknown" without VCS data
	GoVersion string
}

// ReadBuild reads the running binary's Build from its embedded build information.
func ReadBuild() Build {
	b := Build{Version: "unknown", Revision: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Revision != "unknown" {
		b.Revision += "-modified"
	}
	return b
}
