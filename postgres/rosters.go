package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// Each node caches, per intercom and flat, the roster a ring weighs
// (intercom.Roster), so that a ring at a large house does not read a
// thousand rows each time. The cache is exact on every node: every write
// that can change a roster logs its intercom, account and transaction id
// from a trigger (migration 0018; no shared row is updated, so writers do
// not serialize on one), and a cached roster keeps a watermark, the xmin of
// a snapshot no newer than the one its rows were read in. Each ring asks
// the database, in one statement, for its snapshot's xmin and the accounts
// logged for the intercom with an xid at least the watermark: a transaction
// the roster's snapshot did not see has an xid at least its xmin, so every
// write committed since is among them. Unchanged, the cached roster serves;
// changed for a few accounts, only their rows are read and patched in, and
// the watermark moves to the new xmin; otherwise, or when the log was
// pruned past the watermark (or the intercom deleted, or a copy loaded),
// the roster is read whole.

// rosterLog is how many of each intercom's newest changes (by transaction
// id) pruning keeps (roster_prune in migration 0018).
const rosterLog = 256

// maxPatch is the most accounts a roster is patched for; past it, it is
// read whole.
const maxPatch = 64

// maxRosters bounds the cache: past it, it starts again empty.
const maxRosters = 8192

type rosterEntry struct {
	// watermark is the xmin of the snapshot the roster was read in, or
	// older: every write it does not show has a transaction id at least it.
	watermark int64
	roster    *intercom.Roster
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
	if old, ok := c.m[k]; ok && old.watermark > e.watermark {
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
	r, err := db.rosterOf(ctx, intercom.RosterKeyOf(intercomID, flat), nil)
	if err != nil {
		return nil, err
	}
	return r.Candidates(at), nil
}

// RingRead is RingCandidates and FlatLines of the flat, the lines read in
// the roster's first round trip (intercom.RingReader).
func (db *DB) RingRead(ctx context.Context, intercomID int64, flat *int64, at time.Time) ([]*intercom.RingCandidate, intercom.FlatLines, error) {
	fl := intercom.DefaultFlatLines
	r, err := db.rosterOf(ctx, intercom.RosterKeyOf(intercomID, flat), &fl)
	if err != nil {
		return nil, intercom.FlatLines{}, err
	}
	return r.Candidates(at), fl, nil
}

// rosterOf returns the roster of key: cached when nothing was logged for
// its intercom since, patched when a few accounts changed, else read whole.
// Rows read after the changes are at least as new as them; a change they
// already show, or one still in flight, is read once more at the next ring,
// which is harmless. When lines is not nil, the flat's lines are read into
// it in the first round trip.
func (db *DB) rosterOf(ctx context.Context, key intercom.RosterKey, lines *intercom.FlatLines) (*intercom.Roster, error) {
	e, ok := db.rosters.get(key)
	if !ok {
		return db.wholeRoster(ctx, key, lines)
	}
	xmin, pruned, users, err := db.rosterChanges(ctx, key, e.watermark, lines)
	if err != nil {
		return nil, err
	}
	r := e.roster
	switch {
	case e.watermark <= pruned || len(users) > maxPatch:
		// Past the log (pruned, or the intercom deleted or loaded anew), or
		// many accounts: whole, read after xmin was.
		rows, err := db.rosterRows(ctx, key, nil)
		if err != nil {
			return nil, err
		}
		r = intercom.NewRoster(rows)
	case len(users) > 0:
		fresh, err := db.rosterRows(ctx, key, users)
		if err != nil {
			return nil, err
		}
		r = r.Patch(users, fresh)
	}
	if xmin != e.watermark || r != e.roster {
		db.rosters.put(key, rosterEntry{watermark: xmin, roster: r})
	}
	return r, nil
}

// rosterChanges returns, in one snapshot, its xmin, the intercom's pruning
// mark (0 if never pruned) and the accounts, sorted, logged for key's
// intercom with a transaction id at least since; and, when lines is not
// nil, reads the flat's lines into it in the same round trip.
func (db *DB) rosterChanges(ctx context.Context, key intercom.RosterKey, since int64, lines *intercom.FlatLines) (xmin, pruned int64,
	users []int64, err error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
			coalesce((SELECT through FROM roster_pruned WHERE intercom_id = $1), 0),
			array(SELECT DISTINCT user_id FROM roster_log WHERE intercom_id = $1 AND xid >= $2 ORDER BY user_id)`,
		key.IntercomID, since).QueryRow(func(row pgx.Row) error {
		return row.Scan(&xmin, &pruned, &users)
	})
	queueFlatLines(b, key, lines)
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return 0, 0, nil, wrap(err)
	}
	return xmin, pruned, users, nil
}

// queueFlatLines queues the read of key's flat's lines into lines, which
// keep their defaults when the flat never chose; nothing when lines is nil.
func queueFlatLines(b *pgx.Batch, key intercom.RosterKey, lines *intercom.FlatLines) {
	if lines == nil {
		return
	}
	b.Queue(flatLinesQuery, key.IntercomID, intercom.FlatKey(key.FlatOf())).QueryRow(func(row pgx.Row) error {
		return scanFlatLines(row, lines)
	})
}

// wholeRoster reads the roster of key, after the xmin of a snapshot in the
// same round trip, and caches it. The rows' snapshot, taken later, has an
// xmin no smaller (a transaction running at it either ran at the earlier
// one or was given its xid since, above that one's xmax), so the xmin read
// first is a watermark of the rows; so is rosterChanges' of rows read after
// it (rosterOf).
func (db *DB) wholeRoster(ctx context.Context, key intercom.RosterKey, lines *intercom.FlatLines) (*intercom.Roster, error) {
	b := &pgx.Batch{}
	var xmin int64
	b.Queue(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).QueryRow(func(row pgx.Row) error {
		return row.Scan(&xmin)
	})
	var out []*intercom.RosterRow
	b.Queue(rosterQuery, key.IntercomID, key.FlatOf(), nil).Query(func(rows pgx.Rows) error {
		var err error
		out, err = scanRoster(rows)
		return err
	})
	queueFlatLines(b, key, lines)
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrap(err)
	}
	r := intercom.NewRoster(out)
	db.rosters.put(key, rosterEntry{watermark: xmin, roster: r})
	return r, nil
}

// rosterRows reads the devices of an intercom's members (of flat) that have
// an unrevoked token, with those tokens: of every member, or of users only.
func (db *DB) rosterRows(ctx context.Context, key intercom.RosterKey, users []int64) ([]*intercom.RosterRow, error) {
	rows, err := db.pool.Query(ctx, rosterQuery, key.IntercomID, key.FlatOf(), users)
	if err != nil {
		return nil, wrap(err)
	}
	return scanRoster(rows)
}

// rosterQuery reads the roster rows of intercom $1 (of flat $2, if not
// null), of every member or of the accounts $3 only.
const rosterQuery = `SELECT d.id, d.user_id, d.uuid, d.client, m.status, m.title, s.is_enabled, s.timetable,
			array_agg(t.public_id ORDER BY t.id), array_agg(t.expires_at ORDER BY t.id),
			coalesce(d.fcm_token, ''), coalesce(d.voip_token, ''), coalesce(d.huawei_token, '')
		FROM memberships m
		JOIN devices d ON d.user_id = m.user_id
		JOIN access_tokens t ON t.device_id = d.id AND t.revoked_at IS NULL
		LEFT JOIN device_settings s ON s.device_id = d.id AND s.intercom_id = m.intercom_id
		WHERE m.intercom_id = $1 AND ($2::bigint IS NULL OR m.flat = $2) AND ($3::bigint[] IS NULL OR m.user_id = ANY ($3))
		GROUP BY d.id, m.user_id, m.intercom_id, s.device_id, s.intercom_id`

// scanRoster reads the rows of rosterQuery.
func scanRoster(rows pgx.Rows) ([]*intercom.RosterRow, error) {
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
