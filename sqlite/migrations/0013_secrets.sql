-- Issue 18: secrets that never drift. The secrets the configuration does not
-- give, generated once ('secret:<flag>', sealed under --secret-key-file when
-- given), and the keyed hash of each secret a node used ('check:<flag>'),
-- never a configured secret itself (package secrets).
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
