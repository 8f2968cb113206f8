package members

import (
	"context"
	"strconv"

	"intercom"
	"intercom/wire"
)

// CreateVisitorCode gives c (title and expiry parsed, of account userID's
// intercom v) fresh digits and stores it; the account's sockets but
// exceptSocket hear of it (intercom.code.store). EINVALID when the intercom
// does not open by code, ErrTooManyCodes past Pairing().MaxVisitorCodes.
func (s *Service) CreateVisitorCode(ctx context.Context, userID int64, v intercom.IntercomView, c intercom.VisitorCode,
	exceptSocket string) (intercom.VisitorCode, error) {
	if !v.Intercom.OpenDoorCode {
		return c, intercom.Invalid("intercom", "The intercom does not open the door by code.")
	}
	c.UserID, c.IntercomID = userID, v.Intercom.ID
	var made intercom.VisitorCode
	err := withFreshCode(s.pairing.VisitorCodeLength, func(code string) error {
		c.Code = code
		var err error
		made, err = s.store.CreateVisitorCode(ctx, c, s.pairing.MaxVisitorCodes)
		return err
	})
	if err != nil {
		return made, err
	}
	out := wire.VisitorCodeOf(made, s.intercomJSON(v), s.now())
	s.toAccount(c.UserID, "intercom.code.store", func() map[string]any { return map[string]any{"intercom_code": out} }, exceptSocket)
	return made, nil
}

// DeleteVisitorCodes removes those of ids that are the account's codes; its
// other sockets hear of those.
func (s *Service) DeleteVisitorCodes(ctx context.Context, userID int64, ids []int64, exceptSocket string) error {
	return s.remove(ctx, s.store.DeleteVisitorCodes, "intercom.code.delete", userID, ids, exceptSocket)
}

// CheckKey decides whether a key opens panel ic's door now, and records the
// decision (intercom.DecideKey).
func (s *Service) CheckKey(ctx context.Context, ic intercom.Intercom, key string) (intercom.AccessEntry, error) {
	return s.store.CheckAccess(ctx, ic.ID, intercom.AccessKey, key, s.now())
}

// CheckCode decides whether a visitor code opens panel ic's door now, and
// records the decision (intercom.DecideCode). Codes that match nothing are
// guesses: past GuessMax of them the attempt is recorded as throttled and
// refused (ETOOMANY).
func (s *Service) CheckCode(ctx context.Context, ic intercom.Intercom, code string) (intercom.AccessEntry, error) {
	guess := "access:" + strconv.FormatInt(ic.ID, 10)
	at, wait, ok, err := s.guesses.Attempt(ctx, guess)
	if err != nil {
		return intercom.AccessEntry{}, err
	}
	if !ok {
		e, err := s.store.RecordAccess(ctx, intercom.AccessEntry{IntercomID: ic.ID, Kind: intercom.AccessCode,
			Credential: code, At: s.now(), Reason: intercom.ReasonThrottled})
		if err != nil {
			return e, err
		}
		return e, &intercom.Error{Code: intercom.ETOOMANY, RetryAfter: wait,
			Message: "Too many wrong codes. Please try again in " + intercom.SecondsText(wait) + "."}
	}
	e, err := s.store.CheckAccess(ctx, ic.ID, intercom.AccessCode, code, s.now())
	if err != nil || e.Reason != intercom.ReasonUnknownCode {
		// Only a code that matched nothing is a guess.
		s.guesses.Refund(background(ctx), at, guess)
	}
	return e, err
}
