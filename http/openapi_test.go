package http_test

import (
	"context"
	"sort"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	intercomhttp "intercom/http"
)

// Every operation of the OpenAPI document says what it is (summary), has a
// unique operationId, is tagged and states its security, empty for the public
// ones: what Redocly's recommended rules ask, which .ci/run also runs.
func TestOpenAPIOperationsAreDescribed(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(intercomhttp.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	public := map[string]bool{"POST /api/v1/token": true, "GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /api/openapi.yaml": true}
	ids := map[string]string{}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, path := range paths {
		for method, op := range doc.Paths.Value(path).Operations() {
			name := method + " " + path
			if op.Summary == "" {
				t.Errorf("%s has no summary", name)
			}
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", name)
			} else if other, ok := ids[op.OperationID]; ok {
				t.Errorf("%s and %s share operationId %s", name, other, op.OperationID)
			}
			ids[op.OperationID] = name
			if len(op.Tags) == 0 {
				t.Errorf("%s has no tag", name)
			}
			switch {
			case op.Security == nil && doc.Security == nil:
				t.Errorf("%s states no security", name)
			case public[name] && (op.Security == nil || len(*op.Security) != 0):
				t.Errorf("%s is public: it needs security: []", name)
			case !public[name] && op.Security != nil && len(*op.Security) == 0:
				t.Errorf("%s is not public but says security: []", name)
			}
		}
	}
	for _, tag := range doc.Tags {
		if tag.Description == "" {
			t.Errorf("tag %q has no description", tag.Name)
		}
	}
}
