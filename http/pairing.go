package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"time"

	"intercom"
	"intercom/wire"
)

// startPairing is POST /api/v1/intercom: a pairing code for the account.
func (s *Server) startPairing(w http.ResponseWriter, r *http.Request, sess session) error {
	pc, err := s.members.StartPairing(r.Context(), sess.token.UserID, sess.client)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, struct {
		Code            string `json:"code"`
		ExpireInSeconds int    `json:"expire_in_seconds"`
	}{pc.Code, int(s.members.Pairing().CodeTTL / time.Second)})
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
	if err := s.members.Pair(r.Context(), ic, code, key); err != nil {
		return err
	}
	return encode(w, http.StatusOK, struct {
		Status          string `json:"status"`
		ExpireInSeconds int    `json:"expire_in_seconds"`
	}{intercom.StatusKeyConfirmed, int(s.members.Pairing().FlatChoiceTTL / time.Second)})
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
	v, err := s.members.ChooseFlat(r.Context(), sess.viewer(), id, flat, r.Header.Get("X-Socket-ID"))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.intercomJSON(v))
}

func (s *Server) visitorCodeJSON(c intercom.VisitorCode, v intercom.IntercomView) wire.VisitorCode {
	return wire.VisitorCodeOf(c, s.intercomJSON(v), s.now())
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
	out := make([]wire.VisitorCode, 0, len(codes))
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
	c, err := intercom.ParseVisitorCode(body, s.now())
	if err != nil {
		return err
	}
	c, err = s.members.CreateVisitorCode(r.Context(), sess.token.UserID, v, c, r.Header.Get("X-Socket-ID"))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.visitorCodeJSON(c, v))
}

// deleteVisitorCodes is DELETE /api/v1/intercom/codes: others' ids are
// ignored.
func (s *Server) deleteVisitorCodes(w http.ResponseWriter, r *http.Request, sess session) error {
	return s.deleteIDs(w, r, sess, s.members.DeleteVisitorCodes)
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
		e, err = s.members.CheckKey(r.Context(), ic, *key)
	} else {
		e, err = s.members.CheckCode(r.Context(), ic, *code)
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
			out.Codes = append(out.Codes, codeJSON{c.Code, wire.CodeTime(c.ExpiredAt)})
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
