package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// The admin API's credentials and audit log. A credential is looked up in
// the database at every request, so one revoked on any node is refused
// from the commit on.

const credentialColumns = `id, name, token_hash, created_at`

func scanCredential(row pgx.Row) (intercom.AdminCredential, error) {
	var c intercom.AdminCredential
	err := row.Scan(&c.ID, &c.Name, &c.TokenHash, &c.CreatedAt)
	c.CreatedAt = c.CreatedAt.UTC()
	return c, err
}

// CreateAdminCredential adds a credential.
func (db *DB) CreateAdminCredential(ctx context.Context, c intercom.AdminCredential) (intercom.AdminCredential, error) {
	err := db.txFor(ctx, change{}, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO admin_credentials (name, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id`,
			c.Name, c.TokenHash, c.CreatedAt).Scan(&c.ID)
	})
	return c, wrap(err)
}

// AdminCredentials lists the credentials by id.
func (db *DB) AdminCredentials(ctx context.Context, p intercom.Page) ([]intercom.AdminCredential, int, error) {
	var total int
	out := []intercom.AdminCredential{}
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM admin_credentials`).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+credentialColumns+` FROM admin_credentials ORDER BY id LIMIT $1 OFFSET $2`,
			p.PerPage, p.Offset())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCredential(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// AdminCredential finds a credential.
func (db *DB) AdminCredential(ctx context.Context, id int64) (intercom.AdminCredential, error) {
	c, err := scanCredential(db.pool.QueryRow(ctx, `SELECT `+credentialColumns+` FROM admin_credentials WHERE id = $1`, id))
	return c, wrap(err)
}

// AdminCredentialByHash finds the credential whose token hashes to hash.
func (db *DB) AdminCredentialByHash(ctx context.Context, hash []byte) (intercom.AdminCredential, error) {
	c, err := scanCredential(db.pool.QueryRow(ctx, `SELECT `+credentialColumns+` FROM admin_credentials WHERE token_hash = $1`, hash))
	return c, wrap(err)
}

// DeleteAdminCredential removes a credential.
func (db *DB) DeleteAdminCredential(ctx context.Context, id int64) error {
	return wrap(mustAffect(db.execFor(ctx, change{}, `DELETE FROM admin_credentials WHERE id = $1`, id)))
}

// RecordAudit adds an entry to the audit log.
func (db *DB) RecordAudit(ctx context.Context, e intercom.AuditEntry) (intercom.AuditEntry, error) {
	var err error
	e.ID, err = insertAudit(ctx, db.pool, e)
	return e, wrap(err)
}

// insertAudit adds e to the audit log through q (the pool, or the write's
// transaction).
func insertAudit(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, e intercom.AuditEntry) (int64, error) {
	var status *int
	if e.Status != 0 {
		status = &e.Status
	}
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO audit_log (credential_id, credential_name, method, route, resource, before_json, after_json, status, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, e.CredentialID, e.CredentialName, e.Method, e.Route, e.Resource,
		jsonText(e.Before), jsonText(e.After), status, e.At).Scan(&id)
	return id, err
}

// FinishAudit adds its write's answer to the entry id.
func (db *DB) FinishAudit(ctx context.Context, id int64, resource string, after []byte, status int) error {
	return wrap(mustAffect(db.pool.Exec(ctx, `UPDATE audit_log SET resource = $1, after_json = $2, status = $3 WHERE id = $4`,
		resource, jsonText(after), status, id)))
}

// jsonText is a JSON document as a text value, NULL for none.
func jsonText(doc []byte) *string {
	if doc == nil {
		return nil
	}
	s := string(doc)
	return &s
}

// AuditLog lists the entries f keeps, newest first.
func (db *DB) AuditLog(ctx context.Context, f intercom.AuditFilter, p intercom.Page) ([]intercom.AuditEntry, int, error) {
	credential := int64(-1)
	if f.Credential != nil {
		credential = *f.Credential
	}
	// $1: -1 any credential; $2: '' any resource, else it and those beneath.
	const where = ` FROM audit_log WHERE ($1::bigint = -1 OR credential_id = $1)
		AND ($2::text = '' OR resource = $2 OR substr(resource, 1, length($2) + 1) = $2 || '/')`
	var total int
	out := []intercom.AuditEntry{}
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*)`+where, credential, f.Resource).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, credential_id, credential_name, method, route, resource, before_json, after_json,
			coalesce(status, 0), at`+
			where+` ORDER BY id DESC LIMIT $3 OFFSET $4`, credential, f.Resource, p.PerPage, p.Offset())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e intercom.AuditEntry
			var before, after *string
			if err := rows.Scan(&e.ID, &e.CredentialID, &e.CredentialName, &e.Method, &e.Route, &e.Resource, &before, &after, &e.Status, &e.At); err != nil {
				return err
			}
			if before != nil {
				e.Before = []byte(*before)
			}
			if after != nil {
				e.After = []byte(*after)
			}
			e.At = e.At.UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}
