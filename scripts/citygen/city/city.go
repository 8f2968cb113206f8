// Package city generates a city-sized intercomd dataset — houses of several
// entrances, an intercom per entrance, flats with their residents' accounts,
// devices, settings and live sessions, and a year of call history — and
// bulk-loads it straight into an empty, migrated database of either engine
// (Load). scripts/citygen runs it; the engines' EXPLAIN tests run it at a
// moderate size and check the plans of the hot paths (HotPaths) on it.
//
// Everything is a function of Config: the same seed, size and day give the
// same rows, but for the one password hash every account shares (argon2id
// with a fresh salt: hashing a million passwords would take hours, so one
// hash of Password is computed and stored for all).
package city

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"intercom"
)

// Password is every generated account's password.
const Password = "city-password"

// sendsDays is how far back the push sends go: retention keeps them 30
// days by default (intercom.DefaultRetention()), the calls a year.
const sendsDays = 30

// Config sizes a dataset.
type Config struct {
	Flats int   // flats in the city; intercoms ≈ Flats/20, devices ≈ 2×Flats
	Seed  int64 // every row is a function of it
	// CallsPerFlatWeek is the mean number of calls a flat gets a week;
	// Weeks is how far back the history goes.
	CallsPerFlatWeek float64
	Weeks            int
	// Now is the end of the history and the start of the sessions'
	// lifetimes; the zero value is today, 00:00 UTC.
	Now time.Time
}

// Defaults are the proportions scripts/citygen loads unless told otherwise.
// Half a call a flat a week keeps a year of 1M flats' history at ~22 GB on
// PostgreSQL; more is a flag away (history grows linearly with it).
var Defaults = Config{Flats: 1_000_000, Seed: 1, CallsPerFlatWeek: 0.5, Weeks: 52}

// Sample is one resident the benchmarks can act as, and the intercom of
// their entrance.
type Sample struct {
	UserID     int64
	Login      string
	Password   string
	DeviceID   int64
	DeviceUUID string
	Client     string
	Token      string // a live access token of the device (Authorization: Bearer)
	IntercomID int64
	Intercom   string // the intercom's secret (its panel's bearer)
	Flat       int64
}

// flat is one flat: its entrance, its number in the house, and its
// accounts' and devices' ids (consecutive).
type flat struct {
	intercom int32 // index into city.intercoms
	number   int32
	user0    int32
	dev0     int32
	users    uint8
	devs     uint8
}

// entrance is one intercom: its flats (consecutive) and its house.
type entrance struct {
	flat0, flats int32
	house        int32
	number       int8
}

// City is a generated dataset, held as the arithmetic that gives every row.
type City struct {
	cfg       Config
	hash      string // the password hash every account shares
	flats     []flat
	intercoms []entrance
	users     int64
	devices   int64
	days      int
	start     time.Time // the history's first day
	timetable []byte
	addresses []string // of each intercom
}

// New lays out the city of cfg: its houses, entrances, flats, accounts and
// devices. Calls are generated as they are written.
func New(cfg Config, passwordHash string) (*City, error) {
	if cfg.Flats < 1 {
		return nil, fmt.Errorf("city: want at least one flat, have %d", cfg.Flats)
	}
	if cfg.Flats > 50_000_000 {
		return nil, fmt.Errorf("city: %d flats is more than this generator lays out", cfg.Flats)
	}
	if cfg.CallsPerFlatWeek < 0 || cfg.Weeks < 0 {
		return nil, fmt.Errorf("city: calls per flat and week and weeks must not be negative")
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now().UTC().Truncate(24 * time.Hour)
	}
	tt, err := intercom.Timetable{}.MarshalBinary()
	if err != nil {
		return nil, err
	}
	c := &City{cfg: cfg, hash: passwordHash, days: cfg.Weeks * 7, timetable: tt}
	c.start = cfg.Now.AddDate(0, 0, -c.days)
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 1))
	c.flats = make([]flat, 0, cfg.Flats)
	var house int32
	for len(c.flats) < cfg.Flats {
		// A house: 1 to 8 entrances of 12 to 28 flats, numbered through.
		entrances := 1 + r.IntN(8)
		number := int32(1)
		for e := 0; e < entrances && len(c.flats) < cfg.Flats; e++ {
			n := min(12+r.IntN(17), cfg.Flats-len(c.flats))
			ic := entrance{flat0: int32(len(c.flats)), flats: int32(n), house: house, number: int8(e + 1)}
			for range n {
				// Devices: 1 (30%), 2 (45%), 3 (15%) or 4 (10%), shared by
				// one account (one or two devices) or two.
				devs := 1
				switch p := r.IntN(100); {
				case p >= 90:
					devs = 4
				case p >= 75:
					devs = 3
				case p >= 30:
					devs = 2
				}
				f := flat{intercom: int32(len(c.intercoms)), number: number,
					user0: int32(c.users + 1), dev0: int32(c.devices + 1),
					users: uint8((devs + 1) / 2), devs: uint8(devs)}
				c.flats = append(c.flats, f)
				c.users += int64(f.users)
				c.devices += int64(f.devs)
				number++
			}
			c.intercoms = append(c.intercoms, ic)
			c.addresses = append(c.addresses, address(ic))
		}
		house++
	}
	return c, nil
}

// mix is a deterministic 64-bit hash of the seed, a purpose and an id
// (SplitMix64's finalizer over their sum).
func (c *City) mix(purpose, id uint64) uint64 {
	z := uint64(c.cfg.Seed)*0x9e3779b97f4a7c15 + purpose*0xbf58476d1ce4e5b9 + id*0x94d049bb133111eb
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// bytes are n deterministic bytes for a purpose and an id.
func (c *City) bytes(purpose, id uint64, n int) []byte {
	b := make([]byte, 0, n+8)
	for i := uint64(0); len(b) < n; i++ {
		b = binary.LittleEndian.AppendUint64(b, c.mix(purpose, id*64+i))
	}
	return b[:n]
}

const (
	pUUID = iota + 1
	pToken
	pPublic
	pClient
	pPush
	pIntercom
	pEnabled
	pJoined
)

// device is what a device's rows need.
type device struct {
	id, user int64
	uuid     string
	client   string
	channel  string // its push channel
	enabled  bool   // its settings for its intercom
	publicID string
}

func (c *City) device(f flat, k int) device {
	id := int64(f.dev0) + int64(k)
	d := device{id: id, user: int64(f.user0) + int64(k%int(f.users))}
	u := c.bytes(pUUID, uint64(id), 16)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
	d.uuid = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	switch m := c.mix(pClient, uint64(id)) % 100; {
	case m < 40:
		d.client, d.channel = "ios", intercom.ChannelAPNsVoIP
	case m < 85:
		d.client, d.channel = "android", intercom.ChannelFCM
	default:
		d.client, d.channel = "android", intercom.ChannelHMS
	}
	d.enabled = c.mix(pEnabled, uint64(id))%100 >= 5
	d.publicID = hex.EncodeToString(c.bytes(pPublic, uint64(id), 20))
	return d
}

// token is the secret of device id's access token.
func (c *City) token(id int64) string {
	return base64.RawURLEncoding.EncodeToString(c.bytes(pToken, uint64(id), 32))
}

// intercomSecret is the secret of intercom i (index, id i+1).
func (c *City) intercomSecret(i int) string {
	return "city-" + hex.EncodeToString(c.bytes(pIntercom, uint64(i), 16))
}

func address(ic entrance) string {
	return fmt.Sprintf("Street %d, house %d, entrance %d", ic.house/40+1, ic.house%40+1, ic.number)
}

// Samples are n residents spread over the city (the first flat, the last,
// and between).
func (c *City) Samples(n int) []Sample {
	var out []Sample
	for i := range n {
		fi := 0
		if n > 1 {
			fi = int(int64(len(c.flats)-1) * int64(i) / int64(n-1))
		}
		f := c.flats[fi]
		d := c.device(f, 0)
		out = append(out, Sample{
			UserID: d.user, Login: login(d.user), Password: Password,
			DeviceID: d.id, DeviceUUID: d.uuid, Client: d.client, Token: c.token(d.id),
			IntercomID: int64(f.intercom) + 1, Intercom: c.intercomSecret(int(f.intercom)),
			Flat: int64(f.number),
		})
	}
	return out
}

func login(user int64) string { return fmt.Sprintf("resident%07d", user) }

// Table is one table's rows, in its primary key's order: Columns name the
// values of each row, which are int64, string, bool, time.Time, []byte,
// []string or nil (NULL). A row is reused: the consumer must use it before
// asking for the next.
type Table struct {
	Name    string
	Columns []string
	Rows    iter.Seq[[]any]
	// Identity is set for a table whose id the database would hand out:
	// its sequence must move past the ids written.
	Identity bool
}

// Tables are the tables the city fills, in foreign-key order.
func (c *City) Tables() []Table {
	return []Table{
		{Name: "users", Identity: true, Columns: cols("id login password_hash name created_at updated_at language"), Rows: c.userRows},
		{Name: "intercoms", Identity: true, Columns: cols(`id address department camera_id secret_hash control_url door_open_seconds
			last_heartbeat_at created_at online first_flat last_flat open_door_code open_door_key analog_line landline_line control_key`), Rows: c.intercomRows},
		{Name: "devices", Identity: true, Columns: cols("id user_id uuid client fcm_token apn_token voip_token huawei_token created_at updated_at lang"), Rows: c.deviceRows},
		{Name: "access_tokens", Identity: true, Columns: cols("id public_id token_hash user_id device_id created_at expires_at revoked_at ip user_agent last_used_at"), Rows: c.tokenRows},
		{Name: "memberships", Columns: cols("user_id intercom_id flat title status created_at updated_at key_id flat_by"), Rows: c.membershipRows},
		{Name: "device_settings", Columns: cols("device_id intercom_id is_enabled timetable updated_at"), Rows: c.settingsRows},
		{Name: "calls", Identity: true, Columns: cols(`id intercom_id flat status created_at started_at ended_at answered_by sip_number
			connected_at end_reason analog landline answered_on`), Rows: c.callRows},
		{Name: "call_devices", Columns: cols("call_id device_id user_id uuid client title channels reason tokens declined_at seen_at seen_by"), Rows: c.callDeviceRows},
		{Name: "call_accounts", Columns: cols("user_id call_id"), Rows: c.callAccountRows},
		{Name: "call_sends", Columns: cols("call_id device_id channel type attempts outcome status reason provider_id at"), Rows: c.callSendRows},
	}
}

// LargeTables are the tables the city fills with a row or more per flat (or
// per entrance): a hot path must not read any of them whole.
var LargeTables = []string{"users", "devices", "access_tokens", "intercoms", "memberships",
	"device_settings", "calls", "call_devices", "call_accounts", "call_sends"}

func cols(s string) []string { return strings.Fields(s) }

// joined is when the flat's residents joined: within the year before the
// history starts.
func (c *City) joined(id int64) time.Time {
	return c.start.Add(-time.Duration(c.mix(pJoined, uint64(id))%(365*24)) * time.Hour)
}

func (c *City) userRows(yield func([]any) bool) {
	row := make([]any, 7)
	for _, f := range c.flats {
		for k := range int64(f.users) {
			id := int64(f.user0) + k
			at := c.joined(id)
			row[0], row[1], row[2], row[3], row[4], row[5], row[6] = id, login(id), c.hash,
				fmt.Sprintf("Resident %d", id), at, at, ""
			if !yield(row) {
				return
			}
		}
	}
}

func (c *City) intercomRows(yield func([]any) bool) {
	row := make([]any, 17)
	at := c.start.AddDate(-1, 0, 0)
	for i, ic := range c.intercoms {
		hash, key := intercom.IntercomKeys(c.intercomSecret(i))
		first, last := c.flats[ic.flat0].number, c.flats[ic.flat0+ic.flats-1].number
		row[0], row[1], row[2], row[3], row[4], row[5], row[6] = int64(i+1), c.addresses[i], int64(ic.house%100+1), nil, hash, nil, int64(5)
		row[7], row[8], row[9], row[10], row[11] = nil, at, false, int64(first), int64(last)
		row[12], row[13], row[14], row[15], row[16] = false, false, false, false, append([]byte("plain:"), key...)
		if !yield(row) {
			return
		}
	}
}

func (c *City) deviceRows(yield func([]any) bool) {
	row := make([]any, 11)
	for _, f := range c.flats {
		for k := range int(f.devs) {
			d := c.device(f, k)
			at := c.joined(d.user)
			push := hex.EncodeToString(c.bytes(pPush, uint64(d.id), 32))
			row[4], row[5], row[6], row[7] = nil, nil, nil, nil
			switch d.channel {
			case intercom.ChannelAPNsVoIP:
				row[5], row[6] = push, "voip"+push
			case intercom.ChannelFCM:
				row[4] = push
			case intercom.ChannelHMS:
				row[7] = push
			}
			row[0], row[1], row[2], row[3], row[8], row[9], row[10] = d.id, d.user, d.uuid, d.client, at, at, "ru"
			if !yield(row) {
				return
			}
		}
	}
}

func (c *City) tokenRows(yield func([]any) bool) {
	row := make([]any, 11)
	for _, f := range c.flats {
		for k := range int(f.devs) {
			d := c.device(f, k)
			// A session is a year long; each was opened within the last
			// 180 days, so all are live at Now.
			at := c.cfg.Now.Add(-time.Duration(c.mix(pToken, uint64(d.id))%(180*24)) * time.Hour)
			row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = d.id, d.publicID, intercom.HashToken(c.token(d.id)), d.user, d.id, at, at.AddDate(1, 0, 0), nil
			row[8], row[9], row[10] = "10.0.0.1", "intercom-app/"+d.client, nil
			if !yield(row) {
				return
			}
		}
	}
}

func (c *City) membershipRows(yield func([]any) bool) {
	row := make([]any, 9)
	for _, f := range c.flats {
		for k := range int64(f.users) {
			id := int64(f.user0) + k
			at := c.joined(id)
			row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] = id, int64(f.intercom)+1, int64(f.number),
				c.addresses[f.intercom], intercom.StatusConfirmed, at, at, nil, nil
			if !yield(row) {
				return
			}
		}
	}
}

func (c *City) settingsRows(yield func([]any) bool) {
	row := make([]any, 5)
	for _, f := range c.flats {
		for k := range int(f.devs) {
			d := c.device(f, k)
			row[0], row[1], row[2], row[3], row[4] = d.id, int64(f.intercom)+1, d.enabled, c.timetable, c.joined(d.user)
			if !yield(row) {
				return
			}
		}
	}
}

// call is one generated call: when, which flat, and how it went.
type call struct {
	id       int64 // the order generated in its day, until sorted
	micros   int64 // since the start of its day
	at       time.Time
	flat     int32
	kind     uint8 // callAnswered, callMissed or callLeft
	answerer uint8 // the device that answered, of the flat's
	ring     time.Duration
	talk     time.Duration
}

const (
	callAnswered = iota // answered, talked, hung up: ended
	callMissed          // rang out: missed
	callLeft            // the visitor left while it rang: missed
)

// calls yields every call of the history in the order of its id, which is
// the order of time, day by day: each day's calls come from a generator of
// their own, so every table of the history sees the same calls.
func (c *City) calls(yield func(*call) bool) {
	var id int64
	var day []call
	for d := range c.days {
		r := rand.New(rand.NewPCG(uint64(c.cfg.Seed), uint64(1_000_000+d)))
		start := c.start.AddDate(0, 0, d)
		day = day[:0]
		for _, ic := range c.intercoms {
			mean := float64(ic.flats) * c.cfg.CallsPerFlatWeek / 7
			n := int(mean)
			if r.Float64() < mean-float64(n) {
				n++
			}
			for range n {
				// Visitors come by day: 8:00 to 22:00, the same spread.
				cl := call{id: int64(len(day)), micros: 8*3600e6 + r.Int64N(14*3600e6), flat: ic.flat0 + int32(r.IntN(int(ic.flats)))}
				f := c.flats[cl.flat]
				switch p := r.IntN(100); {
				case p < 60:
					cl.kind = callAnswered
					cl.answerer = uint8(r.IntN(int(f.devs)))
					cl.ring = time.Duration(3+r.IntN(20)) * time.Second
					cl.talk = time.Duration(10+r.IntN(110)) * time.Second
				case p < 90:
					cl.kind = callMissed
					cl.ring = 30 * time.Second
				default:
					cl.kind = callLeft
					cl.ring = time.Duration(5+r.IntN(20)) * time.Second
				}
				day = append(day, cl)
			}
		}
		// In time, ties in the order generated.
		slices.SortFunc(day, func(a, b call) int { return cmp.Or(cmp.Compare(a.micros, b.micros), cmp.Compare(a.id, b.id)) })
		for i := range day {
			id++
			day[i].id = id
			day[i].at = start.Add(time.Duration(day[i].micros) * time.Microsecond)
			if !yield(&day[i]) {
				return
			}
		}
	}
}

func (c *City) callRows(yield func([]any) bool) {
	row := make([]any, 14)
	for cl := range c.calls {
		f := c.flats[cl.flat]
		ended := cl.at.Add(cl.ring + cl.talk)
		row[0], row[1], row[2], row[4], row[6] = cl.id, int64(f.intercom)+1, int64(f.number), cl.at, ended
		row[8] = fmt.Sprintf("2%09d", cl.id%1_000_000_000)
		row[11], row[12], row[13] = false, "", ""
		if cl.kind == callAnswered {
			started := cl.at.Add(cl.ring)
			row[3], row[5], row[7], row[9] = intercom.CallEnded, started, c.device(f, int(cl.answerer)).id, started.Add(time.Second)
			row[10] = intercom.EndHungUp
		} else {
			row[3], row[5], row[7], row[9] = intercom.CallMissed, nil, nil, nil
			row[10] = intercom.EndRingTimeout
			if cl.kind == callLeft {
				row[10] = intercom.EndVisitorLeft
			}
		}
		if !yield(row) {
			return
		}
	}
}

func (c *City) callDeviceRows(yield func([]any) bool) {
	row := make([]any, 12)
	none := []string{}
	for cl := range c.calls {
		f := c.flats[cl.flat]
		title := c.addresses[f.intercom]
		for k := range int(f.devs) {
			d := c.device(f, k)
			row[0], row[1], row[2], row[3], row[4], row[5] = cl.id, d.id, d.user, d.uuid, d.client, title
			row[9], row[10], row[11] = nil, nil, ""
			if d.enabled {
				row[6], row[7], row[8] = []string{intercom.ChannelWS, d.channel}, "", []string{d.publicID}
				if cl.kind == callAnswered && k == int(cl.answerer) {
					row[10], row[11] = cl.at.Add(cl.ring), intercom.SeenAnswer
				}
			} else {
				row[6], row[7], row[8] = none, intercom.SkipDisabled, none
			}
			if !yield(row) {
				return
			}
		}
	}
}

func (c *City) callAccountRows(yield func([]any) bool) {
	row := make([]any, 2)
	for cl := range c.calls {
		f := c.flats[cl.flat]
		for k := range int64(f.users) {
			row[0], row[1] = int64(f.user0)+k, cl.id
			if !yield(row) {
				return
			}
		}
	}
}

// callSendRows are the pushes of the last sendsDays days' calls (older ones
// retention has purged): the ring to every rung device, and the cancel to
// those that did not answer an answered call.
func (c *City) callSendRows(yield func([]any) bool) {
	row := make([]any, 10)
	from := c.cfg.Now.AddDate(0, 0, -sendsDays)
	for cl := range c.calls {
		if cl.at.Before(from) {
			continue
		}
		f := c.flats[cl.flat]
		for k := range int(f.devs) {
			d := c.device(f, k)
			if !d.enabled {
				continue
			}
			row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9] = cl.id, d.id, d.channel,
				intercom.PushRing, int64(1), intercom.SendSent, int64(200), "", "", cl.at
			if !yield(row) {
				return
			}
			if cl.kind == callAnswered && k != int(cl.answerer) {
				row[3], row[9] = intercom.PushCancel, cl.at.Add(cl.ring)
				if !yield(row) {
					return
				}
			}
		}
	}
}

// checksum is a short digest of a city's layout, printed so that two runs
// can tell they made the same city.
func (c *City) checksum() string {
	h := sha256.New()
	for _, f := range c.flats {
		binary.Write(h, binary.LittleEndian, f)
	}
	for _, ic := range c.intercoms {
		binary.Write(h, binary.LittleEndian, ic)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
