package intercom

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Events sent to an intercom's control URL.
const (
	ControlDoorOpen     = "door.open"
	ControlCallAnswered = "call.answered"
	ControlCallMissed   = "call.missed"
	ControlCallEnded    = "call.ended"
)

// Controller sends commands and call events to intercoms' control URLs.
type Controller interface {
	// Send posts event with fields to the intercom's control URL, signed
	// with its key, and says how it went.
	Send(ctx context.Context, ic Intercom, event string, fields map[string]any) ControlResult
	// Redirects reports whether a control URL answers with a redirect (an
	// unreachable one does not).
	Redirects(ctx context.Context, url string) bool
	// CheckURL says why a control URL is refused — its host is, or resolves
	// to, an address ControlAddrProblem refuses — or "" when it is not. A
	// name that does not resolve is not refused: every send checks the
	// address it dials again.
	CheckURL(ctx context.Context, url string) string
}

// Addresses no control URL may reach (API.md §6): they are intercomd's own
// host or its cloud's metadata service, not an intercom.
var (
	metadataAddrs = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack…
		netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	}
	metadataNames = []string{"metadata.google.internal", "metadata"}
	thisNetwork   = netip.MustParsePrefix("0.0.0.0/8") // "this host": dialing it reaches the local host
)

// ControlAddrProblem says why a control URL may not reach ip, or "" when it
// may: loopback (unless allowLoopback, for development and tests),
// unspecified, link-local (169.254.0.0/16, fe80::/10), multicast and cloud
// metadata addresses are refused; private ranges (10/8, 172.16/12,
// 192.168/16, fc00::/7 but the metadata address) are where intercoms live,
// and allowed.
func ControlAddrProblem(ip netip.Addr, allowLoopback bool) string {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	switch {
	case !ip.IsValid():
		return "is not an IP address"
	case slices.Contains(metadataAddrs, ip.WithZone("")):
		return "is a cloud metadata address"
	case ip.IsLoopback():
		if allowLoopback {
			return ""
		}
		return "is a loopback address"
	case ip.IsUnspecified(), thisNetwork.Contains(ip):
		return "is an unspecified address"
	case ip.IsLinkLocalUnicast():
		return "is a link-local address"
	case ip.IsMulticast(), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "is a multicast or broadcast address"
	}
	return ""
}

// ControlHostProblem is ControlAddrProblem for the host of a control URL:
// an IP address is judged as such, a name only by itself (the cloud's
// metadata service is refused by name; what a name resolves to is judged
// where it is resolved).
func ControlHostProblem(host string, allowLoopback bool) string {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ControlAddrProblem(ip, allowLoopback)
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, m := range metadataNames {
		if name == m {
			return "is a cloud metadata address"
		}
	}
	return ""
}

// ControlResult is how one POST to a control URL went.
type ControlResult struct {
	OK       bool
	Status   int    // the intercom's HTTP status, 0 when none came
	Error    string // why it failed
	TimedOut bool   // the intercom did not answer in time
}

// ControlEntry is the record of one POST to a control URL.
type ControlEntry struct {
	ID         int64
	IntercomID int64
	Event      string
	CallID     *int64
	UserID     *int64
	Device     string // the X-UUID that asked, for door.open
	At         time.Time
	Result     ControlResult
}
