package kafka_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestTransportAfterCloseRefused (not parallel: it looks at every
// goroutine): a request on the binder's shared transport after Close (a
// dead-letter cursor opened before Close reading on, OpenDeadLetters
// after Close) made kafka-go create a connection pool for the address
// (Close had dropped them) whose metadata goroutine (connPool.discover)
// then ran for ever, and failed with "context canceled" or the dial's
// error. It now fails at once naming the closed binder (stream.ErrClosed,
// not unavailable: streambind dlq does not retry it), and nothing of
// kafka-go or the binder is left running.
func TestTransportAfterCloseRefused(t *testing.T) {
	c := kafkatest.Start(t)
	dest := uniqueTopic(t)
	spec := consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return nil })
	dlq := stream.ErrorDestinationSource(spec, "").Destination
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	produceDeadLetters(ctx, t, c, dlq, 5)
	before := goroutineIDs()
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka-a", Type: kafka.Type, Logger: testLogger(t),
		Environment: map[string]any{"brokers": c.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := b.(*kafka.Binder).OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closedErr := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, stream.ErrClosed) || errors.Is(err, stream.ErrUnavailable) || !strings.Contains(err.Error(), `binder "kafka-a" is closed`) {
			t.Errorf("%s after Close: %v; want the binder's closed error (stream.ErrClosed, not unavailable)", what, err)
		}
	}
	for i := 0; ; i++ {
		_, err := dl.Next(ctx)
		if err == nil && i < 10 {
			continue // read before Close
		}
		if errors.Is(err, io.EOF) {
			t.Fatal("Next after Close: io.EOF; want the binder's closed error")
		}
		closedErr("Next", err)
		break
	}
	_ = dl.Close(ctx)
	_, err = b.(*kafka.Binder).OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	closedErr("OpenDeadLetters", err)
	waitGoroutines(t, "no goroutine of the binder or kafka-go after Close", before, func(gs []string) bool { return len(gs) == 0 })
}
