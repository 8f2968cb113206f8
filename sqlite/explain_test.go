package sqlite_test

import (
	"database/sql"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"intercom/scripts/citygen/city"
	"intercom/sqlite"
)

// TestExplainHotPaths loads a city of 20,000 flats (scripts/citygen), runs
// the store calls of every hot path on it (city.HotPaths) twice, recording each
// statement the store runs with its arguments, and checks each one's
// EXPLAIN QUERY PLAN: no plan may read a large table whole — SCAN of a
// table, with an index or without (a full pass over an index reads as many
// rows). Plans are checked with the statistics ANALYZE gathered and again
// without any, as intercomd, which never runs ANALYZE, finds a database.
func TestExplainHotPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 20,000 flats")
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "city.db")
	now := time.Now().UTC().Truncate(24 * time.Hour)
	res, err := city.Load(ctx, path, city.Config{Flats: 20_000, Seed: 1, CallsPerFlatWeek: 0.25, Weeks: 52, Now: now}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	var ran []statement
	db.RecordQueries(func(q string, args []any) {
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, statement{q, slices.Clone(args)})
	})
	hot := city.HotPaths(db, res.Samples[1], now.Add(time.Hour))
	statements := make([][]statement, len(hot))
	for i, hp := range hot {
		mu.Lock()
		ran = nil
		mu.Unlock()
		// Twice: a path may run other statements once the store cached
		// something.
		for range 2 {
			if err := hp.Run(ctx); err != nil {
				t.Fatalf("%s: %v", hp.Name, err)
			}
		}
		mu.Lock()
		seen := map[string]bool{}
		for _, st := range ran {
			if !seen[st.query] {
				seen[st.query] = true
				statements[i] = append(statements[i], st)
			}
		}
		mu.Unlock()
	}

	// A connection of its own plans them: it may drop the statistics.
	plans, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer plans.Close()
	plans.SetMaxOpenConns(1)
	for _, stats := range []string{"with statistics", "without statistics"} {
		if stats == "without statistics" {
			// ANALYZE sqlite_schema reads the (now empty) statistics again.
			for _, q := range []string{`DELETE FROM sqlite_stat1`, `ANALYZE sqlite_schema`, `DELETE FROM sqlite_stat1`} {
				if _, err := plans.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
		for i, hp := range hot {
			t.Run(stats+"/"+hp.Name, func(t *testing.T) {
				if len(statements[i]) == 0 {
					t.Logf("served from the store's caches: no statement ran")
				}
				for _, st := range statements[i] {
					plan, err := queryPlan(plans, st.query, st.args)
					if err != nil {
						t.Fatalf("EXPLAIN QUERY PLAN %s: %v", st.query, err)
					}
					if bad := fullScans(plan, st.query); len(bad) > 0 {
						t.Errorf("%s reads %s whole:\n%s\n%s", hp.Name, strings.Join(bad, ", "), st.query, strings.Join(plan, "\n"))
					}
				}
				t.Logf("%d statements explained", len(statements[i]))
			})
		}
	}
}

type statement struct {
	query string
	args  []any
}

// queryPlan is the EXPLAIN QUERY PLAN of q run with args, a line per step.
func queryPlan(db *sql.DB, q string, args []any) ([]string, error) {
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		out = append(out, detail)
	}
	return out, rows.Err()
}

var (
	scan = regexp.MustCompile(`^SCAN (\w+)`)
	// named finds the tables a statement reads or writes and their aliases.
	named = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?`)
)

// notAliases are the words that may follow a table's name in a statement.
var notAliases = []string{"ON", "WHERE", "JOIN", "LEFT", "INNER", "CROSS", "NATURAL", "SET", "USING", "ORDER",
	"GROUP", "LIMIT", "VALUES", "SELECT", "DEFAULT", "INDEXED", "NOT", "RETURNING", "UNION", "EXCEPT", "INTERSECT", "WINDOW"}

// fullScans are the steps of q's plan that read a large table whole. A plan
// names a table by its alias in q when it has one.
func fullScans(plan []string, q string) []string {
	tables := map[string]string{}
	for _, m := range named.FindAllStringSubmatch(q, -1) {
		tables[m[1]] = m[1]
		if m[2] != "" && !slices.Contains(notAliases, strings.ToUpper(m[2])) {
			tables[m[2]] = m[1]
		}
	}
	var bad []string
	for _, step := range plan {
		m := scan.FindStringSubmatch(step)
		if m == nil || m[1] == "CONSTANT" {
			continue
		}
		table, ok := tables[m[1]]
		if !ok {
			table = m[1]
		}
		if slices.Contains(city.LargeTables, table) {
			bad = append(bad, step+" ("+table+")")
		}
	}
	return bad
}
