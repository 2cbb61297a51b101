package nats

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestStopPullsNoMore: once a pull ends (here: Stop) the run makes no
// further pull request, however long draining it takes to begin. nats.go
// pulls again whenever a callback returns with too few messages on their
// way; a pull sent as the subscription ends is served after it, and the
// server puts what it delivered into the void at the front of its
// redelivery queue, ahead of the older messages Stop gives back (the
// member taking over handled m08 m09 m10 before m02..m07). The hook
// widens the window between the end of the pull and Drain, which under
// load is a few microseconds.
func TestStopPullsNoMore(t *testing.T) {
	ctx, _, dest, b := internalBinder(t, "stoppull")
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "out-0", Destination: dest, ContentType: stream.DefaultContentType})
	if err != nil {
		t.Fatal(err)
	}
	const n, prefetch = 40, 4
	for i := range n {
		if err := p.Send(ctx, stream.Envelope{Payload: fmt.Appendf(nil, `{"i":%d}`, i)}); err != nil {
			t.Fatal(err)
		}
	}
	started, unblock := make(chan struct{}), make(chan struct{})
	first := true
	sc, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Handler: func(context.Context, stream.Envelope) error {
			if first { // one worker: no race
				first = false
				close(started)
				<-unblock
			}
			return nil
		},
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"prefetch": prefetch}})
	if err != nil {
		t.Fatal(err)
	}
	c := sc.(*consumer)
	// The pull has ended (Stop cancelled intake: nothing else ends it
	// here); the sleep widens the window before Drain.
	pullEnded := make(chan struct{})
	c.beforeDrain = func() {
		close(pullEnded)
		time.Sleep(300 * time.Millisecond)
	}
	if err := sc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- sc.Stop(ctx) }()
	// The handler returns once the pull has ended, so that nothing it
	// settles lets the running member pull legitimately.
	select {
	case <-pullEnded:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not end the pull")
	}
	close(unblock)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	jc, err := c.conn.js.Consumer(ctx, c.ref.name, c.cfg.Durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := jc.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The run held at most prefetch and the client buffered at most one
	// pull's worth more when Stop began.
	if d := info.Delivered.Consumer; d > 2*prefetch {
		t.Fatalf("the server delivered %d messages to the stopped member (at most %d before Stop began): it pulled while stopping", d, 2*prefetch)
	}
}
