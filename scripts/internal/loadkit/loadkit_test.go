package loadkit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

// TestStatCPUTime: the CPU time of a process is read from its stat line,
// whatever its command's name holds; a line that gives none reads as 0.
func TestStatCPUTime(t *testing.T) {
	// The fields a stat line has after the kernel's 22nd (rss), all 0.
	rest := strings.Repeat(" 0", 30)
	for i, c := range []struct {
		name, stat string
		want       time.Duration
	}{
		// utime 150 and stime 25 ticks: 1.75 s.
		{"a process", "4242 (intercomd) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 25 0 0 20 0 9 0 123 456 789" + rest, 1750 * time.Millisecond},
		{"a name with spaces and parentheses", "7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 6 7" + rest, 70 * time.Millisecond},
		{"too few fields", "7 (short) R 1 7 7", 0},
		{"no name", "no parenthesis 1 2 3 4 5 6 7 8 9 10 11 12 13 14", 0},
		{"a time not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 many 4 0" + rest, 0},
		{"empty", "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			pid := 100 + i
			if err := os.Mkdir(filepath.Join(dir, strconv.Itoa(pid)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(pid), "stat"), []byte(c.stat+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			fs, err := procfs.NewFS(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := cpuTime(fs, pid); got != c.want {
				t.Errorf("CPU time of %q = %v, want %v", c.stat, got, c.want)
			}
		})
	}
}

// CPUTime reads this very process's CPU time as the kernel counts it:
// after spinning for 200 ms of CPU, at least 100 ms more, and no more than
// getrusage says (both count the same ticks; /proc rounds down).
func TestCPUTimeOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	before := CPUTime(os.Getpid())
	start := SelfCPUTime()
	if start == 0 {
		t.Fatal("getrusage gave no CPU time")
	}
	for SelfCPUTime()-start < 200*time.Millisecond {
	}
	after := CPUTime(os.Getpid())
	if after-before < 100*time.Millisecond {
		t.Errorf("CPUTime rose by %v over 200 ms of spinning", after-before)
	}
	if self := SelfCPUTime(); after > self+20*time.Millisecond {
		t.Errorf("CPUTime %v, beyond getrusage's %v", after, self)
	}
	if m := MachineCPUTime(); m < after {
		t.Errorf("the machine's busy time %v, below this process's %v", m, after)
	}
	if got := Cmdline(os.Getpid()); !strings.HasPrefix(got, os.Args[0]) {
		t.Errorf("Cmdline of this process %q, want it to start with %q", got, os.Args[0])
	}
	if Cmdline(-1) != "" {
		t.Error("Cmdline of no process is not empty")
	}
	if CPUTime(-1) != 0 {
		t.Error("CPUTime of no process is not 0")
	}
}
