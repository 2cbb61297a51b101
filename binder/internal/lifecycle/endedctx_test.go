package lifecycle

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Start with an ended context starts nothing, also when the lock is free
// (the free lock is taken first, for Close): it used to start the run half
// of the time and fail the other half with the lock's error.
func TestStartWithEndedContextStartsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 100 {
		l := New(wrap, "busy")
		started := false
		err := l.Start(ctx, func(context.Context) (Run, error) { started = true; return newFake(), nil })
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "start binding b") || started {
			t.Fatalf("Start with an ended context: %v, started %v", err, started)
		}
	}
}
