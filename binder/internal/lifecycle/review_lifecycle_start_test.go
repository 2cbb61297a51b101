package lifecycle

import (
	"context"
	"testing"
)

// A Start with an ended context takes the free lock (as every call does)
// and, when the previous run has finished, starts: it failed half of the
// time with "busy" (select between the run's Done and the ended context
// chose at random), although nothing was left to wait for. Binding.Start's
// roll-back and a Start right after a Stop that used up its context run
// into it.
func TestReviewStartEndedContextPreviousRunFinished(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 200 {
		l := New(wrap, "busy")
		r1 := newFake()
		close(r1.done)
		if err := l.Start(context.Background(), func(context.Context) (Run, error) { return r1, nil }); err != nil {
			t.Fatal(err)
		}
		if err := l.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		started := false
		err := l.Start(ended, func(context.Context) (Run, error) { started = true; return newFake(), nil })
		if err != nil || !started {
			t.Fatalf("Start %d with an ended context after the previous run finished: err %v, started %v", i, err, started)
		}
	}
}
