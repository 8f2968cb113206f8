-- Issue 18: a copy of the database alone opens no door. The commands to an
-- intercom's control URL are signed with SHA-256 of its secret (its control
-- key), which the database held as the secret's hash. Now the hash that
-- finds an intercom by its secret is SHA-256 of the control key, and the
-- control key is kept apart, as package secrets stores values: 'plain:'
-- and the key here (intercoms provisioned before --secret-key-file; sealed
-- when intercomd next starts with one), sealed under that key from then on;
-- NULL for an intercom that has none (it signs nothing).
ALTER TABLE intercoms ADD COLUMN control_key bytea;
UPDATE intercoms SET control_key = convert_to('plain:', 'UTF8') || secret_hash, secret_hash = sha256(secret_hash);
