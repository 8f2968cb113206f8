package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"intercom"
)

// failureTracer records, on every connection of the pool, each statement,
// batch, copy or connection attempt that failed because the database cannot
// take writes or cannot be reached (wrap's EUNAVAILABLE errors), whichever
// method made it: the memory behind DB.WriteFailure. It shows the
// statements to a test's tracing too (open).
type failureTracer struct {
	failures *intercom.WriteFailures
	tracing
}

var (
	_ pgx.QueryTracer    = failureTracer{}
	_ pgx.BatchTracer    = failureTracer{}
	_ pgx.CopyFromTracer = failureTracer{}
	_ pgx.ConnectTracer  = failureTracer{}
)

func (t failureTracer) note(err error) {
	if err != nil {
		t.failures.Record(wrap(err))
	}
}

func (t failureTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if t.onSend != nil {
		t.onSend(ctx)
	}
	if t.onQuery != nil {
		t.onQuery(d.SQL, d.Args)
	}
	return ctx
}

func (t failureTracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	t.note(d.Err)
}

func (t failureTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	if t.onSend != nil {
		t.onSend(ctx)
	}
	return ctx
}

func (t failureTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if t.onQuery != nil {
		t.onQuery(d.SQL, d.Args)
	}
	t.note(d.Err)
}

func (t failureTracer) TraceBatchEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	t.note(d.Err)
}

func (failureTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	return ctx
}

func (t failureTracer) TraceCopyFromEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceCopyFromEndData) {
	t.note(d.Err)
}

func (failureTracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return ctx
}

func (t failureTracer) TraceConnectEnd(_ context.Context, d pgx.TraceConnectEndData) {
	t.note(d.Err)
}
