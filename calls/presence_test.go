package calls_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"intercom"
	"intercom/calls"
	"intercom/clocktest"
	"intercom/local"
	"intercom/sqlite"
)

// manyPresence answers for many channels at once (intercom.PresenceMany),
// as the NATS bus does, and records how it was asked.
type manyPresence struct {
	bus
	open map[string]bool

	mu    sync.Mutex
	asked [][]string // each SubscribedMany's channels
	one   []string   // each Subscribed's channel
}

func (p *manyPresence) Subscribed(ch string) bool {
	p.mu.Lock()
	p.one = append(p.one, ch)
	p.mu.Unlock()
	return p.open[ch]
}

func (p *manyPresence) SubscribedMany(channels []string) []bool {
	p.mu.Lock()
	p.asked = append(p.asked, slices.Clone(channels))
	p.mu.Unlock()
	out := make([]bool, len(channels))
	for i, ch := range channels {
		out[i] = p.open[ch]
	}
	return out
}

// A ring asks a presence that can answer for many channels once, for every
// device it weighs, instead of once per token: on NATS each question is a
// round trip. The answers decide as one question each would.
func TestRingAsksPresenceOnce(t *testing.T) {
	presence := &manyPresence{open: map[string]bool{}}
	svc, db, ic, users := presenceWorld(t, presence, 4)
	ctx := t.Context()
	var want []string
	for i, u := range users {
		pub := "tok" + strconv.Itoa(i)
		if _, err := db.CreateAccessToken(ctx, intercom.AccessToken{PublicID: pub, Hash: []byte(pub), UserID: u.ID,
			DeviceUUID: "browser" + strconv.Itoa(i), Client: "web", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // sockets open for devices 0 and 2 only
			presence.open["private-token."+pub] = true
			want = append(want, "browser"+strconv.Itoa(i))
		}
	}
	c, err := svc.Ring(ctx, ic, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rung []string
	for _, d := range c.Devices {
		if d.Rung() {
			rung = append(rung, d.UUID)
			if !slices.Equal(d.Channels, []string{intercom.ChannelWS}) || d.SeenBy != intercom.SeenSocket {
				t.Errorf("device %s rung over %v, seen by %q; want over its socket, seen by it", d.UUID, d.Channels, d.SeenBy)
			}
		}
	}
	slices.Sort(rung)
	if !slices.Equal(rung, want) {
		t.Errorf("rung %v, want the devices with a socket open, %v", rung, want)
	}
	presence.mu.Lock()
	defer presence.mu.Unlock()
	if len(presence.asked) != 1 || len(presence.asked[0]) != 4 {
		t.Errorf("SubscribedMany asked %q, want once for the 4 devices' token channels", presence.asked)
	}
	// The history's notification (intercom.call.store), sent on a goroutine
	// of its own, asks about the accounts' channels, whenever it runs: only
	// the devices' token channels are the ring's question.
	var devices []string
	for _, ch := range presence.one {
		if strings.HasPrefix(ch, "private-token.") {
			devices = append(devices, ch)
		}
	}
	if len(devices) != 0 {
		t.Errorf("the ring asked Subscribed one device's channel at a time too: %q", devices)
	}
}

// An intercom coming online tells its members' listening accounts, asking
// a presence that can answer for many channels once for all the members.
func TestStatusAsksPresenceOnce(t *testing.T) {
	presence := &manyPresence{open: map[string]bool{}}
	svc, _, ic, users := presenceWorld(t, presence, 5)
	ctx := t.Context()
	var want []string
	for i, u := range users {
		if i != 3 {
			ch := "private-user." + strconv.FormatInt(u.ID, 10)
			presence.open[ch] = true
			want = append(want, ch+" intercom.status "+strconv.FormatInt(ic.ID, 10)+" true")
		}
	}
	if err := svc.Heartbeat(ctx, ic); err != nil {
		t.Fatal(err)
	}
	svc.Wait()
	if got := presence.bus.take(); !slices.Equal(got, want) {
		t.Errorf("events %q, want intercom.status to the 4 listening accounts %q", got, want)
	}
	presence.mu.Lock()
	defer presence.mu.Unlock()
	if len(presence.asked) != 1 || len(presence.asked[0]) != 5 {
		t.Errorf("SubscribedMany asked %q, want once for the 5 members", presence.asked)
	}
	if len(presence.one) != 0 {
		t.Errorf("asked Subscribed one channel at a time too: %q", presence.one)
	}
}

// presenceWorld is an intercom of members confirmed accounts on a SQLite
// store, and a calls service whose presence is p.
func presenceWorld(t *testing.T, p *manyPresence, members int) (*calls.Service, *sqlite.DB, intercom.Intercom, []intercom.User) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "calls.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	ic, err := db.CreateIntercom(ctx, intercom.Intercom{Address: "a", SecretHash: []byte("s"), DoorOpenSeconds: 5, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	var users []intercom.User
	for i := range members {
		u, err := db.CreateUser(ctx, intercom.User{Login: "user" + strconv.Itoa(i), PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.PutMembership(ctx, intercom.Membership{UserID: u.ID, IntercomID: ic.ID, Title: "t", Status: intercom.StatusConfirmed}, t0); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	clock := clocktest.New(t0.Add(time.Minute))
	svc := calls.New(calls.Config{Store: db, Broadcaster: &p.bus, Presence: p, Scheduler: local.NewScheduler(clock),
		Doors: local.NewLimiter(10, time.Minute, clock.Now), Clock: clock})
	t.Cleanup(svc.Close)
	return svc, db, ic, users
}
