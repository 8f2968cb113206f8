package copydb

// kind is how a column's value is stored by each engine, and so how it is
// converted from SQLite's to PostgreSQL's.
type kind int

const (
	// kInt is an INTEGER, a bigint or integer.
	kInt kind = iota
	// kText is TEXT, text.
	kText
	// kFloat is REAL, double precision.
	kFloat
	// kBool is INTEGER 0 or 1, boolean.
	kBool
	// kTime is INTEGER Unix microseconds (UTC), timestamptz.
	kTime
	// kBytes is BLOB, bytea.
	kBytes
	// kList is TEXT of comma-separated items ('' for none), text[].
	kList
)

// column is one column of a data table: its name in both engines and how
// its value is stored.
type column struct {
	name string
	kind kind
}

// table is a data table as both engines hold it: the same name and columns.
type table struct {
	name    string
	columns []column
	// orderSQLite and orderPostgres order the rows by primary key, text in
	// byte order on both sides.
	orderSQLite, orderPostgres string
	// identity is set when id is an identity column (AUTOINCREMENT in
	// SQLite): its sequence is moved past every id the source ever gave.
	identity bool
}

// tables are the data tables in foreign-key order: a table comes after those
// it references. Both engines' schemas list the same columns (sqlite and
// postgres migrations); Copy checks that they still do before it copies.
var tables = []table{
	{name: "users", identity: true, columns: []column{
		{"id", kInt}, {"login", kText}, {"password_hash", kText}, {"name", kText},
		{"created_at", kTime}, {"updated_at", kTime}, {"language", kText},
	}},
	{name: "devices", identity: true, columns: []column{
		{"id", kInt}, {"user_id", kInt}, {"uuid", kText}, {"client", kText},
		{"fcm_token", kText}, {"apn_token", kText}, {"voip_token", kText}, {"huawei_token", kText},
		{"created_at", kTime}, {"updated_at", kTime}, {"lang", kText},
	}},
	{name: "access_tokens", identity: true, columns: []column{
		{"id", kInt}, {"public_id", kText}, {"token_hash", kBytes}, {"user_id", kInt}, {"device_id", kInt},
		{"created_at", kTime}, {"expires_at", kTime}, {"revoked_at", kTime},
		{"ip", kText}, {"user_agent", kText}, {"last_used_at", kTime},
	}},
	{name: "cameras", identity: true, columns: []column{
		{"id", kInt}, {"group_id", kInt}, {"status", kText}, {"type", kText}, {"start_at", kTime},
		{"created_at", kTime}, {"billing_id", kText}, {"pretty_name", kText},
		{"lat", kFloat}, {"lng", kFloat}, {"azimuth", kFloat},
		{"is_archive_recording", kBool}, {"is_bridge", kBool}, {"user_status", kText}, {"name", kText},
	}},
	{name: "camera_favorites", orderSQLite: "user_id, camera_id", columns: []column{
		{"user_id", kInt}, {"camera_id", kInt},
	}},
	{name: "intercoms", identity: true, columns: []column{
		{"id", kInt}, {"address", kText}, {"department", kInt}, {"camera_id", kInt},
		{"secret_hash", kBytes}, {"control_url", kText}, {"door_open_seconds", kInt},
		{"last_heartbeat_at", kTime}, {"created_at", kTime}, {"online", kBool},
		{"first_flat", kInt}, {"last_flat", kInt}, {"open_door_code", kBool}, {"open_door_key", kBool},
		{"analog_line", kBool}, {"landline_line", kBool},
		{"control_key", kBytes}, // as sealed by package secrets: the same key file is needed on the target
	}},
	{name: "flat_lines", orderSQLite: "intercom_id, flat", columns: []column{
		{"intercom_id", kInt}, {"flat", kInt}, {"analog", kBool}, {"landline", kBool}, {"landline_uri", kText},
		{"updated_at", kTime},
	}},
	{name: "memberships", orderSQLite: "user_id, intercom_id", columns: []column{
		{"user_id", kInt}, {"intercom_id", kInt}, {"flat", kInt}, {"title", kText}, {"status", kText},
		{"created_at", kTime}, {"updated_at", kTime}, {"key_id", kText}, {"flat_by", kTime},
	}},
	{name: "intercom_keys", orderSQLite: "intercom_id, key_id", orderPostgres: `intercom_id, key_id COLLATE "C"`, columns: []column{
		{"intercom_id", kInt}, {"key_id", kText}, {"flat", kInt}, {"note", kText}, {"created_at", kTime}, {"updated_at", kTime},
	}},
	{name: "pairing_codes", orderSQLite: "user_id", columns: []column{
		{"user_id", kInt}, {"code", kText}, {"client", kText}, {"expires_at", kTime},
	}},
	{name: "visitor_codes", identity: true, columns: []column{
		{"id", kInt}, {"user_id", kInt}, {"intercom_id", kInt}, {"title", kText}, {"code", kText},
		{"expired_at", kTime}, {"created_at", kTime},
	}},
	{name: "access_log", identity: true, columns: []column{
		{"id", kInt}, {"intercom_id", kInt}, {"kind", kText}, {"credential", kText}, {"user_id", kInt}, {"code_id", kInt},
		{"at", kTime}, {"open", kBool}, {"reason", kText},
	}},
	{name: "device_settings", orderSQLite: "device_id, intercom_id", columns: []column{
		{"device_id", kInt}, {"intercom_id", kInt}, {"is_enabled", kBool},
		{"timetable", kBytes}, // intercom.Timetable.MarshalBinary in both
		{"updated_at", kTime},
	}},
	{name: "calls", identity: true, columns: []column{
		{"id", kInt}, {"intercom_id", kInt}, {"flat", kInt}, {"status", kText},
		{"created_at", kTime}, {"started_at", kTime}, {"ended_at", kTime}, {"answered_by", kInt}, {"sip_number", kText},
		{"connected_at", kTime}, {"end_reason", kText}, {"analog", kBool}, {"landline", kText}, {"answered_on", kText},
	}},
	{name: "call_devices", orderSQLite: "call_id, device_id", columns: []column{
		{"call_id", kInt}, {"device_id", kInt}, {"user_id", kInt}, {"uuid", kText}, {"client", kText},
		{"title", kText}, {"channels", kList}, {"reason", kText}, {"tokens", kList}, {"declined_at", kTime},
		{"seen_at", kTime}, {"seen_by", kText},
	}},
	{name: "call_accounts", orderSQLite: "user_id, call_id", columns: []column{
		{"user_id", kInt}, {"call_id", kInt},
	}},
	{name: "call_sends", orderSQLite: "call_id, device_id, channel, type",
		orderPostgres: `call_id, device_id, channel COLLATE "C", type COLLATE "C"`, columns: []column{
			{"call_id", kInt}, {"device_id", kInt}, {"channel", kText}, {"type", kText}, {"attempts", kInt},
			{"outcome", kText}, {"status", kInt}, {"reason", kText}, {"provider_id", kText}, {"at", kTime},
		}},
	{name: "control_log", identity: true, columns: []column{
		{"id", kInt}, {"intercom_id", kInt}, {"event", kText}, {"call_id", kInt}, {"user_id", kInt},
		{"device", kText}, {"at", kTime}, {"ok", kBool}, {"status", kInt}, {"error", kText}, {"timed_out", kBool},
	}},
	{name: "secrets", orderSQLite: "name", orderPostgres: `name COLLATE "C"`, columns: []column{
		{"name", kText}, {"value", kBytes}, // as package secrets stored them: sealed ones need the same key file
	}},
	{name: "admin_credentials", identity: true, columns: []column{
		{"id", kInt}, {"name", kText}, {"token_hash", kBytes}, {"created_at", kTime},
	}},
	{name: "audit_log", identity: true, columns: []column{
		{"id", kInt}, {"credential_id", kInt}, {"credential_name", kText}, {"method", kText}, {"route", kText},
		{"resource", kText}, {"before_json", kText}, {"after_json", kText}, {"status", kInt}, {"at", kTime},
	}},
}

// notCopied are the PostgreSQL tables that hold no data of the
// installation: the migrations' record, and what running nodes share (the
// bus, deadlines that nodes set again on start, throttles), and the
// rosters' versions, which the target makes anew once the rows are in. The
// secrets are copied: the panels' SIP passwords and the sockets' signatures
// stay the same on the target.
var notCopied = []string{
	"schema_migrations", "bus_nodes", "bus_presence", "bus_messages", "deadlines", "limiter_hits",
	"roster_versions", "roster_changes", "roster_log", "roster_pruned",
}

// notCopiedSQLite are the SQLite tables that hold no data of the
// installation: the migrations' record and AUTOINCREMENT's counters (read for
// the sequences).
var notCopiedSQLite = []string{"schema_migrations", "sqlite_sequence"}

func init() {
	for i := range tables {
		t := &tables[i]
		if t.orderSQLite == "" {
			t.orderSQLite = "id"
		}
		if t.orderPostgres == "" {
			t.orderPostgres = t.orderSQLite
		}
	}
}
