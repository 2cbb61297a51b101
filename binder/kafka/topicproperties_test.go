package kafka_test

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// topicConfigs returns the configurations of topic as the cluster
// describes them (name → value).
func topicConfigs(t *testing.T, c *kafkatest.Cluster, topic string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	res, err := cl.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: topic,
	}}})
	if err != nil {
		t.Fatalf("describe configs of %s: %v", topic, err)
	}
	out := map[string]string{}
	for _, r := range res.Resources {
		if r.Error != nil {
			t.Fatalf("describe configs of %s: %v", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			out[e.ConfigName] = e.ConfigValue
		}
	}
	return out
}

// TestTopicPropertiesOnCreate: SCSt's topic.properties (and admin's older
// configuration) of a producer and of a consumer binding, and the
// dlq-producer-properties' of its dead-letter topic, are the
// configurations of a topic the binder creates, as SCSt's
// KafkaTopicProvisioner gives them to NewTopic. Values may be numbers, and
// nested maps spell dotted names. An existing topic is left as it is (SCSt
// alters one only with auto-alter-topics, which is refused). Before, every
// one was refused ("not supported: the binder creates topics with a
// partition count and replication-factor only") and start-up failed.
func TestTopicPropertiesOnCreate(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := kafka.New(ctx, stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Binder: map[string]any{"brokers": c.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)

	out, in, existing := uniqueTopic(t)+"-out", uniqueTopic(t)+"-in", uniqueTopic(t)+"-old"
	createTopic(t, c, existing, 1, map[string]string{"cleanup.policy": "delete"})
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "out-0", Destination: out, Extension: map[string]any{
		"topic": map[string]any{"properties": map[string]any{"cleanup.policy": "compact", "min": map[string]any{"cleanable": map[string]any{"dirty": map[string]any{"ratio": 0.1}}}}},
	}})
	if err != nil {
		t.Fatalf("bind producer with topic.properties: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })

	spec := consumerSpec(in, "g", func(context.Context, stream.Envelope) error { return nil })
	spec.Consumer.DLQ = true
	spec.Extension = map[string]any{
		"admin":                   map[string]any{"configuration": map[string]any{"retention.ms": 86400000}},
		"dlq-producer-properties": map[string]any{"topic": map[string]any{"properties": map[string]any{"retention.bytes": "1048576"}}},
	}
	startConsumer(t, b, spec)

	old := consumerSpec(existing, "g", func(context.Context, stream.Envelope) error { return nil })
	old.Binding = "old-in-0"
	old.Extension = map[string]any{"topic": map[string]any{"properties": map[string]any{"cleanup.policy": "compact"}}}
	startConsumer(t, b, old)

	for _, tc := range []struct {
		topic       string
		want, unset map[string]string
	}{
		{out, map[string]string{"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}, nil},
		{in, map[string]string{"retention.ms": "86400000"}, map[string]string{"retention.bytes": "1048576"}},
		{stream.DLQName(in, "g"), map[string]string{"retention.bytes": "1048576"}, map[string]string{"retention.ms": "86400000"}},
		{existing, map[string]string{"cleanup.policy": "delete"}, nil},
	} {
		got := topicConfigs(t, c, tc.topic)
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("topic %s: %s = %q, want %q", tc.topic, k, got[k], v)
			}
		}
		for k, v := range tc.unset {
			if got[k] == v {
				t.Errorf("topic %s: %s = %q, want the broker's default (not the other topic's)", tc.topic, k, got[k])
			}
		}
	}
}
