package kafka_test

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

// TestIdempotentHeaderModeNoneKeysByPosition: under consumer.header-mode
// none the headers are dropped before the key is computed, so the default
// key falls back to the record's position (kafka:<topic>:<partition>:
// <offset>): idempotency.New accepts it on Kafka, two records carrying the
// same id header are two messages (their ids are not read), and a second
// delivery of the same stored records (a second group sharing the marks,
// as a redelivery after a restart without a commit) is skipped. Before,
// idempotency.New refused the default key under header-mode none.
func TestIdempotentHeaderModeNoneKeysByPosition(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{}}
	defer w.Close()
	id := []kafkago.Header{{Key: "id", Value: []byte("same-id")}}
	if err := w.WriteMessages(ctx,
		kafkago.Message{Value: []byte(`{"orderId":"n-1"}`), Headers: id},
		kafkago.Message{Value: []byte(`{"orderId":"n-2"}`), Headers: id}); err != nil {
		t.Fatal(err)
	}

	marks := idempotency.NewMemoryStore()
	handled := make(chan string, 8)
	start := func(group string) (*idempotency.Consumer, func() error) {
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "orders", func(_ context.Context, o javaOrder) error {
			handled <- group + " " + o.OrderID
			return nil
		})
		cfg := &stream.Config{
			Function:      stream.FunctionConfig{Definition: "orders"},
			Binders:       map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
			DefaultBinder: "k",
			Bindings: map[string]stream.BindingConfig{
				"orders-in-0": {Destination: topic, Group: group, Consumer: stream.ConsumerConfig{MaxAttempts: 1,
					HeaderMode: stream.HeaderModeNone, Idempotency: stream.IdempotencyConfig{Store: stream.IdempotencyStoreMemory}}},
			},
		}
		app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		idem, err := idempotency.New(app, idempotency.Config{}, idempotency.Options{Memory: marks})
		if err != nil {
			t.Fatalf("idempotency.New under header-mode none with the default key on Kafka: %v", err)
		}
		return idem, bindertest.RunApp(t, app)
	}

	first, stop := start("g1")
	var got []string
	for len(got) < 2 {
		select {
		case h := <-handled:
			got = append(got, h)
		case <-ctx.Done():
			t.Fatalf("handled %v of the 2 records; stats %+v", got, first.Stats("orders-in-0"))
		}
	}
	sort.Strings(got)
	if got[0] != "g1 n-1" || got[1] != "g1 n-2" {
		t.Fatalf("handled %v", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := first.Stats("orders-in-0"); s.Processed != 2 || s.Skipped != 0 || s.Unkeyed != 0 {
		t.Fatalf("first consumer's stats %+v; want 2 processed, keyed by offset (the shared id not read)", s)
	}

	second, _ := start("g2")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for second.Stats("orders-in-0").Skipped < 2 {
		select {
		case h := <-handled:
			t.Fatalf("a second delivery of a stored record ran the handler again: %s", h)
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("second consumer's stats %+v; want 2 skipped", second.Stats("orders-in-0"))
		}
	}
	select {
	case h := <-handled:
		t.Fatalf("handler ran again: %s", h)
	default:
	}
}

// TestIdempotentHeaderModeNoneRefusedWithRetryDelays: under header-mode
// none the default key keys a record by its position, and a retry-topic
// copy is a new record whose tie to its original (the replayed-id header)
// is dropped with the other headers, so an original redelivered after its
// copy succeeded would run again. idempotency.New refuses that pairing,
// naming retry-delays (a breaker's finding: before, it was accepted).
func TestIdempotentHeaderModeNoneRefusedWithRetryDelays(t *testing.T) {
	t.Parallel()
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "orders", func(context.Context, javaOrder) error { return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "orders"},
		Binders:       map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": []string{"127.0.0.1:1"}}}},
		DefaultBinder: "k",
		Bindings: map[string]stream.BindingConfig{
			"orders-in-0": {Destination: "orders", Group: "g", Consumer: stream.ConsumerConfig{
				HeaderMode: stream.HeaderModeNone, RetryDelays: []time.Duration{time.Second},
				Idempotency: stream.IdempotencyConfig{Store: stream.IdempotencyStoreMemory}}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = idempotency.New(app, idempotency.Config{}, idempotency.Options{})
	if err == nil || !strings.Contains(err.Error(), "retry-delays") || !strings.Contains(err.Error(), "orders-in-0") {
		t.Fatalf("header-mode none, retry-delays and the default key: %v", err)
	}
}
