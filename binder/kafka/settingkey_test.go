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

// TestMissingTopicNamesTheBinderKey: the errors that tell the user to
// enable auto-create-topics or auto-add-partitions name the key the user
// must set: the one that turned it off, or for a binder declared under
// stream.binders the key in its environment (which wins over
// stream.kafka.binder), not stream.kafka.binder.* (they said "enable
// stream.kafka.binder.auto-create-topics" for a binder whose environment
// had turned it off, where that key changes nothing).
func TestMissingTopicNamesTheBinderKey(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	scst := func(k string, v any) map[string]any {
		return map[string]any{"spring": map[string]any{"cloud": map[string]any{"stream": map[string]any{
			"kafka": map[string]any{"binder": map[string]any{k: v}}}}}}
	}
	for _, tc := range []struct {
		name string
		s    stream.BinderSettings
		want string
	}{
		{"environment", stream.BinderSettings{Name: "k1", Type: kafka.Type,
			Binder: map[string]any{"brokers": c.Brokers()}, Environment: map[string]any{"auto-create-topics": false}},
			"enable stream.binders.k1.environment.auto-create-topics"},
		{"scst environment", stream.BinderSettings{Name: "k1", Type: kafka.Type,
			Binder: map[string]any{"brokers": c.Brokers()}, Environment: scst("autoCreateTopics", false)},
			"enable stream.binders.k1.environment.spring.cloud.stream.kafka.binder.autoCreateTopics"},
		{"binder type", stream.BinderSettings{Name: "kafka", Type: kafka.Type,
			Binder: map[string]any{"brokers": c.Brokers(), "auto-create-topics": false}},
			"enable stream.kafka.binder.auto-create-topics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Logger = testLogger(t)
			b, err := kafka.New(ctx, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			closeBinder(t, b)
			_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("bind to a missing topic: %v; want an error saying %q", err, tc.want)
			}
		})
	}

	t.Run("health", func(t *testing.T) {
		b, err := kafka.New(ctx, stream.BinderSettings{Name: "k1", Type: kafka.Type, Logger: testLogger(t),
			Environment: map[string]any{"brokers": c.Brokers(), "auto-create-topics": false, "health-interval": "200ms"}})
		if err != nil {
			t.Fatal(err)
		}
		closeBinder(t, b)
		dest := uniqueTopic(t)
		createTopic(t, c, dest, 1, nil)
		hc := bindProducer(t, b, dest, 1).(stream.BindingHealthChecker)
		if err := c.Kfake.DeleteTopic(dest); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "producer down after its topic was deleted", func() bool { return hc.Health(ctx) != nil })
		const want = "enable stream.binders.k1.environment.auto-create-topics"
		if err := hc.Health(ctx); !strings.Contains(err.Error(), want) {
			t.Errorf("health: %v; want it to say %q", err, want)
		}
	})

	t.Run("auto-add-partitions", func(t *testing.T) {
		// Not set anywhere: the binder named k1 reads it in its environment.
		b, err := kafka.New(ctx, stream.BinderSettings{Name: "k1", Type: kafka.Type, Logger: testLogger(t),
			Binder: map[string]any{"brokers": c.Brokers()}})
		if err != nil {
			t.Fatal(err)
		}
		closeBinder(t, b)
		dest := uniqueTopic(t)
		createTopic(t, c, dest, 1, nil)
		_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "y-out-0", Destination: dest,
			Producer: stream.ProducerConfig{PartitionCount: 4, PartitionKeyExpression: "key"}})
		const want = "enable stream.binders.k1.environment.auto-add-partitions"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("bind needing more partitions: %v; want an error saying %q", err, want)
		}
	})
}

// TestConnectionPropertyNamesTheBinderKey: a connection property in a
// binding's configuration is refused, naming the configuration map of the
// binder the binding is on.
func TestConnectionPropertyNamesTheBinderKey(t *testing.T) {
	for _, tc := range []struct {
		s    stream.BinderSettings
		want string
	}{
		{stream.BinderSettings{Name: "k1", Type: kafka.Type}, "set it in stream.binders.k1.environment.configuration"},
		{stream.BinderSettings{Name: "kafka", Type: kafka.Type}, "set it in stream.kafka.binder.configuration"},
	} {
		b, err := kafka.New(context.Background(), tc.s)
		if err != nil {
			t.Fatal(err)
		}
		err = b.(stream.SpecValidator).ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{
			"configuration": map[string]any{"client.id": "c"}}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("binder %s: %v; want %q", tc.s.Name, err, tc.want)
		}
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}
}
