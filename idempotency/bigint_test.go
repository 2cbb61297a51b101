package idempotency_test

// JSON integers beyond int64 as idempotency keys (from an adversarial
// review).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestBigIntegerKeysDoNotCollide: key-expression payload.id over JSON
// integers beyond int64 (a uint64 or 128-bit id sent as a JSON number).
// Two different ids must be two keys; SpEL/Jackson reads such a number as
// a BigInteger, exactly. If the key is computed through a float64, the
// ids collide and the second message is skipped as a duplicate: lost.
func TestBigIntegerKeysDoNotCollide(t *testing.T) {
	st := newStores(t, "memory")
	calls := make(chan call, 10)
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "memory", keyExpr: ", key-expression: payload.id", handler: func(_ context.Context, m stream.Message[order]) error {
		calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
		return nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// 2^64-1 and 2^64-2: both above int64, distinct, same float64.
	for n, id := range []string{"18446744073709551615", "18446744073709551614"} {
		if err := ta.app.Bridge().Send(ctx, "events", []byte(fmt.Sprintf(`{"id": %s, "n": %d}`, id, n+1))); err != nil {
			t.Fatal(err)
		}
	}
	// A third, small, message: once it ran, the second was handled (one queue).
	if err := ta.app.Bridge().Send(ctx, "events", []byte(`{"id": 3, "n": 3}`)); err != nil {
		t.Fatal(err)
	}
	var got []int
	for len(got) < 3 {
		c := receive(t, calls, 10*time.Second)
		got = append(got, c.n)
		if c.n == 3 {
			break
		}
	}
	if len(got) != 3 {
		s := ta.idem.Stats("handle-in-0")
		t.Fatalf("handler ran for messages %v (stats %+v): the message with id 18446744073709551614 was skipped as a duplicate of 18446744073709551615 — lost", got, s)
	}
}
