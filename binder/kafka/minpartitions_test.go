package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestMinPartitionCountRaisedOnExistingTopic: a redeploy that raises
// min-partition-count (auto-add-partitions off) over an existing topic
// with fewer partitions. SCSt's KafkaTopicProvisioner applies
// min-partition-count to an existing topic only with autoAddPartitions, so
// the binding starts (a producer with partition-count 1 too: it used to be
// refused here); the topic keeps its partitions, and a WARN names the
// binding, the topic, both counts and the keys (it was silent for a
// consumer at concurrency 1). A producer's partition-count above the
// topic's partitions is still an error naming the key to enable (SCSt:
// "The number of expected partitions ... Consider ... enabling
// autoAddPartitions"); with auto-add-partitions the topic grows to
// min-partition-count.
func TestMinPartitionCountRaisedOnExistingTopic(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 2, nil)

	logs := &logRecorder{}
	b, err := kafka.New(ctx, stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: logs.logger(),
		Binder: map[string]any{"brokers": c.Brokers(), "min-partition-count": 4}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	warns := func(binding string, since time.Time) []logLine {
		var ls []logLine
		for _, l := range logs.since(slog.LevelWarn, since) {
			if strings.Contains(l.msg, "min-partition-count") && strings.Contains(l.String(), binding) {
				ls = append(ls, l)
			}
		}
		return ls
	}
	checkWarn := func(t *testing.T, binding string, since time.Time) {
		t.Helper()
		ls := warns(binding, since)
		if len(ls) != 1 {
			t.Fatalf("%s: min-partition-count WARNs %v; want one", binding, ls)
		}
		for _, want := range []string{topic, `partitions="2"`, `min-partition-count="4"`,
			"stream.kafka.binder.min-partition-count", "stream.kafka.binder.auto-add-partitions"} {
			if !strings.Contains(ls[0].String(), want) {
				t.Errorf("%s: WARN %v does not say %q", binding, ls[0], want)
			}
		}
	}

	t.Run("consumer", func(t *testing.T) {
		start := time.Now()
		spec := consumerSpec(topic, "g", func(context.Context, stream.Envelope) error { return nil })
		spec.Binding = "cons-in-0"
		cons, err := b.BindConsumer(ctx, spec)
		if err != nil {
			t.Fatalf("consumer at concurrency 1: %v; want it bound, as SCSt does", err)
		}
		t.Cleanup(func() { _ = cons.Stop(context.Background()) })
		checkWarn(t, "cons-in-0", start)
	})
	t.Run("producer", func(t *testing.T) {
		start := time.Now()
		p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "prod-out-0", Destination: topic})
		if err != nil {
			t.Fatalf("producer with partition-count 1: %v; want it bound, as SCSt does", err)
		}
		_ = p.Close(ctx)
		checkWarn(t, "prod-out-0", start)
	})
	if n := len(c.Kfake.PartitionInfos(topic)); n != 2 {
		t.Fatalf("the topic has %d partitions after the binds without auto-add-partitions, want 2", n)
	}
	t.Run("producer partition-count", func(t *testing.T) {
		_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "pc-out-0", Destination: topic,
			Producer: stream.ProducerConfig{PartitionCount: 3, PartitionKeyExpression: "key"}})
		if err == nil {
			t.Fatal("producer with partition-count 3 on a topic of 2 partitions bound; want an error")
		}
		for _, want := range []string{"pc-out-0", topic, "has 2 partitions", "needs 3", "enable stream.kafka.binder.auto-add-partitions"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
	t.Run("auto-add-partitions", func(t *testing.T) {
		b2 := newBinder(t, c, map[string]any{"min-partition-count": 4, "auto-add-partitions": true})
		closeBinder(t, b2)
		spec := consumerSpec(topic, "g2", func(context.Context, stream.Envelope) error { return nil })
		cons, err := b2.BindConsumer(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cons.Stop(context.Background()) })
		if n := len(c.Kfake.PartitionInfos(topic)); n != 4 {
			t.Fatalf("with auto-add-partitions the topic has %d partitions, want min-partition-count 4", n)
		}
	})
	logs.checkHygiene(t)
}
