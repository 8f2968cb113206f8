package http

import (
	"net/http"
	"net/url"
	"strconv"

	"intercom"
)

// Pagination defaults (API.md §2).
const (
	DefaultPerPage = 25
	MaxPerPage     = 100
)

// MaxPage is the highest page number asked for that is answered; beyond it
// is a 422.
const MaxPage = 1 << 30

// parsePage reads ?page= and ?per_page=, recording problems in p beside the
// caller's own query parameters. A page that is not a positive integer (0,
// -1, "abc", "") reads as 1, as Laravel's page resolver does: iOS asks for
// page 0 first.
func parsePage(q url.Values, p *intercom.Problems) intercom.Page {
	page := 1
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n >= 1 {
		if n > MaxPage {
			p.Addf("page", "The %s field must not be greater than %d.", intercom.Attribute("page"), MaxPage)
		} else {
			page = n
		}
	}
	perPage := DefaultPerPage
	if s := q.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			p.Add("per_page", intercom.MsgInteger("per_page"))
		case n < 1:
			p.Addf("per_page", "The %s field must be at least %d.", intercom.Attribute("per_page"), 1)
		case n > MaxPerPage:
			p.Addf("per_page", "The %s field must not be greater than %d.", intercom.Attribute("per_page"), MaxPerPage)
		default:
			perPage = n
		}
	}
	return intercom.Page{Page: page, PerPage: perPage}
}

// paginatedJSON is Laravel's paginated resource envelope.
type paginatedJSON struct {
	Data  any       `json:"data"`
	Links linksJSON `json:"links"`
	Meta  metaJSON  `json:"meta"`
}

type linksJSON struct {
	First string  `json:"first"`
	Last  string  `json:"last"`
	Prev  *string `json:"prev"`
	Next  *string `json:"next"`
}

type metaJSON struct {
	CurrentPage int            `json:"current_page"`
	From        *int           `json:"from"`
	LastPage    int            `json:"last_page"`
	Links       []pageLinkJSON `json:"links"`
	Path        string         `json:"path"`
	PerPage     int            `json:"per_page"`
	To          *int           `json:"to"`
	Total       int            `json:"total"`
}

type pageLinkJSON struct {
	URL    *string `json:"url"`
	Label  string  `json:"label"`
	Active bool    `json:"active"`
}

// paginate wraps one page of data, its links keeping the request's other
// query parameters.
func (s *Server) paginate(r *http.Request, p intercom.Page, total int, data any) paginatedJSON {
	path := s.baseURL(r) + r.URL.Path
	q := r.URL.Query()
	link := func(n int) string {
		q.Set("page", strconv.Itoa(n))
		return path + "?" + q.Encode()
	}
	ptr := func(n int) *string { s := link(n); return &s }
	last := max(1, (total+p.PerPage-1)/p.PerPage)
	out := paginatedJSON{Data: data, Links: linksJSON{First: link(1), Last: link(last)},
		Meta: metaJSON{CurrentPage: p.Page, LastPage: last, Path: path, PerPage: p.PerPage, Total: total}}
	if p.Page > 1 {
		out.Links.Prev = ptr(p.Page - 1)
	}
	if p.Page < last {
		out.Links.Next = ptr(p.Page + 1)
	}
	if from := p.Offset() + 1; from <= total {
		to := min(total, p.Offset()+p.PerPage)
		out.Meta.From, out.Meta.To = &from, &to
	}
	out.Meta.Links = append(out.Meta.Links, pageLinkJSON{URL: out.Links.Prev, Label: "pagination.previous"})
	for _, n := range pageWindow(p.Page, last) {
		if n == 0 {
			out.Meta.Links = append(out.Meta.Links, pageLinkJSON{Label: "..."})
			continue
		}
		out.Meta.Links = append(out.Meta.Links, pageLinkJSON{URL: ptr(n), Label: strconv.Itoa(n), Active: n == p.Page})
	}
	out.Meta.Links = append(out.Meta.Links, pageLinkJSON{URL: out.Links.Next, Label: "pagination.next"})
	return out
}

// pageWindow lists the page numbers Laravel's paginator links to: all of
// them when there are few, else the first two, three each side of the
// current one and the last two, with 0 where "..." stands.
func pageWindow(cur, last int) []int {
	const side = 3
	var out []int
	if last < 2*side+6 {
		for n := 1; n <= last; n++ {
			out = append(out, n)
		}
		return out
	}
	add := func(lo, hi int) {
		for n := lo; n <= hi; n++ {
			out = append(out, n)
		}
	}
	switch {
	case cur <= 2*side:
		add(1, 2*side+2)
		out = append(out, 0)
		add(last-1, last)
	case cur > last-2*side:
		add(1, 2)
		out = append(out, 0)
		add(last-(2*side+1), last)
	default:
		add(1, 2)
		out = append(out, 0)
		add(cur-side, cur+side)
		out = append(out, 0)
		add(last-1, last)
	}
	return out
}

// baseURL is the configured public URL, or one made from the request.
func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// queryID reads an optional positive integer query parameter: 0 when it is
// absent, a problem on key when it is not a positive integer.
func queryID(q url.Values, key string, p *intercom.Problems) int64 {
	v := q.Get(key)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		p.Add(key, intercom.MsgInteger(key))
		return 0
	}
	return n
}

// encodePage answers page p of a list of total items, each rendered by to.
func encodePage[T, J any](s *Server, w http.ResponseWriter, r *http.Request, p intercom.Page, total int, items []T, to func(T) J) error {
	out := make([]J, len(items))
	for i, it := range items {
		out[i] = to(it)
	}
	return encode(w, http.StatusOK, s.paginate(r, p, total, out))
}
