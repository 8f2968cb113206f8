-- Issue 18: secrets that never drift. The secrets the configuration does not
-- give, generated once ('secret:<flag>', sealed under --secret-key-file when
-- given), and the keyed hash of each secret a node used ('check:<flag>'),
-- never a configured secret itself (package secrets). The cluster's secrets
-- made before (0002) carry over, as they were: unsealed.
CREATE TABLE secrets (
	name  text  PRIMARY KEY,
	value bytea NOT NULL
);
INSERT INTO secrets (name, value)
	SELECT 'secret:' || name, convert_to('plain:' || secret, 'UTF8') FROM cluster_secrets;
DROP TABLE cluster_secrets;
