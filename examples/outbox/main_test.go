package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/examples/internal/extest"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestPlaceOrders: o-1 and o-2 are shipped once each; the second o-1 is
// rejected by the database and its message never sent.
func TestPlaceOrders(t *testing.T) {
	pool, schema := outboxtest.Schema(t)
	env := []string{"OUTBOX_DSN=" + outboxtest.DSN(), "OUTBOX_TABLE=" + schema + ".outbox"}
	r := extest.Start(t, context.Background(), func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"o-1", "o-2", "o-1"}, env, stdout, stderr)
	})
	r.WaitOutput(t, "order o-1 rejected: already placed")
	r.WaitOutput(t, "shipping order o-1")
	r.WaitOutput(t, "shipping order o-2")
	// Every row sent and deleted: whatever was to be shipped was shipped.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+schema+".outbox").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d outbox rows left after 30s", n)
		}
		time.Sleep(20 * time.Millisecond) // polling the table's state
	}
	r.Stop(t)
	if n := strings.Count(r.Stdout.String(), "shipping order o-1\n"); n != 1 {
		t.Errorf("o-1 shipped %d times:\n%s", n, r.Stdout)
	}
}
