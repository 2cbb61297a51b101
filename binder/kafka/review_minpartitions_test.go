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

// TestReviewMinPartitionsMultiDestinationDLQ: min-partition-count 4,
// auto-add-partitions off, a consumer of two existing topics (2 and 4
// partitions) with dlq and retry topics: it binds, the topics keep their
// partitions, one WARN for the topic of 2 and none for the other, and the
// dead-letter and retry topics the binder creates get min-partition-count
// partitions (SCSt: a topic created gets max(min-partition-count, count)).
func TestReviewMinPartitionsMultiDestinationDLQ(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := uniqueTopic(t)+"-a", uniqueTopic(t)+"-b"
	createTopic(t, c, a, 2, nil)
	createTopic(t, c, b, 4, nil)
	logs := &logRecorder{}
	bd, err := kafka.New(ctx, stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: logs.logger(),
		Binder: map[string]any{"brokers": c.Brokers(), "min-partition-count": 4}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, bd)
	start := time.Now()
	spec := consumerSpec(a+","+b, "g", func(context.Context, stream.Envelope) error { return nil })
	spec.Consumer.DLQ = true
	spec.Consumer.RetryDelays = []time.Duration{time.Second}
	cons, err := bd.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cons.Stop(context.Background()) })
	var warned []string
	for _, l := range logs.since(slog.LevelWarn, start) {
		if strings.Contains(l.msg, "min-partition-count") {
			warned = append(warned, l.String())
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], a) {
		t.Errorf("min-partition-count WARNs %q; want one, for %s", warned, a)
	}
	for topic, want := range map[string]int{a: 2, b: 4, stream.DLQName(a, "g"): 4, stream.DLQName(b, "g"): 4,
		kafka.RetryTopicName(a, "g", time.Second): 4} {
		if n := len(c.Kfake.PartitionInfos(topic)); n != want {
			t.Errorf("topic %s has %d partitions, want %d", topic, n, want)
		}
	}
}
