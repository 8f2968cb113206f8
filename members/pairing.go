package members

import (
	"context"
	"strconv"

	"intercom"
	"intercom/wire"
)

// StartPairing gives the account, on the app of client, a fresh pairing
// code, replacing its previous one; it lives Pairing().CodeTTL.
func (s *Service) StartPairing(ctx context.Context, userID int64, client string) (intercom.PairingCode, error) {
	now := s.now()
	pc := intercom.PairingCode{UserID: userID, Client: client, ExpiresAt: now.Add(s.pairing.CodeTTL)}
	err := withFreshCode(s.pairing.CodeLength, func(code string) error {
		pc.Code = code
		return s.store.CreatePairingCode(ctx, pc, now)
	})
	return pc, err
}

var pairErrors = map[string]struct{ event, key, text string }{
	intercom.PairUnknownCode:  {"", "code", "The selected code is invalid."},
	intercom.PairUnknownKey:   {"intercom.key_error", "key", "The key is not registered for this intercom."},
	intercom.PairKeyTaken:     {"intercom.key_error", "key", "The key is already paired with another account."},
	intercom.PairAlreadyAdded: {"intercom.add_error", "code", "The intercom has already been added."},
}

// Pair takes a code typed and a key touched at panel ic. Success gives the
// code's account a pairing waiting Pairing().FlatChoiceTTL for its flat, and
// tells its apps (intercom.key_confirmed, in the dialect of the app that
// asked for the code). A problem is EINVALID on code or key, and the
// account, when the code named one, hears of it (intercom.key_error,
// intercom.add_error). Every attempt counts against the intercom's guesses
// until it succeeds or names an account (ETOOMANY past GuessMax): a panel
// cannot enumerate codes.
func (s *Service) Pair(ctx context.Context, ic intercom.Intercom, code, key string) error {
	guess := "pair:" + strconv.FormatInt(ic.ID, 10)
	at, wait, ok, err := s.guesses.Attempt(ctx, guess)
	if err != nil {
		return err
	}
	if !ok {
		return &intercom.Error{Code: intercom.ETOOMANY, RetryAfter: wait,
			Message: "Too many pairing attempts. Please try again in " + intercom.SecondsText(wait) + "."}
	}
	now := s.now()
	res, err := s.store.Pair(ctx, ic.ID, code, key, now.Add(s.pairing.FlatChoiceTTL), now)
	if err != nil || res.Problem != intercom.PairUnknownCode {
		// A failure of ours, a success, and a code that named an account are
		// no guesses.
		s.guesses.Refund(background(ctx), at, guess)
	}
	if err != nil {
		return err
	}
	if res.Problem == "" {
		s.log.Info("pairing: key confirmed", "intercom_id", ic.ID, "user_id", res.UserID)
		expires := int(s.pairing.FlatChoiceTTL.Seconds())
		obj := wire.IntercomDialect(s.intercomJSON(res.View), res.Client)
		s.toAccount(res.UserID, "intercom.key_confirmed", func() map[string]any {
			return map[string]any{"intercom": obj, "expire_in_seconds": expires}
		}, "")
		return nil
	}
	s.log.Info("pairing refused", "intercom_id", ic.ID, "user_id", res.UserID, "problem", res.Problem)
	pe := pairErrors[res.Problem]
	if pe.event != "" && res.UserID != 0 {
		s.toAccount(res.UserID, pe.event, func() map[string]any { return map[string]any{"error": pe.text} }, "")
	}
	return intercom.Invalid(pe.key, pe.text)
}

// ChooseFlat confirms the viewer's pairing with intercom id with flat
// (intercom.CheckFlat, in the store's transaction) and tells the account's
// sockets but exceptSocket (intercom.store). ENOTFOUND when there is no
// pairing waiting.
func (s *Service) ChooseFlat(ctx context.Context, v intercom.Viewer, id, flat int64, exceptSocket string) (intercom.IntercomView, error) {
	view, err := s.store.ChooseFlat(ctx, v, id, flat, s.now())
	if err != nil {
		return view, err
	}
	s.log.Info("pairing: flat chosen", "intercom_id", id, "user_id", v.UserID, "flat", flat)
	out := s.intercomJSON(view)
	s.toAccount(v.UserID, "intercom.store", func() map[string]any { return map[string]any{"intercom": out} }, exceptSocket)
	return view, nil
}
