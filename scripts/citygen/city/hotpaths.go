package city

import (
	"context"
	"fmt"
	"time"

	"intercom"
)

// HotPath is what the store does for one of the requests intercomd serves
// most.
type HotPath struct {
	Name string
	Run  func(ctx context.Context) error
}

// HotPaths are the store calls of intercomd's most frequent requests, as
// resident s makes them at instant at (within the sessions' lives): every
// authenticated request's look-up of its token, a login, the intercom list
// and one intercom's view, a PATCH of the device's settings (each run
// flips is_enabled, so that each writes), the ring decision at the
// resident's intercom (the panel's authentication, the flat's lines and its
// candidates), and the first page of the resident's call history.
// Each checks what it read, so that a dataset the engine cannot read
// fails too.
func HotPaths(st intercom.Store, s Sample, at time.Time) []HotPath {
	viewer := intercom.Viewer{UserID: s.UserID, DeviceID: s.DeviceID}
	enabled := false
	return []HotPath{
		{"authenticate", func(ctx context.Context) error {
			tok, err := st.AccessTokenByHash(ctx, intercom.HashToken(s.Token))
			if err != nil {
				return err
			}
			if tok.UserID != s.UserID || !tok.Live(at) {
				return fmt.Errorf("the token of %s is account %d's, live %v", s.Login, tok.UserID, tok.Live(at))
			}
			return nil
		}},
		{"login", func(ctx context.Context) error {
			u, err := st.UserByLogin(ctx, s.Login)
			if err != nil {
				return err
			}
			_, tok := intercom.NewAccessToken(u.ID, s.DeviceUUID, s.Client, at, 365*24*time.Hour)
			_, err = st.OpenSession(ctx, tok, func([]intercom.AccessToken) ([]int64, error) { return nil, nil })
			return err
		}},
		{"intercom list", func(ctx context.Context) error {
			views, total, err := st.Intercoms(ctx, viewer, intercom.Page{Page: 1, PerPage: 20})
			if err != nil {
				return err
			}
			if total != 1 || len(views) != 1 {
				return fmt.Errorf("%s sees %d intercoms (%d on the page), want 1", s.Login, total, len(views))
			}
			return nil
		}},
		{"intercom view", func(ctx context.Context) error {
			_, err := st.Intercom(ctx, viewer, s.IntercomID)
			return err
		}},
		{"settings PATCH", func(ctx context.Context) error {
			enabled = !enabled
			v, err := st.UpdateIntercom(ctx, viewer, s.IntercomID, intercom.IntercomUpdate{IsEnabled: &enabled}, at)
			if err != nil {
				return err
			}
			if v.Settings.IsEnabled != enabled {
				return fmt.Errorf("is_enabled is %v after setting it %v", v.Settings.IsEnabled, enabled)
			}
			return nil
		}},
		{"ring decision", func(ctx context.Context) error {
			ic, err := st.IntercomBySecretHash(ctx, intercom.IntercomSecretHash(s.Intercom))
			if err != nil {
				return err
			}
			flat := s.Flat
			cands, _, err := intercom.ReadRing(ctx, st, ic.ID, &flat, at) // as calls.Service.Ring reads
			if err != nil {
				return err
			}
			if len(cands) == 0 {
				return fmt.Errorf("a ring at intercom %d, flat %d finds no device", ic.ID, flat)
			}
			return nil
		}},
		{"history page", func(ctx context.Context) error {
			_, _, err := st.CallsOf(ctx, s.UserID, intercom.CallFilter{}, intercom.Page{Page: 1, PerPage: 20})
			return err
		}},
	}
}
