package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom/postgres"
	"intercom/postgres/pgtest"
	"intercom/scripts/citygen/city"
)

// TestExplainHotPaths loads a city of 20,000 flats (scripts/citygen) and
// runs the store calls of every hot path on it (city.HotPaths) twice,
// recording each statement the pool sends with its arguments. Each is EXPLAINed twice
// as a prepared statement with those arguments: the plan the planner makes
// for them (a cached statement's first five runs) and its generic plan (the
// runs after, when it is cheaper). No plan may read a large table whole:
// neither a sequential scan nor an index scan without a condition.
func TestExplainHotPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 20,000 flats")
	}
	ctx := t.Context()
	url := pgtest.Schema(t)
	now := time.Now().UTC().Truncate(24 * time.Hour)
	res, err := city.Load(ctx, url, city.Config{Flats: 20_000, Seed: 1, CallsPerFlatWeek: 0.5, Weeks: 52, Now: now}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sent []sentStatement
	db, err := postgres.OpenTracing(ctx, url, func(sql string, args []any) {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, sentStatement{sql, slices.Clone(args)})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	for _, hp := range city.HotPaths(db, res.Samples[1], now.Add(time.Hour)) {
		t.Run(hp.Name, func(t *testing.T) {
			mu.Lock()
			sent = nil
			mu.Unlock()
			// Twice: a path may send other statements once its engine
			// cached something (a roster, then only what changed since).
			for range 2 {
				if err := hp.Run(ctx); err != nil {
					t.Fatal(err)
				}
			}
			mu.Lock()
			got := sent
			mu.Unlock()
			explained := 0
			seen := map[string]bool{}
			for _, st := range got {
				if !explainable(st.sql) || seen[st.sql] {
					continue
				}
				seen[st.sql] = true
				explained++
				for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
					plan, err := explainPlan(ctx, conn, st, mode, "JSON")
					if err != nil {
						t.Fatalf("EXPLAIN %s: %v", st.sql, err)
					}
					if bad := fullScans(t, plan); len(bad) > 0 {
						text, _ := explainPlan(ctx, conn, st, mode, "TEXT")
						t.Errorf("%s (%s) reads %s whole:\n%s\n%s", hp.Name, mode, strings.Join(bad, ", "), st.sql, text)
					}
				}
			}
			if explained == 0 {
				t.Fatalf("%s sent no statement to explain (%d sent)", hp.Name, len(got))
			}
			t.Logf("%d statements explained of %d sent", explained, len(got))
		})
	}
}

type sentStatement struct {
	sql  string
	args []any
}

// explainable tells a statement EXPLAIN takes from one it does not (BEGIN,
// COMMIT, SET, LOCK, …).
func explainable(sql string) bool {
	f := strings.Fields(sql)
	if len(f) == 0 {
		return false
	}
	switch strings.ToUpper(f[0]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES":
		return true
	}
	return false
}

// explainPlan prepares st and EXPLAINs its execution with st's arguments
// under plan_cache_mode mode, in format (JSON or TEXT).
func explainPlan(ctx context.Context, conn *pgx.Conn, st sentStatement, mode, format string) (string, error) {
	sd, err := conn.Prepare(ctx, "hot_path", st.sql)
	if err != nil {
		return "", err
	}
	defer conn.Deallocate(context.WithoutCancel(ctx), "hot_path")
	params := make([]string, len(sd.ParamOIDs))
	for i, oid := range sd.ParamOIDs {
		var typ string
		if err := conn.QueryRow(ctx, `SELECT format_type($1, NULL)`, oid).Scan(&typ); err != nil {
			return "", err
		}
		params[i] = fmt.Sprintf("$%d::%s", i+1, typ)
	}
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = `+mode); err != nil {
		return "", err
	}
	q := `EXPLAIN (FORMAT ` + format + `) EXECUTE hot_path`
	if len(params) > 0 {
		q += `(` + strings.Join(params, ", ") + `)`
	}
	// The arguments are written into the statement (the simple protocol), as
	// EXECUTE takes them.
	rows, err := conn.Query(ctx, q, append([]any{pgx.QueryExecModeSimpleProtocol}, st.args...)...)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// fullScans are the large tables a JSON plan reads whole.
func fullScans(t *testing.T, plan string) []string {
	t.Helper()
	var doc []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(plan), &doc); err != nil {
		t.Fatalf("reading the plan: %v\n%s", err, plan)
	}
	var bad []string
	var walk func(n planNode)
	walk = func(n planNode) {
		if slices.Contains(city.LargeTables, n.Relation) {
			switch {
			case strings.HasSuffix(n.Type, "Seq Scan"):
				bad = append(bad, n.Type+" on "+n.Relation)
			case (n.Type == "Index Scan" || n.Type == "Index Only Scan") && n.IndexCond == "":
				bad = append(bad, n.Type+" using "+n.Index+" on "+n.Relation+" without a condition")
			}
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	for _, d := range doc {
		walk(d.Plan)
	}
	return bad
}

type planNode struct {
	Type      string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	Index     string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Plans     []planNode `json:"Plans"`
}
