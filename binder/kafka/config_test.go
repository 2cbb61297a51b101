package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

func TestSettingsUnknownKeys(t *testing.T) {
	_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Binder:      map[string]any{"required-acks": "most", "autoCreateTopics": true, "bogus-binder-key": 1},
		Environment: map[string]any{"brokers": "a:9092", "tls": map[string]any{"ca-fil": "x"}, "dial-timeout": "soon"},
	})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"stream.kafka.binder.bogus-binder-key", "stream.kafka.binder.required-acks", "stream.binders.k.environment.tls.ca-fil", "stream.binders.k.environment.dial-timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "autoCreateTopics") {
		t.Errorf("camelCase key rejected:\n%v", err)
	}
}

// TestHealthSettings: health-interval, health-timeout and lag-interval are
// durations of at least 100ms; anything else is an error naming the key.
func TestHealthSettings(t *testing.T) {
	ok := map[string]any{"health-interval": "250ms", "healthTimeout": 1000, "lag-interval": "1m"}
	if _, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Environment: ok}); err != nil {
		t.Errorf("valid settings %v: %v", ok, err)
	}
	_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Environment: map[string]any{"health-interval": "10ms", "health-timeout": "0", "lag-interval": "often"}})
	for _, want := range []string{
		"stream.binders.k.environment.health-interval: must be at least 100ms, got 10ms",
		"stream.binders.k.environment.health-timeout",
		"stream.binders.k.environment.lag-interval",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}

func TestSpecValidator(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(stream.SpecValidator)
	if err := v.ValidateProducer(stream.ProducerSpec{Binding: "o-out-0", Extension: map[string]any{
		"batch-timeout": "2ms", "batch-size": 100, "batch-bytes": 1 << 20, "compression": "lz4"}}); err != nil {
		t.Errorf("valid producer properties: %v", err)
	}
	err = v.ValidateProducer(stream.ProducerSpec{Binding: "o-out-0", Extension: map[string]any{"compression": "brotli", "lingerz": 1}})
	for _, want := range []string{"stream.kafka.bindings.o-out-0.producer.compression", "stream.kafka.bindings.o-out-0.producer.lingerz"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "i-in-0", Extension: map[string]any{
		"start-offset": "latest", "reset-offsets": true, "dlq-name": "dead"}}); err != nil {
		t.Errorf("valid consumer properties: %v", err)
	}
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "i-in-0", Extension: map[string]any{"start-offset": "middle", "prefetch": 5}})
	for _, want := range []string{"stream.kafka.bindings.i-in-0.consumer.start-offset", "stream.kafka.bindings.i-in-0.consumer.prefetch"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestProvisioning(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("auto-create-topics false", func(t *testing.T) {
		b := newBinder(t, c, map[string]any{"auto-create-topics": false})
		closeBinder(t, b)
		dest := uniqueTopic(t)
		_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest})
		if err == nil || !strings.Contains(err.Error(), dest) || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("want a clear error naming the missing topic, got %v", err)
		}
		_, err = b.BindConsumer(ctx, consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return nil }))
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("consumer: want a missing-topic error, got %v", err)
		}
	})
	t.Run("partitions", func(t *testing.T) {
		b := newBinder(t, c, map[string]any{"min-partition-count": 2})
		closeBinder(t, b)
		dest := uniqueTopic(t)
		bindProducer(t, b, dest, 1) // created with min-partition-count 2
		_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "y-out-0", Destination: dest,
			Producer: stream.ProducerConfig{PartitionCount: 4, PartitionKeyExpression: "key"}})
		if err == nil || !strings.Contains(err.Error(), "has 2 partitions") {
			t.Fatalf("want a partition-count error, got %v", err)
		}
		b2 := newBinder(t, c, map[string]any{"auto-add-partitions": true})
		closeBinder(t, b2)
		bindProducer(t, b2, dest, 4)
		// The 4 partitions are there: a message to partition 3 arrives.
		tr := newTracker()
		startConsumer(t, b2, consumerSpec(dest, "g", func(_ context.Context, m stream.Envelope) error {
			if m.Headers[stream.HeaderPartition] == "3" {
				tr.receive(m.Headers[idHeader])
			}
			return nil
		}))
		p := bindProducer(t, b2, dest, 4)
		if err := p.Send(ctx, stream.Envelope{Payload: []byte("{}"), Headers: stream.Headers{idHeader: "p3", stream.HeaderPartition: "3"}}); err != nil {
			t.Fatal(err)
		}
		tr.waitReceived(t, 1, faultTimeout)
	})
}

// TestBatchMode: a batch handler gets slices; all messages arrive.
func TestBatchMode(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	tr := newTracker()
	p := bindProducer(t, b, dest, 1)
	produce(context.Background(), t, p, tr, "m", 300, 1, 0)
	biggest := 0
	spec := consumerSpec(dest, "g", nil)
	spec.Consumer.BatchMode = true
	spec.BatchHandler = func(_ context.Context, ms []stream.Envelope) error {
		biggest = max(biggest, len(ms))
		for _, m := range ms {
			tr.receive(m.Headers[idHeader])
		}
		return nil
	}
	startConsumer(t, b, spec)
	tr.waitAll(t, faultTimeout)
	t.Logf("largest batch: %d", biggest)
}
