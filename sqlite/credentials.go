package sqlite

import (
	"context"
	"database/sql"

	"intercom"
)

// The admin API's credentials and audit log. No cache reads either table:
// their writes are uncached, and a credential is looked up in the database
// at every request, so a revoked one is refused from the commit on.

const credentialColumns = `id, name, token_hash, created_at`

func scanCredential(row scanner) (intercom.AdminCredential, error) {
	var c intercom.AdminCredential
	var created int64
	err := row.Scan(&c.ID, &c.Name, &c.TokenHash, &created)
	c.CreatedAt = fromMicros(created)
	return c, err
}

// CreateAdminCredential adds a credential.
func (db *DB) CreateAdminCredential(ctx context.Context, c intercom.AdminCredential) (intercom.AdminCredential, error) {
	err := db.uncached(ctx, func(q querier) error {
		return q.QueryRow(`INSERT INTO admin_credentials (name, token_hash, created_at) VALUES (?, ?, ?) RETURNING id`,
			c.Name, c.TokenHash, micros(c.CreatedAt)).Scan(&c.ID)
	})
	return c, wrap(err)
}

// AdminCredentials lists the credentials by id.
func (db *DB) AdminCredentials(ctx context.Context, p intercom.Page) ([]intercom.AdminCredential, int, error) {
	q := db.reader(ctx)
	var total int
	if err := q.QueryRow(`SELECT count(*) FROM admin_credentials`).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	rows, err := q.Query(`SELECT `+credentialColumns+` FROM admin_credentials ORDER BY id LIMIT ? OFFSET ?`, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, wrap(err)
	}
	defer rows.Close()
	out := []intercom.AdminCredential{}
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, 0, wrap(err)
		}
		out = append(out, c)
	}
	return out, total, wrap(rows.Err())
}

// AdminCredential finds a credential.
func (db *DB) AdminCredential(ctx context.Context, id int64) (intercom.AdminCredential, error) {
	c, err := scanCredential(db.reader(ctx).QueryRow(`SELECT `+credentialColumns+` FROM admin_credentials WHERE id = ?`, id))
	return c, wrap(err)
}

// AdminCredentialByHash finds the credential whose token hashes to hash.
func (db *DB) AdminCredentialByHash(ctx context.Context, hash []byte) (intercom.AdminCredential, error) {
	c, err := scanCredential(db.reader(ctx).QueryRow(`SELECT `+credentialColumns+` FROM admin_credentials WHERE token_hash = ?`, hash))
	return c, wrap(err)
}

// DeleteAdminCredential removes a credential.
func (db *DB) DeleteAdminCredential(ctx context.Context, id int64) error {
	return wrap(db.uncached(ctx, func(q querier) error {
		return mustAffect(q.Exec(`DELETE FROM admin_credentials WHERE id = ?`, id))
	}))
}

// RecordAudit adds an entry to the audit log.
func (db *DB) RecordAudit(ctx context.Context, e intercom.AuditEntry) (intercom.AuditEntry, error) {
	err := db.uncached(ctx, func(q querier) error {
		var err error
		e.ID, err = insertAudit(q, e)
		return err
	})
	return e, wrap(err)
}

// insertAudit adds e to the audit log in the transaction of q.
func insertAudit(q querier, e intercom.AuditEntry) (int64, error) {
	var id int64
	err := q.QueryRow(`INSERT INTO audit_log (credential_id, credential_name, method, route, resource, before_json, after_json, status, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.CredentialID, e.CredentialName, e.Method, e.Route, e.Resource,
		jsonText(e.Before), jsonText(e.After), nullZero(e.Status), micros(e.At)).Scan(&id)
	return id, err
}

// FinishAudit adds its write's answer to the entry id.
func (db *DB) FinishAudit(ctx context.Context, id int64, resource string, after []byte, status int) error {
	return wrap(db.uncached(ctx, func(q querier) error {
		return mustAffect(q.Exec(`UPDATE audit_log SET resource = ?, after_json = ?, status = ? WHERE id = ?`,
			resource, jsonText(after), status, id))
	}))
}

// nullZero is n, or NULL for 0.
func nullZero(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// jsonText is a JSON document as a TEXT value, NULL for none.
func jsonText(doc []byte) any {
	if doc == nil {
		return nil
	}
	return string(doc)
}

// AuditLog lists the entries f keeps, newest first.
func (db *DB) AuditLog(ctx context.Context, f intercom.AuditFilter, p intercom.Page) ([]intercom.AuditEntry, int, error) {
	q := db.reader(ctx)
	credential := int64(-1)
	if f.Credential != nil {
		credential = *f.Credential
	}
	// ?1: -1 any credential; ?2: '' any resource, else it and those beneath.
	const where = ` FROM audit_log WHERE (?1 = -1 OR credential_id = ?1)
		AND (?2 = '' OR resource = ?2 OR substr(resource, 1, length(?2) + 1) = ?2 || '/')`
	var total int
	if err := q.QueryRow(`SELECT count(*)`+where, credential, f.Resource).Scan(&total); err != nil {
		return nil, 0, wrap(err)
	}
	rows, err := q.Query(`SELECT id, credential_id, credential_name, method, route, resource, before_json, after_json,
		coalesce(status, 0), at`+where+
		` ORDER BY id DESC LIMIT ?3 OFFSET ?4`, credential, f.Resource, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, wrap(err)
	}
	defer rows.Close()
	out := []intercom.AuditEntry{}
	for rows.Next() {
		var e intercom.AuditEntry
		var before, after sql.NullString
		var at int64
		if err := rows.Scan(&e.ID, &e.CredentialID, &e.CredentialName, &e.Method, &e.Route, &e.Resource, &before, &after, &e.Status, &at); err != nil {
			return nil, 0, wrap(err)
		}
		if before.Valid {
			e.Before = []byte(before.String)
		}
		if after.Valid {
			e.After = []byte(after.String)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, total, wrap(rows.Err())
}
