package batchprefix

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/streambind/streambind/stream"
)

// The settler acks each new part of the prefix once, clamps n to the
// batch, ignores a prefix that did not grow, and refuses calls after Done.
func TestPrefix(t *testing.T) {
	var acks [][2]int
	ackErr := errors.New("channel lost")
	ctx, p := New(context.Background(), 5, func(from, to int, outcome error) error {
		if outcome != nil {
			t.Errorf("settle(%d, %d) got outcome %v, want nil", from, to, outcome)
		}
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
	if err := settle(2, nil); err != nil {
		t.Fatal(err)
	}
	if err := settle(3, nil); !errors.Is(err, ackErr) {
		t.Fatalf("settle(3) = %v, want the ack's error", err)
	}
	if err := settle(2, nil); err != nil { // not grown: nothing to do
		t.Fatal(err)
	}
	if err := settle(9, nil); err != nil { // clamped to the batch
		t.Fatal(err)
	}
	if want := [][2]int{{0, 2}, {2, 3}, {3, 5}}; !slices.Equal(acks, want) {
		t.Fatalf("acks %v, want %v", acks, want)
	}
	if n := p.Done(); n != 5 {
		t.Fatalf("Done = %d, want 5", n)
	}
	if err := settle(5, nil); !errors.Is(err, ErrTooLate) {
		t.Fatalf("settle after Done = %v, want ErrTooLate", err)
	}
}

// Rest ends the call and gives the outcome of the messages not settled
// early; a nil Prefix (not batch mode) hands err back untouched.
func TestRest(t *testing.T) {
	bad := errors.New("bad")
	o := stream.NewBatchOutcome([]error{nil, nil, bad, nil})
	ctx, p := New(context.Background(), 4, func(int, int, error) error { return nil })
	if err := stream.BatchSettlerFrom(ctx)(2, nil); err != nil {
		t.Fatal(err)
	}
	k, tail := p.Rest(o)
	var to *stream.BatchOutcome
	if k != 2 || !errors.As(tail, &to) || to.Len() != 2 || to.Err(0) != bad || to.Err(1) != nil {
		t.Fatalf("Rest = %d, %v; want 2 and the outcome of messages 2 and 3", k, tail)
	}
	if err := stream.BatchSettlerFrom(ctx)(3, nil); !errors.Is(err, ErrTooLate) {
		t.Fatalf("settle after Rest = %v, want ErrTooLate", err)
	}
	_, p = New(context.Background(), 3, func(int, int, error) error { return nil })
	if k, tail := p.Rest(bad); k != 0 || tail != bad {
		t.Fatalf("Rest with nothing settled = %d, %v; want 0, the error", k, tail)
	}
	ctx, p = New(context.Background(), 2, func(int, int, error) error { return nil })
	_ = stream.BatchSettlerFrom(ctx)(2, nil)
	if k, tail := p.Rest(bad); k != 2 || tail != nil {
		t.Fatalf("Rest with all settled = %d, %v; want 2, nil", k, tail)
	}
	var none *Prefix
	if k, tail := none.Rest(bad); k != 0 || tail != bad {
		t.Fatalf("nil Prefix: Rest = %d, %v; want 0, the error", k, tail)
	}
}

// Each new part of the prefix gets its messages' outcomes, indexed from
// its first message; a Nak'ed message is never settled early: the prefix
// stops before it, and it is left to the handler's outcome.
func TestPrefixOutcomes(t *testing.T) {
	bad := errors.New("bad")
	nak := fmt.Errorf("later: %w", stream.ErrNak)
	type part struct {
		from, to int
		errs     []error // nil: no outcome
	}
	var got []part
	ctx, p := New(context.Background(), 6, func(from, to int, outcome error) error {
		pt := part{from: from, to: to}
		if outcome != nil {
			for i := range to - from {
				pt.errs = append(pt.errs, stream.BatchMessageErr(outcome, i))
			}
		}
		got = append(got, pt)
		return nil
	})
	settle := stream.BatchSettlerFrom(ctx)
	// 0 handled; 1 failed for good; 2 handled; 3 failed for good; 4 Nak'ed.
	all := []error{nil, bad, nil, bad, nak, nak}
	_ = settle(1, nil)
	_ = settle(2, stream.NewBatchOutcome(all[:2]))
	_ = settle(6, stream.NewBatchOutcome(all))
	_ = settle(6, stream.NewBatchOutcome(all)) // stopped at the Nak: nothing new
	want := []part{{0, 1, nil}, {1, 2, []error{bad}}, {2, 4, []error{nil, bad}}}
	if len(got) != len(want) {
		t.Fatalf("settled %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].from != want[i].from || got[i].to != want[i].to || !slices.Equal(got[i].errs, want[i].errs) {
			t.Fatalf("part %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	k, tail := p.Rest(stream.NewBatchOutcome(all))
	if k != 4 || !errors.Is(tail, stream.ErrNak) || stream.BatchMessageErr(tail, 0) != nak {
		t.Fatalf("Rest = %d, %v; want 4 and the Nak of messages 4 and 5", k, tail)
	}
}
