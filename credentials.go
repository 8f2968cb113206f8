package intercom

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// The admin API's credentials and its audit log (API.md §7): named bearer
// tokens the operator creates and revokes without a restart, beside the
// bootstrap token of the configuration, and a record of every admin write.

// AdminCredential is a named bearer token of the admin API. Only the
// SHA-256 of its token is kept; the token is shown once, when it is made.
type AdminCredential struct {
	ID        int64 // 0: the bootstrap token (--admin-token)
	Name      string
	TokenHash []byte
	CreatedAt time.Time
}

// BootstrapCredential is the name the admin API gives the token of the
// configuration (--admin-token), which is no stored credential.
const BootstrapCredential = "bootstrap"

// MaxCredentialName is the longest name of an admin credential.
const MaxCredentialName = 64

// ParseNewCredential validates POST /api/admin/v1/credentials: its name,
// trimmed, 1 to MaxCredentialName characters.
func ParseNewCredential(body Body) (string, error) {
	var p Problems
	body.Only(&p, "name")
	name := strings.TrimSpace(body.RequiredString("name", MaxCredentialName, &p))
	if name == BootstrapCredential {
		p.Add("name", "The name has already been taken.")
	}
	return name, p.Err()
}

// AuditEntry is one admin write: who made it, what it touched, the
// resource before and after it (JSON, secrets redacted), its answer's
// status, and when. The entry commits in the write's own transaction
// (PendingAudit); its answer is added once it is sent.
type AuditEntry struct {
	ID             int64
	CredentialID   int64  // 0: the bootstrap token
	CredentialName string // as the credential was named then
	Method         string // POST, PUT, PATCH, DELETE
	Route          string // the route's pattern: /api/admin/v1/users/{user}
	Resource       string // the resource's path under /api/admin/v1: users/5
	Before, After  []byte // JSON; nil when there was none (a creation; a deletion's after)
	// Status is the HTTP status the write answered; 0 when the node
	// stopped between the write's commit and its answer.
	Status int
	At     time.Time
}

// PendingAudit is the audit entry of an admin write in progress, carried
// by the write's context (WithAudit). The stores write it in the first
// write transaction they commit under that context, beside the write's own
// changes: the entry exists if and only if something of the write was
// committed. The writes of one request are sequential, so only one
// transaction at a time may write it.
type PendingAudit struct {
	Entry AuditEntry

	mu sync.Mutex
	id int64 // the entry's id once committed
}

type auditKey struct{}

// WithAudit returns ctx carrying the pending entry p.
func WithAudit(ctx context.Context, p *PendingAudit) context.Context {
	return context.WithValue(ctx, auditKey{}, p)
}

// AuditToWrite returns the entry a write transaction under ctx must add,
// if ctx carries one that no transaction has committed yet.
func AuditToWrite(ctx context.Context) (*PendingAudit, bool) {
	p, _ := ctx.Value(auditKey{}).(*PendingAudit)
	if p == nil || p.ID() != 0 {
		return nil, false
	}
	return p, true
}

// Committed records that the transaction which added the entry as id
// committed.
func (p *PendingAudit) Committed(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.id = id
}

// ID is the committed entry's id, 0 before.
func (p *PendingAudit) ID() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.id
}

// AuditFilter narrows the audit log. Zero fields do not filter.
type AuditFilter struct {
	// Credential keeps the entries of one credential (a pointer to 0: the
	// bootstrap token's).
	Credential *int64
	// Resource keeps the entries of a resource and of those beneath it
	// ("intercoms/5" keeps "intercoms/5/members/7").
	Resource string
}

// Redacted is what stands in an audit entry for a secret.
const Redacted = "[redacted]"

// secretKey reports whether a JSON key names a secret: a password, a
// secret, a token or a hash of one, whatever its prefix (sip_password,
// fcm_token, secret_hash).
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "secret", "token"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// RedactSecrets returns the JSON document doc with the value of every key
// that names a secret (at any depth) replaced by Redacted. A document that
// is not JSON is dropped (nil): an audit entry never keeps what it cannot
// read. Empty is nil.
func RedactSecrets(doc []byte) []byte {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	out, err := json.Marshal(redact(v))
	if err != nil {
		return nil
	}
	return out
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if secretKey(k) && e != nil {
				t[k] = Redacted
			} else {
				t[k] = redact(e)
			}
		}
	case []any:
		for i, e := range t {
			t[i] = redact(e)
		}
	}
	return v
}
