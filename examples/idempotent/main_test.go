package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/streambind/streambind/examples/internal/extest"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestPaymentCreditedOnce: p-1 sent twice with the same message id is
// credited once (on the in-process binder, marks in PostgreSQL); p-2,
// sent after both, is credited too — so the duplicate was handled (and
// skipped) before it.
func TestPaymentCreditedOnce(t *testing.T) {
	pool, schema := outboxtest.Schema(t)
	env := []string{"LEDGER_DSN=" + outboxtest.DSN(), "LEDGER_MARKS_TABLE=" + schema + ".marks"}
	r := extest.Start(t, context.Background(), func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"p-1:alice:500", "p-1:alice:500", "p-2:bob:300"}, env, stdout, stderr)
	})
	r.WaitOutput(t, "credited p-2: bob +300")
	r.Stop(t)
	if n := strings.Count(r.Stdout.String(), "credited p-1:"); n != 1 {
		t.Errorf("p-1 credited %d times:\n%s", n, r.Stdout)
	}
	var cents int64
	if err := pool.QueryRow(context.Background(), "SELECT cents FROM "+schema+".balances WHERE account = 'alice'").Scan(&cents); err != nil {
		t.Fatal(err)
	}
	if cents != 500 {
		t.Errorf("alice's balance is %d, want 500", cents)
	}
	var marks int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+schema+".marks").Scan(&marks); err != nil {
		t.Fatal(err)
	}
	if marks != 2 {
		t.Errorf("%d marks, want 2", marks)
	}
}
