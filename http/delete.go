package http

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"intercom"
)

// MaxDeleteIDs is the most ids one DELETE takes (API.md §3).
const MaxDeleteIDs = 200

// parseIDs validates a body {"ids": [1, 2]}.
func parseIDs(r *http.Request) ([]int64, error) {
	body, err := decode(r)
	if err != nil {
		return nil, err
	}
	var p intercom.Problems
	raw, ok := body["ids"]
	list, isList := raw.([]any)
	switch {
	case !ok || raw == nil:
		p.Add("ids", intercom.MsgRequired("ids"))
	case !isList:
		p.Add("ids", intercom.MsgArray("ids"))
	case len(list) == 0:
		p.Add("ids", intercom.MsgRequired("ids"))
	case len(list) > MaxDeleteIDs:
		p.Add("ids", intercom.MsgMaxItems("ids", MaxDeleteIDs))
	}
	var ids []int64
	if isList && len(list) <= MaxDeleteIDs {
		for i, v := range list {
			n, isNum := v.(json.Number)
			id, err := n.Int64()
			if !isNum || err != nil {
				k := "ids." + strconv.Itoa(i)
				p.Add(k, intercom.MsgInteger(k))
				continue
			}
			ids = append(ids, id)
		}
	}
	return ids, p.Err()
}

// unlinkIntercoms is DELETE /api/v1/intercom: the account leaves these
// intercoms, with its calls from them. Ids that are not the account's are
// ignored.
func (s *Server) unlinkIntercoms(w http.ResponseWriter, r *http.Request, sess session) error {
	return s.deleteIDs(w, r, sess, s.members.UnlinkIntercoms)
}

// forgetCalls is DELETE /api/v1/intercom/calls: these calls leave the
// account's history (other accounts keep theirs).
func (s *Server) forgetCalls(w http.ResponseWriter, r *http.Request, sess session) error {
	return s.deleteIDs(w, r, sess, s.calls.ForgetCalls)
}

// deleteIDs runs a DELETE {"ids": [...]} through remove, which tells the
// account's other sockets (X-Socket-ID is the one that asked).
func (s *Server) deleteIDs(w http.ResponseWriter, r *http.Request, sess session,
	remove func(ctx context.Context, userID int64, ids []int64, exceptSocket string) error) error {
	ids, err := parseIDs(r)
	if err != nil {
		return err
	}
	if err := remove(r.Context(), sess.token.UserID, ids, r.Header.Get("X-Socket-ID")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
