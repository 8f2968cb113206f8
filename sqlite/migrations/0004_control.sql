-- Every POST to an intercom's control URL: door openings and call events.
CREATE TABLE control_log (
	id          INTEGER PRIMARY KEY,
	intercom_id INTEGER NOT NULL REFERENCES intercoms (id) ON DELETE CASCADE,
	event       TEXT    NOT NULL,
	call_id     INTEGER,
	user_id     INTEGER,
	device      TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	ok          INTEGER NOT NULL,
	status      INTEGER NOT NULL,
	error       TEXT    NOT NULL,
	timed_out   INTEGER NOT NULL
);
CREATE INDEX control_log_intercom ON control_log (intercom_id, event, id);
