package sqlite

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// Every cached read (session, view, ring candidates) agrees with the same
// read made uncached, after random writes of every kind, some of them in one
// batch, while readers fill the caches: a differential check of what each
// write says it changed (write.go) against what it changes.
func TestCachesAgreeWithTheDatabase(t *testing.T) {
	seeds := int64(2)
	if testing.Short() {
		seeds = 1
	}
	for seed := int64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { cachesAgree(t, seed, 80) })
	}
}

func cachesAgree(t *testing.T, seed int64, steps int) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewSource(seed))
	t0 := time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC)
	cam, _ := db.CreateCamera(ctx, intercom.Camera{ID: 5, Status: "active", CreatedAt: t0})
	var ics []int64
	for i := 0; i < 2; i++ {
		ic, err := db.CreateIntercom(ctx, intercom.Intercom{Address: fmt.Sprint("a", i), SecretHash: []byte(fmt.Sprint("s", i)), DoorOpenSeconds: 7, CreatedAt: t0, CameraID: &cam.ID})
		if err != nil {
			t.Fatal(err)
		}
		ics = append(ics, ic.ID)
		db.PutKey(ctx, intercom.Key{IntercomID: ic.ID, ID: "k1"}, t0)
		db.PutKey(ctx, intercom.Key{IntercomID: ic.ID, ID: "k2", Flat: ptr64(2)}, t0)
	}
	var users []int64
	for i := 0; i < 3; i++ {
		u, _ := db.CreateUser(ctx, intercom.User{Login: fmt.Sprint("u", i), PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
		users = append(users, u.ID)
	}
	var toks []intercom.AccessToken
	now := t0
	var log []string
	check := func() {
		t.Helper()
		for _, tok := range toks {
			got, gerr := db.AccessTokenByHash(ctx, tok.Hash)
			want, werr := db.accessToken(ctx, tok.Hash)
			if intercom.ErrorCode(gerr) != intercom.ErrorCode(werr) || !cmp.Equal(got, want) {
				t.Fatalf("after %v\nsession %s: got %+v %v want %+v %v", log, tok.DeviceUUID, got, gerr, want, werr)
			}
			for _, ic := range ics {
				v := intercom.Viewer{UserID: tok.UserID, DeviceID: tok.DeviceID}
				got, gerr := db.Intercom(ctx, v, ic)
				want, werr := viewOne(db.reader(ctx), v, ic)
				werr = wrap(werr)
				if intercom.ErrorCode(gerr) != intercom.ErrorCode(werr) || (gerr == nil && !cmp.Equal(got, want)) {
					t.Fatalf("after %v\nview %v %d: %v %v\n%s", log, v, ic, gerr, werr, cmp.Diff(want, got))
				}
			}
		}
		for _, ic := range ics {
			for _, f := range []*int64{nil, ptr64(1), ptr64(2), ptr64(3)} {
				for _, at := range []time.Time{now, now.Add(30 * time.Minute), now.Add(2 * time.Hour)} {
					got, err := db.RingCandidates(ctx, ic, f, at)
					if err != nil {
						t.Fatal(err)
					}
					rows, _ := db.roster(ctx, intercom.RosterKeyOf(ic, f), nil)
					want := intercom.NewRoster(rows).Candidates(at)
					if len(got) == 0 && len(want) == 0 {
						continue
					}
					if d := cmp.Diff(want, got); d != "" {
						t.Fatalf("after %v\nroster %d %v: %s", log, ic, f, d)
					}
				}
			}
		}
	}
	pick := func(s []int64) int64 { return s[r.Intn(len(s))] }
	var mu sync.Mutex
	for step := 0; step < steps; step++ {
		check()
		now = now.Add(time.Duration(r.Intn(20)) * time.Minute)
		var wg sync.WaitGroup
		n := 1 + r.Intn(4)
		type opT struct {
			u, ic int64
			tok   intercom.AccessToken
			op    int
			r     *rand.Rand
		}
		ops := make([]opT, n)
		for i := range ops {
			ops[i] = opT{pick(users), pick(ics), intercom.AccessToken{}, r.Intn(22), rand.New(rand.NewSource(r.Int63()))}
			if len(toks) > 0 {
				ops[i].tok = toks[r.Intn(len(toks))]
			}
		}
		// concurrent readers warm caches while writes run
		stop := make(chan struct{})
		var rwg sync.WaitGroup
		mu.Lock()
		snap := append([]intercom.AccessToken(nil), toks...)
		mu.Unlock()
		for k := 0; k < 3; k++ {
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					for _, ic := range ics {
						for _, f := range []*int64{nil, ptr64(1), ptr64(2)} {
							db.RingCandidates(ctx, ic, f, now)
						}
						for _, tk := range snap {
							db.AccessTokenByHash(ctx, tk.Hash)
							db.Intercom(ctx, intercom.Viewer{UserID: tk.UserID, DeviceID: tk.DeviceID}, ic)
						}
					}
				}
			}()
		}
		for _, o := range ops {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, ic, tok, op, r := o.u, o.ic, o.tok, o.op, o.r
				if tok.ID != 0 {
					db.Intercom(ctx, intercom.Viewer{UserID: tok.UserID, DeviceID: tok.DeviceID}, ic)
				}
				var err error
				switch op {
				case 0:
					_, nt := intercom.NewAccessToken(u, fmt.Sprint("d", r.Intn(3)), []string{"ios", "android"}[r.Intn(2)], now, time.Hour)
					nt, err = db.CreateAccessToken(ctx, nt)
					if err == nil {
						mu.Lock()
						toks = append(toks, nt)
						mu.Unlock()
					}
				case 1:
					if tok.ID != 0 {
						err = db.RevokeAccessToken(ctx, tok.ID, now)
					}
				case 2:
					s := []string{intercom.StatusConfirmed, intercom.StatusKeyConfirmed}[r.Intn(2)]
					_, err = db.PutMembership(ctx, intercom.Membership{UserID: u, IntercomID: ic, Flat: ptr64(int64(1 + r.Intn(3))), Title: fmt.Sprint("t", r.Intn(9)), Status: s}, now)
				case 3:
					_, err = db.DeleteMembership(ctx, ic, u)
				case 4:
					if tok.ID != 0 {
						vw := intercom.Viewer{UserID: tok.UserID, DeviceID: tok.DeviceID}
						upd := intercom.IntercomUpdate{}
						if r.Intn(2) == 0 {
							upd.Title = ptr(fmt.Sprint("x", r.Intn(9)))
						}
						if r.Intn(2) == 0 {
							upd.IsEnabled = ptr(r.Intn(2) == 0)
						}
						if r.Intn(3) == 0 {
							tt := intercom.Timetable{}
							upd.Timetable = &tt
						}
						var got intercom.IntercomView
						got, err = db.UpdateIntercom(ctx, vw, ic, upd, now)
						if err == nil && n == 1 {
							want, _ := viewOne(db.reader(ctx), vw, ic)
							if d := cmp.Diff(want, got); d != "" {
								t.Errorf("UpdateIntercom answer: %s", d)
							}
						}
					}
				case 5:
					_, err = db.UpdateIntercomSettings(ctx, ic, func(i *intercom.Intercom) error {
						i.FirstFlat, i.LastFlat = ptr64(1), ptr64(int64(2+r.Intn(5)))
						i.OpenDoorCode = r.Intn(2) == 0
						i.OpenDoorKey = r.Intn(2) == 0
						return nil
					})
				case 6:
					_, err = db.RecordHeartbeats(ctx, map[int64]time.Time{ic: now})
				case 7:
					_, err = db.SweepOffline(ctx, now)
				case 8:
					err = db.SetCameraFavorite(ctx, u, cam.ID, r.Intn(2) == 0)
				case 9:
					if tok.ID != 0 {
						v := "tok" + fmt.Sprint(r.Intn(3))
						p := &v
						err = db.UpdatePushTokens(ctx, tok.DeviceID, intercom.PushTokensUpdate{FCM: &p, VoIP: &p}, now)
					}
				case 10:
					if tok.ID != 0 {
						err = db.ClearPushToken(ctx, tok.DeviceID, intercom.ChannelFCM, "tok"+fmt.Sprint(r.Intn(3)))
					}
				case 11:
					_, err = db.UnlinkIntercoms(ctx, u, []int64{ic})
				case 12:
					if r.Intn(5) == 0 {
						err = db.DeleteUser(ctx, u)
					}
				case 13:
					code := fmt.Sprint(100000 + r.Intn(3))
					err = db.CreatePairingCode(ctx, intercom.PairingCode{UserID: u, Code: code, Client: "ios", ExpiresAt: now.Add(time.Hour)}, now)
					if err == nil {
						_, err = db.Pair(ctx, ic, code, []string{"k1", "k2"}[r.Intn(2)], now.Add(time.Hour), now)
					}
				case 14:
					if tok.ID != 0 {
						vw := intercom.Viewer{UserID: tok.UserID, DeviceID: tok.DeviceID}
						var got intercom.IntercomView
						got, err = db.ChooseFlat(ctx, vw, ic, int64(1+r.Intn(3)), now)
						if err == nil && n == 1 {
							want, _ := viewOne(db.reader(ctx), vw, ic)
							if d := cmp.Diff(want, got); d != "" {
								t.Errorf("ChooseFlat answer: %s", d)
							}
						}
					}
				case 15:
					_, _, err = db.PutKey(ctx, intercom.Key{IntercomID: ic, ID: []string{"k1", "k2", "k3"}[r.Intn(3)], Flat: ptr64(int64(1 + r.Intn(3)))}, now)
				case 16:
					err = db.DeleteKey(ctx, ic, []string{"k1", "k2", "k3"}[r.Intn(3)])
				case 17:
					_, err = db.CreateVisitorCode(ctx, intercom.VisitorCode{UserID: u, IntercomID: ic, Code: fmt.Sprint(r.Intn(5)), ExpiredAt: now.Add(time.Hour), CreatedAt: now}, 5)
				case 18:
					_, err = db.CheckAccess(ctx, ic, intercom.AccessKey, "k1", now)
				case 19:
					_, err = db.CreateCall(ctx, intercom.NewCall(ic, ptr64(1), nil, intercom.CallLines{}, now))
				case 20:
					_, err = db.CreateIntercom(ctx, intercom.Intercom{Address: "n", SecretHash: []byte(fmt.Sprint("n", step)), CreatedAt: now})
				case 21:
					_, err = db.CreateCamera(ctx, intercom.Camera{Status: "x", CreatedAt: now})
				}
				mu.Lock()
				log = append(log, fmt.Sprintf("%d:%v", op, intercom.ErrorCode(err)))
				if len(log) > 12 {
					log = log[1:]
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(stop)
		rwg.Wait()
	}
	check()
}

func ptr64(v int64) *int64 { return &v }

func ptr[T any](v T) *T { return &v }
