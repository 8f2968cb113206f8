package postgres

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A notification of changes stays under NOTIFY's 8000 bytes whatever the
// ids (an admin may choose 19-digit ones), and loses none of them.
func TestSplitFitsNotify(t *testing.T) {
	ch := change{Node: "n0123456789abcde"}
	for i := range int64(1000) {
		big := int64(1e18) + i
		ch.Users = append(ch.Users, big)
		ch.Sessions = append(ch.Sessions, big+5000)
		ch.Intercoms = append(ch.Intercoms, big+9000)
	}
	var got change
	for _, part := range split(ch) {
		payload, err := json.Marshal(part)
		if err != nil {
			t.Fatal(err)
		}
		if len(payload) >= 8000 {
			t.Fatalf("a notification of %d bytes, NOTIFY takes under 8000", len(payload))
		}
		for _, p := range part {
			got.merge(p)
		}
	}
	for _, l := range [][2][]int64{{got.Users, ch.Users}, {got.Sessions, ch.Sessions}, {got.Intercoms, ch.Intercoms}} {
		if !slices.Equal(slices.Sorted(slices.Values(l[0])), l[1]) {
			t.Fatalf("split lost or added ids: %d sent, %d in the parts", len(l[1]), len(l[0]))
		}
	}
}

// A schema's channel is a name PostgreSQL keeps whole (63 bytes at most),
// and two long schemas get two channels.
func TestChannelOf(t *testing.T) {
	if got := channelOf("public"); got != changeChannel+"public" {
		t.Errorf("channelOf(public) = %q", got)
	}
	long1, long2 := strings.Repeat("s", 52)+"1", strings.Repeat("s", 52)+"2"
	c1, c2 := channelOf(long1), channelOf(long2)
	if len(c1) > 63 || len(c2) > 63 || c1 == c2 {
		t.Errorf("channelOf of two long schemas = %q, %q: want two names of at most 63 bytes", c1, c2)
	}
}
