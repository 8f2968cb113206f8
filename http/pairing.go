package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"intercom"
	"intercom/wire"
)

// PairingConfig sets the pairing and visitor codes (issue 11); zero values
// take the domain's defaults.
type PairingConfig struct {
	CodeLength        int           // digits of a pairing code
	CodeTTL           time.Duration // lifetime of a pairing code
	FlatChoiceTTL     time.Duration // how long a key_confirmed pairing waits for its flat
	VisitorCodeLength int           // digits of a visitor code
	MaxVisitorCodes   int           // live visitor codes per account
}

func (c *PairingConfig) defaults() {
	if c.CodeLength <= 0 {
		c.CodeLength = intercom.DefaultPairingCodeLength
	}
	if c.CodeTTL <= 0 {
		c.CodeTTL = intercom.DefaultPairingCodeTTL
	}
	if c.FlatChoiceTTL <= 0 {
		c.FlatChoiceTTL = intercom.DefaultFlatChoiceTTL
	}
	if c.VisitorCodeLength <= 0 {
		c.VisitorCodeLength = intercom.DefaultVisitorCodeLength
	}
	if c.MaxVisitorCodes <= 0 {
		c.MaxVisitorCodes = intercom.DefaultMaxVisitorCodes
	}
}

// Guessing at a panel (pairing codes, visitor codes) is throttled per
// intercom: GuessMax wrong codes in GuessWindow, on every node.
const (
	GuessMax    = 10
	GuessWindow = 5 * time.Minute
)

// codeAttempts is how often a fresh random code is drawn when the one drawn
// is taken.
const codeAttempts = 8

// startPairing is POST /api/v1/intercom: a pairing code for the account.
func (s *Server) startPairing(w http.ResponseWriter, r *http.Request, sess session) error {
	now := s.now()
	pc := intercom.PairingCode{UserID: sess.token.UserID, Client: sess.client, ExpiresAt: now.Add(s.pairing.CodeTTL)}
	var err error
	for range codeAttempts {
		pc.Code = intercom.RandomDigits(s.pairing.CodeLength)
		if err = s.store.CreatePairingCode(r.Context(), pc, now); intercom.ErrorCode(err) != intercom.ECONFLICT {
			break
		}
	}
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, struct {
		Code            string `json:"code"`
		ExpireInSeconds int    `json:"expire_in_seconds"`
	}{pc.Code, int(s.pairing.CodeTTL / time.Second)})
}

// intercomDialect is the intercom object as the app that asked for the
// pairing code decodes it: the iOS SDK's status enum spells key_confirmed
// "keyConfirmed" (reference §B.8), the others as the docs do.
func intercomDialect(v wire.Intercom, client string) wire.Intercom {
	if v.Status == intercom.StatusKeyConfirmed && (client == "ios" || client == "ios-cctv") {
		v.Status = "keyConfirmed"
	}
	return v
}

var pairErrors = map[string]struct{ event, key, text string }{
	intercom.PairUnknownCode:  {"", "code", "The selected code is invalid."},
	intercom.PairUnknownKey:   {"intercom.key_error", "key", "The key is not registered for this intercom."},
	intercom.PairKeyTaken:     {"intercom.key_error", "key", "The key is already paired with another account."},
	intercom.PairAlreadyAdded: {"intercom.add_error", "code", "The intercom has already been added."},
}

// hwPairing is POST /api/hw/v1/pairing: a resident typed their code and
// touched their key at this intercom.
func (s *Server) hwPairing(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	code := intercom.Body(body).RequiredString("code", 32, &p)
	key := intercom.Body(body).RequiredString("key", intercom.MaxKeyID, &p)
	if key != "" && !intercom.ValidKeyID(key) {
		p.Add("key", intercom.MsgFormat("key"))
	}
	if err := p.Err(); err != nil {
		return err
	}
	// Every attempt counts until it succeeds: a panel cannot enumerate codes.
	guess := "pair:" + strconv.FormatInt(ic.ID, 10)
	at, wait, ok, err := s.guesses.Attempt(r.Context(), guess)
	if err != nil {
		return err
	}
	if !ok {
		return &intercom.Error{Code: intercom.ETOOMANY, RetryAfter: wait,
			Message: "Too many pairing attempts. Please try again in " + secondsText(wait) + "."}
	}
	now := s.now()
	res, err := s.store.Pair(r.Context(), ic.ID, code, key, now.Add(s.pairing.FlatChoiceTTL), now)
	if err != nil {
		s.guesses.Refund(context.WithoutCancel(r.Context()), at, guess)
		return err
	}
	if res.Problem == "" {
		s.guesses.Refund(context.WithoutCancel(r.Context()), at, guess)
		expires := int(s.pairing.FlatChoiceTTL / time.Second)
		obj := intercomDialect(s.intercomJSON(res.View), res.Client)
		s.toUser(res.UserID, "intercom.key_confirmed", func() map[string]any {
			return map[string]any{"intercom": obj, "expire_in_seconds": expires}
		}, "")
		return encode(w, http.StatusOK, struct {
			Status          string `json:"status"`
			ExpireInSeconds int    `json:"expire_in_seconds"`
		}{intercom.StatusKeyConfirmed, expires})
	}
	if res.Problem != intercom.PairUnknownCode {
		// A code that named an account is no guess.
		s.guesses.Refund(context.WithoutCancel(r.Context()), at, guess)
	}
	pe := pairErrors[res.Problem]
	if pe.event != "" && res.UserID != 0 {
		s.toUser(res.UserID, pe.event, func() map[string]any { return map[string]any{"error": pe.text} }, "")
	}
	return intercom.Invalid(pe.key, pe.text)
}

// chooseFlat is POST /api/v1/intercom/{intercom}/flat: the account's
// pairing with this intercom becomes confirmed with its flat.
func (s *Server) chooseFlat(w http.ResponseWriter, r *http.Request, sess session) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	// Only the form of the flat is checked here, the same for every
	// intercom: its range is checked by the store once the account's
	// pairing is found, so that another intercom is 404 whatever the flat
	// (neither its existence nor its range leaks).
	flat, err := intercom.ParseFlat(body, math.MinInt64, math.MaxInt64)
	if err != nil {
		return err
	}
	v, err := s.store.ChooseFlat(r.Context(), sess.viewer(), id, flat, s.now())
	if err != nil {
		return err
	}
	out := s.intercomJSON(v)
	s.toUser(sess.token.UserID, "intercom.store", func() map[string]any { return map[string]any{"intercom": out} },
		r.Header.Get("X-Socket-ID"))
	return encode(w, http.StatusOK, out)
}

// visitorCodeJSON is a visitor code as the apps decode it (reference §B.5),
// its dates in the form iOS parses.
type visitorCodeJSON struct {
	ID            int64              `json:"id"`
	Title         string             `json:"title"`
	Code          string             `json:"code"`
	ExpiredAt     string             `json:"expired_at"`
	CreatedAt     string             `json:"created_at"`
	WillDeletedAt string             `json:"will_deleted_at"`
	IsExpired     bool               `json:"is_expired"`
	Intercom      wire.ShortIntercom `json:"intercom"`
}

func codeTime(t time.Time) string { return t.UTC().Format(intercom.CodeTime) }

func (s *Server) visitorCodeJSON(c intercom.VisitorCode, v intercom.IntercomView) visitorCodeJSON {
	full := s.intercomJSON(v)
	return visitorCodeJSON{ID: c.ID, Title: c.Title, Code: c.Code, ExpiredAt: codeTime(c.ExpiredAt), CreatedAt: codeTime(c.CreatedAt),
		WillDeletedAt: codeTime(c.WillDeletedAt()), IsExpired: c.Expired(s.now()),
		Intercom: wire.ShortIntercom{ID: full.ID, Title: full.Title, IsOnline: full.IsOnline, Department: full.Department,
			Address: full.Address, Camera: full.Camera, CreatedAt: full.CreatedAt, UpdatedAt: full.UpdatedAt}}
}

// listVisitorCodes is GET /api/v1/intercom/codes.
func (s *Server) listVisitorCodes(w http.ResponseWriter, r *http.Request, sess session) error {
	var p intercom.Problems
	page := parsePage(r.URL.Query(), &p)
	if err := p.Err(); err != nil {
		return err
	}
	codes, total, err := s.store.VisitorCodes(r.Context(), sess.token.UserID, page, s.now())
	if err != nil {
		return err
	}
	var ids []int64
	for _, c := range codes {
		ids = append(ids, c.IntercomID)
	}
	views, err := s.store.IntercomsByIDs(r.Context(), intercom.Viewer{UserID: sess.token.UserID}, ids)
	if err != nil {
		return err
	}
	byID := map[int64]intercom.IntercomView{}
	for _, v := range views {
		byID[v.Intercom.ID] = v
	}
	out := make([]visitorCodeJSON, 0, len(codes))
	for _, c := range codes {
		v, ok := byID[c.IntercomID]
		if !ok {
			continue // unlinked since: its codes are gone too
		}
		out = append(out, s.visitorCodeJSON(c, v))
	}
	return encode(w, http.StatusOK, s.paginate(r, page, total, out))
}

// createVisitorCode is POST /api/v1/intercom/{intercom}/codes.
func (s *Server) createVisitorCode(w http.ResponseWriter, r *http.Request, sess session) error {
	v, err := s.pathIntercom(r, sess)
	if err != nil {
		return err
	}
	body, err := decode(r)
	if err != nil {
		return err
	}
	now := s.now()
	c, err := intercom.ParseVisitorCode(body, now)
	if err != nil {
		return err
	}
	if !v.Intercom.OpenDoorCode {
		return intercom.Invalid("intercom", "The intercom does not open the door by code.")
	}
	c.UserID, c.IntercomID = sess.token.UserID, v.Intercom.ID
	for range codeAttempts {
		c.Code = intercom.RandomDigits(s.pairing.VisitorCodeLength)
		var cerr error
		c, cerr = s.store.CreateVisitorCode(r.Context(), c, s.pairing.MaxVisitorCodes)
		if err = cerr; intercom.ErrorCode(err) != intercom.ECONFLICT {
			break
		}
	}
	if err != nil {
		return err
	}
	out := s.visitorCodeJSON(c, v)
	s.toUser(sess.token.UserID, "intercom.code.store", func() map[string]any { return map[string]any{"intercom_code": out} },
		r.Header.Get("X-Socket-ID"))
	return encode(w, http.StatusOK, out)
}

// deleteVisitorCodes is DELETE /api/v1/intercom/codes: others' ids are
// ignored.
func (s *Server) deleteVisitorCodes(w http.ResponseWriter, r *http.Request, sess session) error {
	return s.deleteIDs(w, r, sess, s.store.DeleteVisitorCodes, "intercom.code.delete")
}

// hwAccess is POST /api/hw/v1/access: does this key or code open the door?
// Every decision is recorded; wrong codes are throttled per intercom.
func (s *Server) hwAccess(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	body, err := decode(r)
	if err != nil {
		return err
	}
	var p intercom.Problems
	key := intercom.Body(body).String("key", intercom.MaxKeyID, &p)
	code := intercom.Body(body).String("code", 32, &p)
	switch {
	case p.Len() > 0:
	case (key == nil) == (code == nil):
		p.Add("key", "The key field is required when code is not present, and prohibited when it is.")
	case key != nil && !intercom.ValidKeyID(*key):
		p.Add("key", intercom.MsgFormat("key"))
	case code != nil && (*code == "" || strings.Trim(*code, "0123456789") != ""):
		p.Add("code", intercom.MsgFormat("code"))
	}
	if err := p.Err(); err != nil {
		return err
	}
	var e intercom.AccessEntry
	if key != nil {
		e, err = s.store.CheckAccess(r.Context(), ic.ID, intercom.AccessKey, *key, s.now())
	} else {
		guess := "access:" + strconv.FormatInt(ic.ID, 10)
		at, wait, ok, aerr := s.guesses.Attempt(r.Context(), guess)
		if aerr != nil {
			return aerr
		}
		if !ok {
			if _, err := s.store.RecordAccess(r.Context(), intercom.AccessEntry{IntercomID: ic.ID, Kind: intercom.AccessCode,
				Credential: *code, At: s.now(), Reason: intercom.ReasonThrottled}); err != nil {
				return err
			}
			return &intercom.Error{Code: intercom.ETOOMANY, RetryAfter: wait,
				Message: "Too many wrong codes. Please try again in " + secondsText(wait) + "."}
		}
		e, err = s.store.CheckAccess(r.Context(), ic.ID, intercom.AccessCode, *code, s.now())
		if err != nil || e.Reason != intercom.ReasonUnknownCode {
			// Only a code that matched nothing is a guess.
			s.guesses.Refund(context.WithoutCancel(r.Context()), at, guess)
		}
	}
	if err != nil {
		return err
	}
	if e.Open {
		return encode(w, http.StatusOK, struct {
			Open            bool `json:"open"`
			DoorOpenSeconds int  `json:"door_open_seconds"`
		}{true, ic.DoorOpenSeconds})
	}
	return encode(w, http.StatusOK, struct {
		Open   bool   `json:"open"`
		Reason string `json:"reason"`
	}{false, e.Reason})
}

// hwCredentials is GET /api/hw/v1/credentials: what a panel needs to decide
// alone while the network is down. The ETag is a hash of the body, so every
// node gives the same one for the same credentials.
func (s *Server) hwCredentials(w http.ResponseWriter, r *http.Request, ic intercom.Intercom) error {
	now := s.now()
	ic, keys, codes, err := s.store.Credentials(r.Context(), ic.ID, now)
	if err != nil {
		return err
	}
	type keyJSON struct {
		Key  string `json:"key"`
		Flat *int64 `json:"flat"`
	}
	type codeJSON struct {
		Code      string `json:"code"`
		ExpiredAt string `json:"expired_at"`
	}
	out := struct {
		IsOpenDoorKey   bool       `json:"is_open_door_key"`
		IsOpenDoorCode  bool       `json:"is_open_door_code"`
		DoorOpenSeconds int        `json:"door_open_seconds"`
		Keys            []keyJSON  `json:"keys"`
		Codes           []codeJSON `json:"codes"`
	}{ic.OpenDoorKey, ic.OpenDoorCode, ic.DoorOpenSeconds, []keyJSON{}, []codeJSON{}}
	if ic.OpenDoorKey {
		for _, k := range keys {
			out.Keys = append(out.Keys, keyJSON{k.ID, k.Flat})
		}
	}
	if ic.OpenDoorCode {
		for _, c := range codes {
			out.Codes = append(out.Codes, codeJSON{c.Code, codeTime(c.ExpiredAt)})
		}
	}
	b, err := marshal(out)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

// etagMatch reports whether an If-None-Match header names etag (weakly, as
// RFC 9110 says for If-None-Match).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// marshal is encode's JSON, as bytes.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
