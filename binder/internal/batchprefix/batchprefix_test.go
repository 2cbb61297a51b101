package batchprefix

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/streambind/streambind/stream"
)

// The settler acks each new part of the prefix once, clamps n to the
// batch, ignores a prefix that did not grow, and refuses calls after Done.
func TestPrefix(t *testing.T) {
	var acks [][2]int
	ackErr := errors.New("channel lost")
	ctx, p := New(context.Background(), 5, func(from, to int) error {
		acks = append(acks, [2]int{from, to})
		if to == 3 {
			return ackErr
		}
		return nil
	})
	settle := stream.BatchSettlerFrom(ctx)
	if settle == nil {
		t.Fatal("no settler in ctx")
	}
	if err := settle(2); err != nil {
		t.Fatal(err)
	}
	if err := settle(3); !errors.Is(err, ackErr) {
		t.Fatalf("settle(3) = %v, want the ack's error", err)
	}
	if err := settle(2); err != nil { // not grown: nothing to do
		t.Fatal(err)
	}
	if err := settle(9); err != nil { // clamped to the batch
		t.Fatal(err)
	}
	if want := [][2]int{{0, 2}, {2, 3}, {3, 5}}; !slices.Equal(acks, want) {
		t.Fatalf("acks %v, want %v", acks, want)
	}
	if n := p.Done(); n != 5 {
		t.Fatalf("Done = %d, want 5", n)
	}
	if err := settle(5); !errors.Is(err, ErrTooLate) {
		t.Fatalf("settle after Done = %v, want ErrTooLate", err)
	}
}
