-- Every push to a device for a call, and how it went.
CREATE TABLE call_sends (
	call_id   INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	device_id INTEGER NOT NULL,
	channel   TEXT    NOT NULL,
	attempts  INTEGER NOT NULL,
	outcome   TEXT    NOT NULL,
	status    INTEGER NOT NULL,
	reason    TEXT    NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (call_id, device_id, channel)
) WITHOUT ROWID;
