package outbox

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox/outboxtest"
)

// BenchmarkSessionWatch is what watching a batch's session costs the
// relay per batch: a goroutine reading the idle connection, interrupted
// by a read deadline (no round trip to the database).
func BenchmarkSessionWatch(b *testing.B) {
	outboxtest.Require(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, outboxtest.DSN())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := watchSession(conn.PgConn()).stop(); err != nil {
			b.Fatal(err)
		}
	}
	// The connection is usable after the watches.
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		b.Fatal(err)
	}
}
