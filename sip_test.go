package intercom

import "testing"

func TestCallNumbers(t *testing.T) {
	for range 1000 {
		if n := NewCallNumber(); !IsCallNumber(n) || n[0] < '2' {
			t.Fatalf("NewCallNumber() = %q", n)
		}
	}
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"2000000000", true}, {"9999999999", true}, {"1000000042", true},
		{"15", false}, {"99999", false}, {"0123456789", false}, {"200000000", false}, {"20000000000", false}, {"2000a00000", false},
	} {
		if got := IsCallNumber(tt.s); got != tt.want {
			t.Errorf("IsCallNumber(%q) = %v", tt.s, got)
		}
	}
}

func TestSIPUsername(t *testing.T) {
	for _, tt := range []struct {
		s  string
		id int64
		ok bool
	}{
		{"intercom180", 180, true}, {SIPUsername(7), 7, true},
		{"intercom", 0, false}, {"intercom0", 0, false}, {"intercom018", 0, false}, {"intercom-1", 0, false},
		{"180", 0, false}, {"Intercom180", 0, false}, {"intercom99999999999999999999", 0, false},
	} {
		id, ok := ParseSIPUsername(tt.s)
		if id != tt.id || ok != tt.ok {
			t.Errorf("ParseSIPUsername(%q) = %d, %v", tt.s, id, ok)
		}
	}
}
