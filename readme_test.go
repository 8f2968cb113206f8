package intercom_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README is for operators and developers who know nothing of how the
// project was built: it starts with the two commands, then says what
// intercomd is; it links nothing outside the repository and speaks in no
// internal terms. .ci/run runs exactly its test command.
func TestREADME(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	const head = "# intercomd\n\n```sh\n" +
		"go run ./cmd/intercomd serve --demo            # run the service with demo data (embedded SQLite, 127.0.0.1:8080)\n" +
		testCommand + "  # run the tests\n```\n\n"
	if !strings.HasPrefix(readme, head) {
		t.Errorf("the README does not start with its two commands:\n%.400s", readme)
	}
	if rest := strings.TrimPrefix(readme, head); !strings.HasPrefix(rest, "intercomd is ") {
		t.Errorf("after the commands the README does not say what intercomd is: %.80q", rest)
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`\.\./`),                       // outside the repository: broken in any clone
		regexp.MustCompile(`(?i)\bthe seed\b|\bseed's\b`), // the project's internal name of its first request
		regexp.MustCompile(`(?i)\bissues? \d`),            // the project's internal tracker
		regexp.MustCompile(`(?i)\bshared/`),
	} {
		if m := bad.FindString(readme); m != "" {
			t.Errorf("the README says %q", m)
		}
	}
	ci, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	var tests []string
	for _, line := range strings.Split(string(ci), "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "go test") || strings.HasPrefix(l, "go tool gotestsum") {
			tests = append(tests, l)
		}
	}
	if len(tests) != 1 || tests[0] != testCommand {
		t.Errorf(".ci/run runs %q, want exactly the README's %s", tests, testCommand)
	}
}

// testCommand is the README's test command: go test through gotestsum,
// which ends with what was skipped and why.
const testCommand = "go tool gotestsum -- -race -timeout 30m ./..."
