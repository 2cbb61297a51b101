package memory_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// A binder's Close that cannot take a consumer's lifecycle lock before its
// context ends (an operator's Start holds it, waiting for the run a Stop
// left behind a handler that ignores its context) leaves no consumer that
// a later Start brings back: the Start, once the handler returned,
// started a run on the closed binder, which handled the shared broker's
// messages from then on, with nothing left to stop it.
func TestReviewCloseDuringWaitingStartLeavesNothingRunning(t *testing.T) {
	br := newBroker(t, memory.Config{})
	ctx := ctxT(t)
	bdA, err := memory.Factory(br)(ctx, stream.BinderSettings{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	bdB := newBinder(t, br, nil)
	entered, release, got := make(chan struct{}), make(chan struct{}), make(chan string, 4)
	c, err := bdA.BindConsumer(ctx, stream.ConsumerSpec{Binding: "a-in-0", Destination: "d", Group: "g", Handler: func(_ context.Context, m stream.Envelope) error {
		if string(m.Payload) == "stuck" {
			close(entered)
			<-release // ignores its context
			return nil
		}
		got <- string(m.Payload)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := bdB.BindProducer(ctx, stream.ProducerSpec{Binding: "b-out-0", Destination: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("stuck")}); err != nil {
		t.Fatal(err)
	}
	<-entered
	short := func() context.Context {
		s, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		t.Cleanup(cancel)
		return s
	}
	if err := c.Stop(short()); err == nil {
		t.Fatal("Stop beside a stuck handler: nil")
	}
	startErr := make(chan error, 1)
	go func() { startErr <- c.Start(ctx) }()
	// Until the Start holds the lock: a Pause with an ended context takes
	// only a free one.
	ended, cancel := context.WithCancel(ctx)
	cancel()
	for c.Pause(ended) == nil {
		runtime.Gosched()
	}
	if err := bdA.Close(short()); err == nil {
		t.Fatal("the binder's Close while the Start holds the lock: nil")
	}
	close(release)
	if err := <-startErr; !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Start after the binder's Close: %v, want stream.ErrClosed", err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Errorf("%q handled by a consumer of the closed binder", m)
	case <-time.After(300 * time.Millisecond):
	}
	_ = c.Stop(ctx)
}
