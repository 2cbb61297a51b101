package lifecycle

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// A Close that cannot take the lock before its context ends (a shutdown
// whose time ran out, while an operator's Start waits for the previous
// run) still closes the binding to Starts: the waiting Start, once the
// previous run has finished, started a new run after the binder's Close
// had returned, and the binder, which forgets its consumers when it
// closes, never stopped it (the in-process binder on a shared broker ran
// it on).
func TestReviewCloseWhileStartWaitsRefusesTheStart(t *testing.T) {
	l := New(wrap, "busy")
	r1 := newFake()
	if err := l.Start(context.Background(), func(context.Context) (Run, error) { return r1, nil }); err != nil {
		t.Fatal(err)
	}
	// Its Stop ran out of time: r1 still finishes.
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	errc := make(chan error, 1)
	waiting := &doneWatch{Run: r1, called: make(chan struct{})}
	l.last = waiting // as r1, telling when the Start waits for it
	go func() {
		errc <- l.Start(context.Background(), func(context.Context) (Run, error) {
			close(started)
			return newFake(), nil
		})
	}()
	<-waiting.called // the Start holds the lock, waiting for r1
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close while the Start holds the lock: %v, want its context's error", err)
	}
	close(r1.done)
	err := <-errc
	select {
	case <-started:
		t.Fatalf("Start after a Close started a run (Start returned %v)", err)
	default:
	}
	if !errors.Is(err, stream.ErrClosed) {
		t.Fatalf("Start after a Close: %v, want stream.ErrClosed", err)
	}
}

// doneWatch is a Run whose Done says when it is first called.
type doneWatch struct {
	Run
	once   sync.Once
	called chan struct{}
}

func (d *doneWatch) Done() <-chan struct{} {
	d.once.Do(func() { close(d.called) })
	return d.Run.Done()
}
