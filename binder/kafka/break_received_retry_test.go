package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

// A record read from a retry topic (retry-delays) reports the retry topic
// as its kafka_receivedTopic, with its own partition and offset (the retry
// topic's), as Spring Kafka's retry topics do, so that (topic, partition,
// offset), Spring Kafka's key of a record, names one record. It reported
// the topic it retries with the retry topic's position, which named
// another record: an idempotency key-expression over the three — a usual
// one for "exactly once per record" — skipped the retried message as a
// duplicate of the main topic's record (m1 failed once, was parked at
// offset 0 of the retry topic, and came back as (orders, 0, 0), m0's key).
// Found by the breaker.
func TestBreakReceivedRetryTopicRecordIsNotAnother(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	var mu sync.Mutex
	failed := map[string]bool{}
	handled := make(chan string, 8)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, m stream.Message[string]) error {
		mu.Lock()
		first := m.Payload == "m1" && !failed[m.Payload]
		failed[m.Payload] = true
		mu.Unlock()
		if first {
			return errors.New("m1 fails once")
		}
		handled <- fmt.Sprintf("%s %s/%d/%d", m.Payload, m.Received.Destination, m.Received.Partition, m.Received.Offset)
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work"},
		OutputBindings: "send",
		Binders:        map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder:  "k",
		Bindings: map[string]stream.BindingConfig{
			"send": {Destination: topic, ContentType: "text/plain"},
			"work-in-0": {Destination: topic, Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{
				MaxAttempts: 1, RetryDelays: []time.Duration{100 * time.Millisecond},
				Idempotency: stream.IdempotencyConfig{Store: stream.IdempotencyStoreMemory,
					KeyExpression: "headers['kafka_receivedTopic'] + '/' + headers['kafka_receivedPartitionId'] + '/' + headers['kafka_offset']"}}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idempotency.New(app, idempotency.Config{}, idempotency.Options{}); err != nil {
		t.Fatal(err)
	}
	bindertest.RunApp(t, app)
	ctx := context.Background()
	for _, p := range []string{"m0", "m1", "m2"} {
		if err := app.Bridge().Send(ctx, "send", p); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]string{}
	deadline := time.After(30 * time.Second)
	for len(seen) < 3 {
		select {
		case h := <-handled:
			seen[h[:2]] = h
		case <-deadline:
			t.Fatalf("handled %v; m1, retried from its retry topic, was skipped as a duplicate of another record", seen)
		}
	}
	if got := seen["m1"]; !strings.HasPrefix(got, "m1 "+topic+".g-retry-") {
		t.Errorf("the retried m1 handled as %q: want it to report its retry topic (%s.g-retry-...)", got, topic)
	}
	if got := seen["m0"]; !strings.HasPrefix(got, "m0 "+topic+"/") {
		t.Errorf("m0 handled as %q: want it to report %s", got, topic)
	}
}
