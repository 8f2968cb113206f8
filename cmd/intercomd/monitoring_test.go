package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v4"

	"intercom"
	intercomnode "intercom/node"
)

// TestPrometheusRules: every alert of deploy/prometheus/intercomd-rules.yml
// names metrics a running node exports, with labels they carry and values
// they can take, so that the rules cannot drift from the code.
func TestPrometheusRules(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "prometheus", "intercomd-rules.yml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	exported := exportedMetrics(t)
	var alerts []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: want a severity, a summary and a description", r.Alert)
			}
			checkExpr(t, "alert "+r.Alert, r.Expr, exported)
		}
	}
	// What the README's production section promises to alert on.
	for _, want := range []string{"IntercomdNodeDown", "IntercomdDatabaseUnready", "IntercomWentOffline", "IntercomsOffline", "IntercomdPushCredentialsRefused",
		"IntercomdPushFailures", "IntercomdRingsNeverSeen", "IntercomdHTTPErrors", "IntercomdSIPAPIErrors"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("%s has no alert %s", path, want)
		}
	}
}

// TestPrometheusRulesPromtool: Prometheus's own checker accepts the rules
// file (PromQL, templates, durations).
func TestPrometheusRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		msg := "promtool is not installed: this test runs `promtool check rules` on deploy/prometheus/intercomd-rules.yml (Debian's prometheus package; .ci/run installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	path := filepath.Join("..", "..", "deploy", "prometheus", "intercomd-rules.yml")
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules %s: %v\n%s", path, err, out)
	}
}

// TestGrafanaDashboard: deploy/grafana/intercomd.json is a dashboard whose
// every query names metrics a running node exports, as TestPrometheusRules
// holds the alerts to.
func TestGrafanaDashboard(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "grafana", "intercomd.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string
		Type    string
		Targets []struct{ Expr string }
	}
	var dash struct {
		Title  string
		UID    string
		Panels []panel
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Errorf("%s: want a title and a uid", path)
	}
	exported := exportedMetrics(t)
	queries := 0
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			checkExpr(t, "panel "+strconv.Quote(p.Title), q.Expr, exported)
		}
	}
	if queries == 0 {
		t.Errorf("%s: no queries", path)
	}
}

// prometheusSeries are the metrics Prometheus adds to every scrape itself,
// with their labels.
var prometheusSeries = map[string][]string{"up": {"job", "instance"}}

// knownValues are the values the code gives the labels the rules match on
// by value (route and status are checked otherwise).
var knownValues = map[string][]string{
	"outcome": {intercom.SendSent, intercom.SendDeadToken, intercom.SendCredentials, intercom.SendFailed, intercom.SendTimedOut, intercom.SendObsolete},
	"to":      {"online", "offline"},
	"seen":    {"true", "false"},
	"job":     {"intercomd"}, // the scrape job the rules file asks for
}

var (
	// selectorRE is a metric name with its label matchers, if any; names of
	// functions and keywords are told apart by what follows them.
	selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	// groupingRE is a by/without/on/ignoring clause's label list.
	groupingRE = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	// rangeRE is a range or subquery's duration, [5m] or [1h:5m].
	rangeRE = regexp.MustCompile(`\[\s*\d+[smhdwy]\s*(:\s*(\d+[smhdwy])?\s*)?\]`)
)

// promQLWords are the functions, aggregations and keywords the rules and the
// dashboard may use: every other word of an expression must be a metric.
var promQLWords = []string{"sum", "rate", "increase", "histogram_quantile", "and", "or", "unless", "by", "without",
	"on", "ignoring", "group_left", "group_right", "max", "min", "avg", "count", "bool", "offset"}

// checkExpr fails t unless every metric expr selects is in exported, each
// label it matches or groups by is one of that metric's, and each value it
// matches is one the label takes.
func checkExpr(t *testing.T, what, expr string, exported map[string][]*dto.Metric) {
	t.Helper()
	if strings.TrimSpace(expr) == "" {
		t.Errorf("%s: empty expression", what)
		return
	}
	// Labels grouped by must belong to some metric of the expression.
	var grouped []string
	for _, m := range groupingRE.FindAllStringSubmatch(expr, -1) {
		for l := range strings.SplitSeq(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				grouped = append(grouped, l)
			}
		}
	}
	bare := groupingRE.ReplaceAllString(rangeRE.ReplaceAllString(expr, ""), " $1 ")
	var metrics []string
	for _, m := range selectorRE.FindAllStringSubmatchIndex(bare, -1) {
		name := bare[m[2]:m[3]]
		if m[0] > 0 && (bare[m[0]-1] >= '0' && bare[m[0]-1] <= '9' || bare[m[0]-1] == '.') {
			continue // part of a number such as 0.95 or 1e3
		}
		if slices.Contains(promQLWords, name) {
			continue
		}
		rest := strings.TrimLeft(bare[m[1]:], " \t\n")
		if m[4] < 0 && strings.HasPrefix(rest, "(") {
			t.Errorf("%s: unknown function %s (add it to promQLWords if it is PromQL's)", what, name)
			continue
		}
		labels, series := metricLabels(name, exported)
		if series == nil {
			t.Errorf("%s: %s is not a metric a node exports", what, name)
			continue
		}
		metrics = append(metrics, name)
		if m[4] < 0 {
			continue
		}
		for _, mm := range matcherRE.FindAllStringSubmatch(bare[m[4]:m[5]], -1) {
			label, op, value := mm[1], mm[2], mm[3]
			if !slices.Contains(labels, label) {
				t.Errorf("%s: %s has no label %s (it has %v)", what, name, label, labels)
				continue
			}
			checkMatcher(t, what, name, label, op, value, series)
		}
	}
	if len(metrics) == 0 {
		t.Errorf("%s: %q selects no metric", what, expr)
	}
	for _, l := range grouped {
		if !slices.ContainsFunc(metrics, func(name string) bool {
			labels, _ := metricLabels(name, exported)
			return slices.Contains(labels, l)
		}) {
			t.Errorf("%s: groups by %s, a label none of %v has", what, l, metrics)
		}
	}
}

// metricLabels is the labels of the series name (a family, or a histogram's
// _bucket, _sum or _count), and the family's series; nil series when the
// node exports no such metric.
func metricLabels(name string, exported map[string][]*dto.Metric) ([]string, []*dto.Metric) {
	if labels, ok := prometheusSeries[name]; ok {
		return labels, []*dto.Metric{}
	}
	family, extra := name, []string{}
	if _, ok := exported[name]; !ok {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if f, ok := strings.CutSuffix(name, suffix); ok && exported[f] != nil {
				family = f
				if suffix == "_bucket" {
					extra = []string{"le"}
				}
			}
		}
	}
	series := exported[family]
	if series == nil {
		return nil, nil
	}
	// Prometheus adds job and instance to every scraped series.
	labels := append([]string{"job", "instance"}, extra...)
	for _, s := range series {
		for _, l := range s.GetLabel() {
			if !slices.Contains(labels, l.GetName()) {
				labels = append(labels, l.GetName())
			}
		}
	}
	return labels, series
}

// checkMatcher fails t unless label op value can match what the code
// exports: a value of knownValues, a route the node served, a status HTTP
// has.
func checkMatcher(t *testing.T, what, metric, label, op, value string, series []*dto.Metric) {
	t.Helper()
	var candidates []string
	switch label {
	case "route":
		for _, s := range series {
			for _, l := range s.GetLabel() {
				if l.GetName() == "route" {
					candidates = append(candidates, l.GetValue())
				}
			}
		}
	case "status":
		for code := 100; code < 600; code++ {
			candidates = append(candidates, strconv.Itoa(code))
		}
	default:
		known, ok := knownValues[label]
		if !ok {
			t.Errorf("%s: %s matches %s by value, which this test does not know: add its values to knownValues", what, metric, label)
			return
		}
		candidates = known
	}
	match := func(v string) bool { return v == value }
	if op == "=~" || op == "!~" {
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			t.Errorf("%s: %s%s%q: %v", what, label, op, value, err)
			return
		}
		match = re.MatchString
	}
	if op == "=" || op == "=~" {
		if !slices.ContainsFunc(candidates, match) {
			t.Errorf("%s: %s{%s%s%q} matches none of the values the code gives it: %v", what, metric, label, op, value, candidates)
		}
	} else if slices.IndexFunc(candidates, func(v string) bool { return !match(v) }) < 0 {
		t.Errorf("%s: %s{%s%s%q} leaves none of the values the code gives it: %v", what, metric, label, op, value, candidates)
	}
}

// rulesProvider is a push provider that takes every push.
type rulesProvider struct{}

func (rulesProvider) Channel() string { return intercom.ChannelFCM }
func (rulesProvider) Send(ctx context.Context, m intercom.PushMessage) intercom.PushResult {
	return intercom.PushResult{Outcome: intercom.SendSent, Status: 200, ID: "projects/test/messages/1"}
}

// exportedMetrics runs a node (as run assembles it) behind a test server,
// makes it do what each metric counts — requests on every API, a heartbeat,
// a ring pushed to a phone and ended — and returns what its /metrics shows,
// by family.
func exportedMetrics(t *testing.T) map[string][]*dto.Metric {
	t.Helper()
	ctx := t.Context()
	db, err := openStore(ctx, filepath.Join(t.TempDir(), "metrics.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const adminToken, sipToken = "metrics-test-admin-token-0123456789", "metrics-test-sip-api-token"
	n := intercomnode.New(intercomnode.Config{Store: db, AdminToken: adminToken, SIPAPIToken: sipToken,
		PushProviders: []intercom.PushProvider{rulesProvider{}}, PublicURL: "http://intercom.example"})
	srv := httptest.NewServer(n)
	t.Cleanup(func() { srv.Close(); n.Close() })
	if err := n.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body string, headers map[string]string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, want)
		}
		var v map[string]any
		json.Unmarshal(b, &v)
		return v
	}
	admin := map[string]string{"Authorization": "Bearer " + adminToken}
	user := do("POST", "/api/admin/v1/users", `{"login":"metrics","password":"metrics-password"}`, admin, 201)
	ic := do("POST", "/api/admin/v1/intercoms", `{"address":"Gate 1"}`, admin, 201)
	do("POST", "/api/admin/v1/intercoms", `{"address":"Gate 2, never heard from"}`, admin, 201)
	do("PUT", fmt.Sprintf("/api/admin/v1/intercoms/%v/members/%v", ic["id"], user["id"]), `{"title":"Gate","status":"confirmed"}`, admin, 200)
	phone := map[string]string{"X-Client": "android", "X-UUID": "metrics-android"}
	login := do("POST", "/api/v1/token", `{"login":"metrics","password":"metrics-password"}`, phone, 200)
	phone["Authorization"] = "Bearer " + login["access_token"].(string)
	do("PUT", "/api/v1/devices", `{"fcm_token":"metrics-fcm-token"}`, phone, 204)
	panel := map[string]string{"Authorization": "Bearer " + ic["secret"].(string)}
	do("POST", "/api/hw/v1/heartbeat", `{}`, panel, 204)
	rung := do("POST", "/api/hw/v1/ring", `{}`, panel, 201)
	n.Wait() // the ring's push is sent
	do("POST", fmt.Sprintf("/api/hw/v1/calls/%v/end", rung["call_id"]), `{}`, panel, 204)
	n.Wait()
	do("GET", "/api/sip/v1/calls/2999999999", "", map[string]string{"Authorization": "Bearer " + sipToken}, 404)

	res, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	exported := map[string][]*dto.Metric{}
	for name, f := range families {
		exported[name] = f.GetMetric()
	}
	for _, want := range []string{"intercomd_push_sends_total", "intercomd_ring_pushes_total", "intercomd_rings_total",
		"intercomd_intercom_status_changes_total", "intercomd_intercoms_online", "intercomd_intercoms_offline", "intercomd_ready",
		"intercomd_http_requests_total"} {
		if exported[want] == nil {
			t.Fatalf("the node exports no %s after a ring pushed and ended", want)
		}
	}
	// The gauges count what the database holds: Gate 1 beat, Gate 2 never.
	for _, g := range []struct {
		name string
		want float64
	}{{"intercomd_intercoms_online", 1}, {"intercomd_intercoms_offline", 1}, {"intercomd_ready", 1}} {
		if got := exported[g.name][0].GetGauge().GetValue(); got != g.want {
			t.Errorf("%s %v, want %v", g.name, got, g.want)
		}
	}
	return exported
}
