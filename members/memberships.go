package members

import (
	"context"

	"intercom"
)

// PutMembership creates or replaces a membership (the operator's), and
// tells the account's apps from what the store changed: an intercom that
// became theirs (intercom.store), a changed one (intercom.rename), or one
// that is no longer theirs (intercom.delete). A pairing in progress
// (key_confirmed) is not theirs: nothing is said of it.
func (s *Service) PutMembership(ctx context.Context, m intercom.Membership) (intercom.Membership, error) {
	ch, err := s.store.PutMembership(ctx, m, s.now())
	if err != nil {
		return ch.Membership, err
	}
	switch {
	case ch.View != nil:
		typ := "intercom.rename"
		if !ch.WasConfirmed {
			typ = "intercom.store"
		}
		v := *ch.View
		s.toAccount(m.UserID, typ, func() map[string]any { return map[string]any{"intercom": s.intercomJSON(v)} }, "")
	case ch.WasConfirmed:
		s.deleted(m.UserID, "intercom.delete", []int64{m.IntercomID}, "")
	}
	return ch.Membership, nil
}

// DeleteMembership unlinks an account from an intercom (the operator's);
// its apps hear of it when the intercom was theirs. ENOTFOUND.
func (s *Service) DeleteMembership(ctx context.Context, intercomID, userID int64) error {
	m, err := s.store.DeleteMembership(ctx, intercomID, userID)
	if err != nil {
		return err
	}
	if m.Status == intercom.StatusConfirmed { // a pairing in progress was never the account's intercom
		s.deleted(userID, "intercom.delete", []int64{intercomID}, "")
	}
	return nil
}

// UpdateIntercom applies an account's changes to one of its intercoms (the
// title to the account, the rest to the viewer's device) and tells the
// account's sockets but exceptSocket: intercom.rename for a title,
// intercom.update for the device's settings or the flat's lines (other
// accounts of the flat see those at their next read). ENOTFOUND.
func (s *Service) UpdateIntercom(ctx context.Context, v intercom.Viewer, id int64, u intercom.IntercomUpdate,
	exceptSocket string) (intercom.IntercomView, error) {
	view, err := s.store.UpdateIntercom(ctx, v, id, u, s.now())
	if err != nil {
		return view, err
	}
	out := s.intercomJSON(view)
	if u.Title != nil {
		s.toAccount(v.UserID, "intercom.rename", func() map[string]any { return map[string]any{"intercom": out} }, exceptSocket)
	}
	if u.IsEnabled != nil || u.Timetable != nil || u.Analog != nil || u.Landline != nil {
		s.toAccount(v.UserID, "intercom.update", func() map[string]any { return map[string]any{"intercom": out} }, exceptSocket)
	}
	return view, nil
}

// UnlinkIntercoms makes the account leave those of ids that are its
// intercoms, with its calls from them; its other sockets hear of those.
func (s *Service) UnlinkIntercoms(ctx context.Context, userID int64, ids []int64, exceptSocket string) error {
	return s.remove(ctx, s.store.UnlinkIntercoms, "intercom.delete", userID, ids, exceptSocket)
}
