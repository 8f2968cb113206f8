package http

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"intercom"
	"intercom/wire"
)

// intercomJSON is the intercom as the viewer sees it, online state now.
func (s *Server) intercomJSON(v intercom.IntercomView) wire.Intercom {
	return wire.IntercomOf(v, s.calls.Online(v.Intercom))
}

func (s *Server) intercomsJSON(views []intercom.IntercomView) []wire.Intercom {
	out := make([]wire.Intercom, len(views))
	for i, v := range views {
		out[i] = s.intercomJSON(v)
	}
	return out
}

// listIntercoms is GET /api/v1/intercom.
func (s *Server) listIntercoms(w http.ResponseWriter, r *http.Request, sess session) error {
	var p intercom.Problems
	page := parsePage(r.URL.Query(), &p)
	if err := p.Err(); err != nil {
		return err
	}
	views, total, err := s.store.Intercoms(r.Context(), sess.viewer(), page)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.paginate(r, page, total, s.intercomsJSON(views)))
}

// MaxShowIDs is the most ids GET /api/v1/intercom/shows takes.
const MaxShowIDs = 25

// showIntercoms is GET /api/v1/intercom/shows?ids[]=1&ids[]=2.
func (s *Server) showIntercoms(w http.ResponseWriter, r *http.Request, sess session) error {
	raw := queryArray(r.URL.Query(), "ids")
	var p intercom.Problems
	switch {
	case len(raw) == 0:
		p.Add("ids", intercom.MsgRequired("ids"))
	case len(raw) > MaxShowIDs:
		p.Add("ids", intercom.MsgMaxItems("ids", MaxShowIDs))
	}
	ids := make([]int64, 0, len(raw))
	for i, v := range raw {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			k := "ids." + strconv.Itoa(i)
			p.Add(k, intercom.MsgInteger(k))
			continue
		}
		ids = append(ids, id)
	}
	if err := p.Err(); err != nil {
		return err
	}
	views, err := s.store.IntercomsByIDs(r.Context(), sess.viewer(), ids)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.intercomsJSON(views))
}

// queryArray collects a PHP-style array parameter: name[]=, name[N]= or name=.
func queryArray(q url.Values, name string) []string {
	var out []string
	out = append(out, q[name]...)
	out = append(out, q[name+"[]"]...)
	for k, vs := range q {
		if strings.HasPrefix(k, name+"[") && strings.HasSuffix(k, "]") && k != name+"[]" {
			out = append(out, vs...)
		}
	}
	return out
}

// pathIntercom loads the session's intercom named by the {intercom} path
// value; another account's, like a missing one, is not found.
func (s *Server) pathIntercom(r *http.Request, sess session) (intercom.IntercomView, error) {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return intercom.IntercomView{}, err
	}
	if p := sess.prefetched; p != nil && p.ID == id {
		return p.View, p.Err
	}
	return s.store.Intercom(r.Context(), sess.viewer(), id)
}

// getIntercom is GET /api/v1/intercom/{intercom}.
func (s *Server) getIntercom(w http.ResponseWriter, r *http.Request, sess session) error {
	v, err := s.pathIntercom(r, sess)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.intercomJSON(v))
}

// updateIntercom is PATCH /api/v1/intercom/{intercom}, the seed.
func (s *Server) updateIntercom(w http.ResponseWriter, r *http.Request, sess session) error {
	id, err := pathID(r.PathValue("intercom"))
	if err != nil {
		return err
	}
	u, err := s.parseUpdate(r)
	if err != nil {
		// Someone else's intercom is 404 whatever the body says. A body
		// that could not be read (too slow, cut off) is answered as it is:
		// the request may be over, and its context with it.
		if err == errUnreadable || err == errSlowBody || err == errClientGone || r.Context().Err() != nil {
			return err
		}
		if _, nf := s.store.Intercom(r.Context(), sess.viewer(), id); nf != nil {
			return nf
		}
		return err
	}
	// The account's other devices hear of it; the one that asked does not.
	v, err := s.members.UpdateIntercom(r.Context(), sess.viewer(), id, u, r.Header.Get("X-Socket-ID"))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, s.intercomJSON(v))
}

func (s *Server) parseUpdate(r *http.Request) (intercom.IntercomUpdate, error) {
	body, err := decode(r)
	if err != nil {
		return intercom.IntercomUpdate{}, err
	}
	return intercom.ParseIntercomUpdate(body)
}
