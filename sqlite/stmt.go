package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts prepares each query once per pool: parsing SQL costs SQLite more
// than running these small queries does.
type stmts struct {
	prepare func(ctx context.Context, query string) (*sql.Stmt, error)
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	seen    func(query string, args []any) // tests' (RecordQueries): every query run
}

func newStmts(prepare func(context.Context, string) (*sql.Stmt, error)) *stmts {
	return &stmts{prepare: prepare, m: map[string]*sql.Stmt{}}
}

// get returns the statement of query, which is about to run with args.
func (s *stmts) get(ctx context.Context, query string, args []any) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen != nil {
		s.seen(query, args)
	}
	if st, ok := s.m[query]; ok {
		return st, nil
	}
	st, err := s.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	s.m[query] = st
	return st, nil
}

func (s *stmts) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.m {
		st.Close()
	}
	s.m = map[string]*sql.Stmt{}
}

// querier runs prepared statements: on the write connection inside update,
// or on the read pool.
type querier struct {
	ctx   context.Context
	stmts *stmts
}

func (q querier) stmt(query string, args []any) (*sql.Stmt, error) {
	return q.stmts.get(q.ctx, query, args)
}

func (q querier) Exec(query string, args ...any) (sql.Result, error) {
	st, err := q.stmt(query, args)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(q.ctx, args...)
}

func (q querier) Query(query string, args ...any) (*sql.Rows, error) {
	st, err := q.stmt(query, args)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(q.ctx, args...)
}

// QueryRow returns a row whose Scan reports a preparation error.
func (q querier) QueryRow(query string, args ...any) scanner {
	st, err := q.stmt(query, args)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(q.ctx, args...)
}

type scanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
