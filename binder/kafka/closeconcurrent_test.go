package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestCloseWhileClosingWaits: a Close while another is closing the binder
// (a handler still running) returned nil at once, before the binder had
// released anything: a caller closing from two places (a signal handler
// and a defer) took the binder for closed while its consumers, producers
// and connections were still there. It now waits for the Close in
// progress, bounded by its own ctx, and returns that Close's result.
func TestCloseWhileClosingWaits(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	dest := uniqueTopic(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	startConsumer(t, b, consumerSpec(dest, "g", func(context.Context, stream.Envelope) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return nil
	}))
	p := bindProducer(t, b, dest, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("the handler was not called")
	}
	first := make(chan error, 1)
	go func() { first <- b.Close(ctx) }()
	// Wait until the first Close has begun (Health says closed).
	for !errors.Is(b.(stream.HealthChecker).Health(ctx), stream.ErrClosed) {
		if ctx.Err() != nil {
			t.Fatal("the binder did not begin closing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The handler still runs: the first Close cannot have finished.
	ended, end := context.WithCancel(context.Background())
	end()
	if err := b.Close(ended); err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Close while another Close waits for a handler: %v; want its ctx's error (it waits for the Close in progress)", err)
	}
	close(release)
	if err := b.Close(ctx); err != nil {
		t.Errorf("Close waiting for the first: %v", err)
	}
	if err := <-first; err != nil {
		t.Errorf("first Close: %v", err)
	}
}
