package postgres

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// Each node caches, per intercom and flat, the roster a ring weighs
// (intercom.Roster), so that a ring at a large house does not read a
// thousand rows each time. The cache is exact on every node: each ring asks
// the database, in one round trip, for its intercom's roster version and the
// accounts changed since the cached one (migration 0006: every write that
// can change a roster bumps its intercom's version from a trigger, and
// versions commit in order). Unchanged, the cached roster serves; changed for
// a few accounts, only their rows are read and patched in; otherwise, or
// past the log the database keeps, the roster is read whole.

// rosterLog is how many changes of each intercom the database keeps
// (roster_touch in migration 0006).
const rosterLog = 256

// maxPatch is the most accounts a roster is patched for; past it, it is
// read whole.
const maxPatch = 64

// maxRosters bounds the cache: past it, it starts again empty.
const maxRosters = 8192

type rosterEntry struct {
	version int64 // the intercom's roster version when read, or older
	roster  *intercom.Roster
}

type rosterCache struct {
	mu sync.Mutex
	m  map[intercom.RosterKey]rosterEntry
}

func (c *rosterCache) get(k intercom.RosterKey) (rosterEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok
}

// put stores e unless a newer entry is there.
func (c *rosterCache) put(k intercom.RosterKey, e rosterEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok && old.version > e.version {
		return
	}
	if c.m == nil || len(c.m) >= maxRosters {
		c.m = map[intercom.RosterKey]rosterEntry{}
	}
	c.m[k] = e
}

// RingCandidates lists the devices of the members of an intercom that have a
// live token, with each of their live tokens.
func (db *DB) RingCandidates(ctx context.Context, intercomID int64, flat *int64, at time.Time) ([]*intercom.RingCandidate, error) {
	r, err := db.rosterOf(ctx, intercom.RosterKeyOf(intercomID, flat))
	if err != nil {
		return nil, err
	}
	return r.Candidates(at), nil
}

// rosterOf returns the roster of key: cached when its intercom's version has
// not moved since, patched when a few accounts changed, else read whole.
// Rows read after the version are at least as new as it; a change they
// already show is read once more at the next ring, which is harmless.
func (db *DB) rosterOf(ctx context.Context, key intercom.RosterKey) (*intercom.Roster, error) {
	e, ok := db.rosters.get(key)
	if !ok {
		return db.wholeRoster(ctx, key)
	}
	version, users, err := db.rosterChanges(ctx, key.IntercomID, e.version)
	if err != nil {
		return nil, err
	}
	switch {
	case version == e.version:
		return e.roster, nil
	case version < e.version || e.version < version-rosterLog || len(users) > maxPatch:
		// Older: the versions were reset by hand (an intercom deleted moves
		// its version past the log instead, migration 0006). Past the log,
		// or many accounts: whole.
		return db.wholeRoster(ctx, key)
	}
	r := e.roster
	if len(users) > 0 {
		fresh, err := db.rosterRows(ctx, key, users)
		if err != nil {
			return nil, err
		}
		r = r.Patch(users, fresh)
	}
	db.rosters.put(key, rosterEntry{version: version, roster: r})
	return r, nil
}

// rosterChanges returns an intercom's roster version (0 before any change)
// and the accounts, sorted, of the changes after version since.
func (db *DB) rosterChanges(ctx context.Context, intercomID, since int64) (int64, []int64, error) {
	rows, err := db.pool.Query(ctx, `SELECT v.version, c.user_id FROM roster_versions v
		LEFT JOIN roster_changes c ON c.intercom_id = v.intercom_id AND c.version > $2
		WHERE v.intercom_id = $1`, intercomID, since)
	if err != nil {
		return 0, nil, wrap(err)
	}
	defer rows.Close()
	var version int64
	var users []int64
	for rows.Next() {
		var u *int64
		if err := rows.Scan(&version, &u); err != nil {
			return 0, nil, wrap(err)
		}
		if u != nil {
			users = append(users, *u)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, wrap(err)
	}
	slices.Sort(users)
	return version, slices.Compact(users), nil
}

// wholeRoster reads the roster of key after its version, and caches it.
func (db *DB) wholeRoster(ctx context.Context, key intercom.RosterKey) (*intercom.Roster, error) {
	var version int64
	err := db.pool.QueryRow(ctx, `SELECT version FROM roster_versions WHERE intercom_id = $1`, key.IntercomID).Scan(&version)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, wrap(err)
	}
	rows, err := db.rosterRows(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	r := intercom.NewRoster(rows)
	db.rosters.put(key, rosterEntry{version: version, roster: r})
	return r, nil
}

// rosterRows reads the devices of an intercom's members (of flat) that have
// an unrevoked token, with those tokens: of every member, or of users only.
func (db *DB) rosterRows(ctx context.Context, key intercom.RosterKey, users []int64) ([]*intercom.RosterRow, error) {
	rows, err := db.pool.Query(ctx, `SELECT d.id, d.user_id, d.uuid, d.client, m.status, m.title, s.is_enabled, s.timetable,
			array_agg(t.public_id ORDER BY t.id), array_agg(t.expires_at ORDER BY t.id),
			coalesce(d.fcm_token, ''), coalesce(d.voip_token, ''), coalesce(d.huawei_token, '')
		FROM memberships m
		JOIN devices d ON d.user_id = m.user_id
		JOIN access_tokens t ON t.device_id = d.id AND t.revoked_at IS NULL
		LEFT JOIN device_settings s ON s.device_id = d.id AND s.intercom_id = m.intercom_id
		WHERE m.intercom_id = $1 AND ($2::bigint IS NULL OR m.flat = $2) AND ($3::bigint[] IS NULL OR m.user_id = ANY ($3))
		GROUP BY d.id, m.user_id, m.intercom_id, s.device_id, s.intercom_id`, key.IntercomID, key.FlatOf(), users)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []*intercom.RosterRow
	for rows.Next() {
		c := new(intercom.RingCandidate)
		row := &intercom.RosterRow{Candidate: c}
		var enabled *bool
		var timetable []byte
		if err := rows.Scan(&c.DeviceID, &c.UserID, &c.UUID, &c.Client, &c.MemberStatus, &c.Title, &enabled, &timetable,
			&c.Tokens, &row.Expires, &c.FCMToken, &c.VoIPToken, &c.HuaweiToken); err != nil {
			return nil, wrap(err)
		}
		c.Settings = intercom.DefaultDeviceSettings
		if enabled != nil {
			c.Settings.IsEnabled = *enabled
			if err := c.Settings.Timetable.UnmarshalBinary(timetable); err != nil {
				return nil, err
			}
		}
		out = append(out, row)
	}
	return out, wrap(rows.Err())
}
