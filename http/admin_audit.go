package http

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"intercom"
)

// The admin API's credentials and audit log (API.md §7). A request is let
// through by the bootstrap token of the configuration (--admin-token,
// credential "bootstrap") or by a named credential, looked up by its
// token's hash in the database at every request: a credential revoked on
// any node is refused by every node from the commit on. Every admin write
// that changes something, or succeeds, is recorded in the audit log in its
// own transaction, with the resource as the admin API showed it before the
// write and the write's answer, secrets redacted.

const adminPrefix = "/api/admin/v1/"

// admin authenticates an admin API request and audits it when it is a
// write.
func (s *Server) admin(h handlerFunc) http.Handler {
	bootstrap := sha256.Sum256([]byte(s.adminToken))
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			return errUnauthenticated
		}
		sum := sha256.Sum256([]byte(secret))
		cred := intercom.AdminCredential{Name: intercom.BootstrapCredential}
		if subtle.ConstantTimeCompare(sum[:], bootstrap[:]) != 1 {
			var err error
			if cred, err = s.store.AdminCredentialByHash(r.Context(), sum[:]); intercom.ErrorCode(err) == intercom.ENOTFOUND {
				return errUnauthenticated
			} else if err != nil {
				return err
			}
		}
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			return s.audited(w, r, cred, h)
		}
		return h(w, r)
	})
}

// audited runs the admin write h under its audit entry. The entry commits
// in the write's first transaction (intercom.PendingAudit), so an admin
// write that changed anything is in the log even when the node stops
// before answering; once the answer is known, the entry gets it (the
// resource a creation made, the answer of a 2xx, the status). A write that
// committed nothing is recorded only when it succeeds (a PATCH that
// changed nothing). An entry that cannot be completed is logged at error;
// the write's answer is sent all the same, as the write is done.
func (s *Server) audited(w http.ResponseWriter, r *http.Request, cred intercom.AdminCredential, h handlerFunc) error {
	resource, creation := auditResource(r)
	var before []byte
	if !creation {
		before = s.adminSnapshot(r, resource)
	}
	pending := &intercom.PendingAudit{Entry: intercom.AuditEntry{CredentialID: cred.ID, CredentialName: cred.Name,
		Method: r.Method, Route: strings.TrimPrefix(r.Pattern, r.Method+" "), Resource: resource,
		Before: intercom.RedactSecrets(before), At: s.now()}}
	// The entry's own writes below are made outside it.
	ctx := context.WithoutCancel(r.Context())
	buf := &bufferedWriter{header: w.Header()}
	if err := h(buf, r.WithContext(intercom.WithAudit(r.Context(), pending))); err != nil {
		s.writeError(buf, r, err)
	}
	defer buf.flush(w)
	e := pending.Entry
	e.Status = buf.statusCode()
	ok := e.Status >= 200 && e.Status < 300
	if ok {
		e.After = buf.body.Bytes()
		if creation {
			var created struct {
				ID json.Number `json:"id"`
			}
			if json.Unmarshal(e.After, &created) == nil && created.ID != "" {
				e.Resource += "/" + created.ID.String()
			}
		}
		e.After = intercom.RedactSecrets(e.After)
	}
	var err error
	switch id := pending.ID(); {
	case id != 0:
		e.ID = id
		err = s.store.FinishAudit(ctx, id, e.Resource, e.After, e.Status)
	case ok:
		e, err = s.store.RecordAudit(ctx, e)
	default:
		return nil // nothing was written
	}
	attrs := []any{"request_id", requestID(r.Context()), "credential_id", cred.ID, "credential", cred.Name,
		"method", r.Method, "route", e.Route, "resource", e.Resource, "status", e.Status, "audit_id", e.ID}
	if err != nil {
		s.log.Error("audit log entry not completed", append(attrs, "error", err)...)
	} else {
		s.log.Info("admin write", attrs...)
	}
	return nil
}

// auditResource is the path under /api/admin/v1 of the resource an admin
// write touches, and whether the write creates it (a POST to a
// collection: its id is in the answer). An action on a resource
// (POST /users/5/password, /intercoms/5/secret) touches the resource.
func auditResource(r *http.Request) (string, bool) {
	path := strings.TrimPrefix(r.URL.Path, adminPrefix)
	pattern := strings.TrimPrefix(r.Pattern, r.Method+" "+adminPrefix)
	if r.Method != http.MethodPost || strings.HasSuffix(pattern, "}") {
		return path, false
	}
	if !strings.Contains(pattern, "/") {
		return path, true
	}
	return path[:strings.LastIndexByte(path, '/')], false
}

// adminSnapshot is the resource at path (under /api/admin/v1) as the admin
// API's GET of it shows it now, or nil when it has none (no such GET
// route, or no such resource).
func (s *Server) adminSnapshot(r *http.Request, path string) []byte {
	get, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), http.MethodGet, adminPrefix+path, nil)
	if err != nil {
		return nil
	}
	get.Header.Set("Authorization", r.Header.Get("Authorization"))
	if _, pattern := s.mux.Handler(get); !strings.HasPrefix(pattern, "GET ") {
		return nil
	}
	buf := &bufferedWriter{header: http.Header{}}
	s.mux.ServeHTTP(buf, get)
	if buf.status != http.StatusOK {
		return nil
	}
	return buf.body.Bytes()
}

// bufferedWriter holds an answer until it is flushed.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// statusCode is the held answer's status.
func (b *bufferedWriter) statusCode() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

// flush sends the held answer to w, whose header b shares.
func (b *bufferedWriter) flush(w http.ResponseWriter) {
	w.WriteHeader(b.statusCode())
	w.Write(b.body.Bytes())
}

type credentialJSON struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	CreatedAt *string `json:"created_at"`
}

func toCredentialJSON(c intercom.AdminCredential) credentialJSON {
	return credentialJSON{c.ID, c.Name, laravelTime(&c.CreatedAt)}
}

// createCredential is POST /api/admin/v1/credentials: a named credential
// whose token is shown in this answer only; the store keeps its hash.
func (s *Server) createCredential(w http.ResponseWriter, r *http.Request) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	name, err := intercom.ParseNewCredential(body)
	if err != nil {
		return err
	}
	token := rand.Text() + rand.Text() // 52 characters, 260 random bits
	c, err := s.store.CreateAdminCredential(r.Context(), intercom.AdminCredential{Name: name,
		TokenHash: intercom.HashToken(token), CreatedAt: s.now()})
	if intercom.ErrorCode(err) == intercom.ECONFLICT {
		return intercom.Invalid("name", "The name has already been taken.")
	} else if err != nil {
		return err
	}
	return encode(w, http.StatusCreated, struct {
		credentialJSON
		Token string `json:"token"`
	}{toCredentialJSON(c), token})
}

// listCredentials is GET /api/admin/v1/credentials: the named credentials
// by id, never their tokens.
func (s *Server) listCredentials(w http.ResponseWriter, r *http.Request) error {
	var p intercom.Problems
	page := parsePage(r.URL.Query(), &p)
	if err := p.Err(); err != nil {
		return err
	}
	creds, total, err := s.store.AdminCredentials(r.Context(), page)
	if err != nil {
		return err
	}
	return encodePage(s, w, r, page, total, creds, toCredentialJSON)
}

// getCredential is GET /api/admin/v1/credentials/{credential}.
func (s *Server) getCredential(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("credential"))
	if err != nil {
		return err
	}
	c, err := s.store.AdminCredential(r.Context(), id)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, toCredentialJSON(c))
}

// deleteCredential is DELETE /api/admin/v1/credentials/{credential}: the
// credential is revoked, refused from the commit on by every node.
func (s *Server) deleteCredential(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("credential"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteAdminCredential(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type auditJSON struct {
	ID             int64           `json:"id"`
	CredentialID   *int64          `json:"credential_id"`
	CredentialName string          `json:"credential_name"`
	Method         string          `json:"method"`
	Route          string          `json:"route"`
	Resource       string          `json:"resource"`
	Before         json.RawMessage `json:"before"`
	After          json.RawMessage `json:"after"`
	Status         *int            `json:"status"`
	CreatedAt      *string         `json:"created_at"`
}

func toAuditJSON(e intercom.AuditEntry) auditJSON {
	out := auditJSON{ID: e.ID, CredentialName: e.CredentialName, Method: e.Method, Route: e.Route, Resource: e.Resource,
		Before: json.RawMessage("null"), After: json.RawMessage("null"), CreatedAt: laravelTime(&e.At)}
	if e.CredentialID != 0 {
		out.CredentialID = &e.CredentialID
	}
	if e.Status != 0 {
		out.Status = &e.Status
	}
	if json.Valid(e.Before) {
		out.Before = e.Before
	}
	if json.Valid(e.After) {
		out.After = e.After
	}
	return out
}

// auditLog is GET /api/admin/v1/audit: the admin writes, newest first;
// ?credential= an id (or bootstrap) keeps one credential's, ?resource= a
// path under /api/admin/v1 (intercoms/5) keeps those of the resource and
// of those beneath it.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var p intercom.Problems
	page := parsePage(q, &p)
	var f intercom.AuditFilter
	if v := q.Get("credential"); v == intercom.BootstrapCredential {
		f.Credential = new(int64)
	} else if v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err != nil || id < 1 {
			p.Add("credential", "The credential field must be a credential's id or bootstrap.")
		} else {
			f.Credential = &id
		}
	}
	if v := q.Get("resource"); len(v) > 255 || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		p.Add("resource", "The resource field must be a path under /api/admin/v1, such as intercoms/5.")
	} else {
		f.Resource = strings.Trim(strings.TrimPrefix(v, adminPrefix), "/")
	}
	if err := p.Err(); err != nil {
		return err
	}
	entries, total, err := s.store.AuditLog(r.Context(), f, page)
	if err != nil {
		return err
	}
	return encodePage(s, w, r, page, total, entries, toAuditJSON)
}
