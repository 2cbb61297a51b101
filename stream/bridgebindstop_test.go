package stream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// slowBindBinder is the in-process binder whose producer binds of
// destination "slow" wait until their context ends (a broker that does not
// answer the topic's creation), after telling entered.
type slowBindBinder struct {
	stream.Binder
	entered chan struct{}
}

func (b slowBindBinder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	if spec.Destination == "slow" {
		b.entered <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return b.Binder.BindProducer(ctx, spec)
}

// A bridge send whose dynamic destination's bind is in progress when the
// app stops: the bind is cut short, the send fails with ErrClosed, and Run
// returns. Before the fix the bind held the bridge's lock for as long as
// the sender's context let it (here for ever), and the bridge's close, which
// takes that lock, held up the shutdown past its timeout.
func TestBridgeBindInProgressDoesNotHoldUpShutdown(t *testing.T) {
	broker := newBroker(t)
	entered := make(chan struct{}, 1)
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.Factory(broker)(ctx, s)
		return slowBindBinder{b, entered}, err
	}
	app, err := stream.NewApp(&stream.Config{ShutdownTimeout: 200 * time.Millisecond}, stream.NewCatalog(),
		stream.WithBinderType(memory.Type, factory), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("app ended: %v", err)
	}
	sent := make(chan error, 1)
	go func() { sent <- app.Bridge().Send(context.Background(), "slow", "x") }()
	select {
	case <-entered:
	case err := <-sent:
		t.Fatalf("send returned before its bind: %v", err)
	}
	cancel()
	// The deadlines only end the test when the shutdown waits for ever.
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return: the bridge's close waits for the bind in progress")
	}
	select {
	case err := <-sent:
		if !errors.Is(err, stream.ErrClosed) {
			t.Fatalf("send: %v, want ErrClosed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("send did not return")
	}
}
