package postgres

import "context"

// Beat runs one liveness beat of the node now, as its ticker does.
func (b *Bus) Beat(ctx context.Context) { b.beatOnce(ctx) }
