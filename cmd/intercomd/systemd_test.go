package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSystemdUnit holds deploy/systemd to what the README's "Running it in
// production" says of it: the unit runs serve with the environment file and
// keeps its hardening, and every INTERCOMD_* variable the example file
// names (set or commented out) is one serve takes, so that copying a line
// never stops a node at start.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", "intercomd.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStart=/usr/local/bin/intercomd serve", "EnvironmentFile=/etc/intercomd/intercomd.env",
		"DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"PrivateDevices=yes", "CapabilityBoundingSet=", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "RestrictNamespaces=yes",
		"ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectControlGroups=yes", "UMask=0077",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).Match(unit) {
			t.Errorf("deploy/systemd/intercomd.service lacks %q", want)
		}
	}

	env, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", "intercomd.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	var c config
	fs := serveFlags(&c, io.Discard)
	known := map[string]bool{}
	var set []string
	for _, m := range regexp.MustCompile(`(?m)^#?\s*(INTERCOMD_[A-Z0-9_]+)=`).FindAllSubmatch(env, -1) {
		name := string(m[1])
		known[name] = true
		if !strings.HasPrefix(string(m[0]), "#") {
			set = append(set, name)
		}
	}
	if err := checkVariables(fs, mapOf(known)); err != nil {
		t.Errorf("deploy/systemd/intercomd.env.example: %v", err)
	}
	for _, want := range []string{"INTERCOMD_ADDR", "INTERCOMD_ADMIN_ADDR", "INTERCOMD_METRICS_ADDR", "INTERCOMD_DB",
		"INTERCOMD_PUBLIC_URL", "INTERCOMD_REAL_IP_HEADER"} {
		if !slices.Contains(set, want) {
			t.Errorf("deploy/systemd/intercomd.env.example does not set %s", want)
		}
	}
}

// mapOf is names as an environment, each set to "x".
func mapOf(names map[string]bool) map[string]string {
	env := map[string]string{}
	for n := range names {
		env[n] = "x"
	}
	return env
}
