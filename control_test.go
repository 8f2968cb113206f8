package intercom_test

import (
	"net/netip"
	"testing"

	"intercom"
)

func TestControlAddrProblem(t *testing.T) {
	for _, tc := range []struct {
		addr         string
		refused      bool // with loopback refused
		refusedLoose bool // with loopback allowed
	}{
		{"127.0.0.1", true, false},
		{"127.1.2.3", true, false},
		{"::1", true, false},
		{"::ffff:127.0.0.1", true, false},
		{"0.0.0.0", true, true},
		{"0.1.2.3", true, true},
		{"::", true, true},
		{"169.254.169.254", true, true},
		{"::ffff:169.254.169.254", true, true},
		{"169.254.1.1", true, true},
		{"fe80::1", true, true},
		{"fe80::1%eth0", true, true},
		{"fd00:ec2::254", true, true},
		{"224.0.0.1", true, true},
		{"ff02::1", true, true},
		{"255.255.255.255", true, true},
		{"10.0.0.1", false, false},
		{"172.16.5.4", false, false},
		{"172.31.255.255", false, false},
		{"192.168.0.10", false, false},
		{"fc00::1", false, false},
		{"fd00:ec2::253", false, false},
		{"203.0.113.7", false, false},
		{"2001:db8::1", false, false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.addr)
			if got := intercom.ControlAddrProblem(ip, false); (got != "") != tc.refused {
				t.Errorf("ControlAddrProblem(%s, false) = %q, want refused %v", tc.addr, got, tc.refused)
			}
			if got := intercom.ControlAddrProblem(ip, true); (got != "") != tc.refusedLoose {
				t.Errorf("ControlAddrProblem(%s, true) = %q, want refused %v", tc.addr, got, tc.refusedLoose)
			}
		})
	}
}

func TestControlHostProblem(t *testing.T) {
	for _, tc := range []struct {
		host    string
		refused bool
	}{
		{"metadata.google.internal", true},
		{"Metadata.Google.Internal.", true},
		{"metadata", true},
		{"169.254.169.254", true},
		{"127.0.0.1", true},
		{"panel.example", false},
		{"10.1.2.3", false},
	} {
		if got := intercom.ControlHostProblem(tc.host, false); (got != "") != tc.refused {
			t.Errorf("ControlHostProblem(%q) = %q, want refused %v", tc.host, got, tc.refused)
		}
	}
}
