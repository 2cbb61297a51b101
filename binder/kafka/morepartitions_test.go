package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestTopicWithMorePartitionsThanPartitionCount (found by the partitioning
// trial): a topic created with more partitions than the producer's
// partition-count. SCSt's Kafka binder selects among all of the topic's
// partitions ("the larger number will be used instead"), so a key goes
// where an SCSt producer of the topic sends it; streambind used only the
// first partition-count.
func TestTopicWithMorePartitionsThanPartitionCount(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 6, nil)
	cfg := &stream.Config{
		OutputBindings: "out",
		Binders:        map[string]stream.BinderConfig{"kafka": {Type: "kafka", Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder:  "kafka",
		Bindings: map[string]stream.BindingConfig{
			"out": {Destination: topic, Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['k']", PartitionCount: 3}},
		},
	}
	app := runApp(t, cfg, stream.NewCatalog(), testLogger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := make([]int64, 6)
	for i := range 60 {
		k := fmt.Sprintf("customer-%d", i)
		if err := app.Bridge().Send(ctx, "out", stream.NewMessage([]byte("x"), "k", k)); err != nil {
			t.Fatal(err)
		}
		want[stream.SelectPartition(stream.PartitionHash(k), 6)]++
	}
	got := make([]int64, 6)
	for p := range got {
		conn, err := kafkago.DialLeader(ctx, "tcp", c.Addrs()[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		if got[p], err = conn.ReadLastOffset(); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records per partition %v, want %v (selected among the topic's 6 partitions)", got, want)
	}
}

// Bridge.Encode (the outbox's) of a dynamic destination the bridge has
// bound selects among the topic's partitions as its sends do (found by
// the review: it selected among partition-count, so an outbox row and a
// direct send of one key went to different partitions).
func TestEncodeAfterDynamicBindUsesTopicPartitions(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 6, nil)
	cfg := &stream.Config{
		Binders:       map[string]stream.BinderConfig{"kafka": {Type: "kafka", Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder: "kafka",
		Default:       stream.BindingConfig{Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['k']", PartitionCount: 3}},
	}
	app := runApp(t, cfg, stream.NewCatalog(), testLogger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Bridge().Send(ctx, topic, stream.NewMessage([]byte("x"), "k", "warm-up")); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		k := fmt.Sprintf("customer-%d", i)
		env, err := app.Bridge().Encode(topic, stream.NewMessage([]byte("x"), "k", k))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := env.Headers[stream.HeaderPartition], fmt.Sprint(stream.SelectPartition(stream.PartitionHash(k), 6)); got != want {
			t.Fatalf("key %s encoded to partition %s, want %s (as a send selects among the topic's 6)", k, got, want)
		}
	}
}
