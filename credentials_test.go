package intercom_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

func TestRedactSecrets(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"none", `{"id":5,"name":"x"}`, `{"id":5,"name":"x"}`},
		{"intercom creation", `{"id":5,"secret":"S3CR3T","sip":{"username":"intercom5","password":"pw","domain":"d"}}`,
			`{"id":5,"secret":"[redacted]","sip":{"domain":"d","password":"[redacted]","username":"intercom5"}}`},
		{"any case, any prefix", `{"Token":"t","sip_password":"p","fcm_token":"f","secret_hash":"h","PASSWORD":1}`,
			`{"PASSWORD":"[redacted]","Token":"[redacted]","fcm_token":"[redacted]","secret_hash":"[redacted]","sip_password":"[redacted]"}`},
		{"an object under a secret's key", `{"token":{"value":"t"}}`, `{"token":"[redacted]"}`},
		{"in lists", `[{"password":"a"},{"password":"b"}]`, `[{"password":"[redacted]"},{"password":"[redacted]"}]`},
		{"null stays null", `{"password":null}`, `{"password":null}`},
		{"numbers kept exactly", `{"id":12345678901234567890}`, `{"id":12345678901234567890}`},
		{"a secret as a value, not a key, is kept", `{"note":"password"}`, `{"note":"password"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(intercom.RedactSecrets([]byte(tt.in))); got != tt.want {
				t.Errorf("RedactSecrets(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
	for _, in := range []string{"", "  \n", "not json", `{"password":"a"`} {
		if got := intercom.RedactSecrets([]byte(in)); got != nil {
			t.Errorf("RedactSecrets(%q) = %q, want nil", in, got)
		}
	}
}

// FuzzRedactSecrets: whatever the document, no string under a key naming a
// secret survives, and what comes out is JSON.
func FuzzRedactSecrets(f *testing.F) {
	for _, s := range []string{`{"password":"hunter22"}`, `{"a":[{"secret":"x"}]}`, `{"token":{"token":"y"}}`, `[]`, `"s"`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := intercom.RedactSecrets(data)
		if out == nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("RedactSecrets(%q) = %q: not JSON", data, out)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch t2 := v.(type) {
			case map[string]any:
				for k, e := range t2 {
					lk := strings.ToLower(k)
					if (strings.Contains(lk, "password") || strings.Contains(lk, "secret") || strings.Contains(lk, "token")) &&
						e != nil && e != intercom.Redacted {
						t.Fatalf("RedactSecrets(%q) keeps %q: %v", data, k, e)
					}
					walk(e)
				}
			case []any:
				for _, e := range t2 {
					walk(e)
				}
			}
		}
		walk(v)
	})
}

func TestParseNewCredential(t *testing.T) {
	for _, tt := range []struct {
		name   string
		body   intercom.Body
		want   string
		fields []string
	}{
		{"trimmed", intercom.Body{"name": "  billing "}, "billing", nil},
		{"64 characters", intercom.Body{"name": strings.Repeat("я", 64)}, strings.Repeat("я", 64), nil},
		{"65 characters", intercom.Body{"name": strings.Repeat("я", 65)}, "", []string{"name"}},
		{"empty", intercom.Body{"name": ""}, "", []string{"name"}},
		{"missing", intercom.Body{}, "", []string{"name"}},
		{"null", intercom.Body{"name": nil}, "", []string{"name"}},
		{"a number", intercom.Body{"name": json.Number("5")}, "", []string{"name"}},
		{"the bootstrap's", intercom.Body{"name": "bootstrap"}, "", []string{"name"}},
		{"unknown and read-only fields", intercom.Body{"name": "x", "scope": "all", "id": 1.0}, "", []string{"id", "scope"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := intercom.ParseNewCredential(tt.body)
			var fields []string
			if e, ok := err.(*intercom.Error); ok {
				for _, f := range e.Fields {
					fields = append(fields, f.Key)
				}
			} else if err != nil {
				t.Fatalf("error %v", err)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if err == nil && (got != tt.want || !utf8.ValidString(got)) {
				t.Errorf("name %q, want %q", got, tt.want)
			}
		})
	}
}
