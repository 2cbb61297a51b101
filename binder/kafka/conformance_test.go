package kafka_test

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	bindertest.Run(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			return newBinder(t, c, nil)
		},
		Persistent: true,
		Duplicates: true,
		// The default auto-rebalance-enabled: the group assigns the
		// partitions, whatever the instance-index.
		GroupAssignsPartitions: true,
		Unsettled: func(t *testing.T, topic, group string) int {
			return uncommitted(t, c, topic, group)
		},
	})
}

// uncommitted is how many records of topic lie past group's committed
// offsets (all of a partition without one), summed over its partitions.
func uncommitted(t *testing.T, c *kafkatest.Cluster, topic, group string) int {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("metadata of %s: %v %+v", topic, err, md)
	}
	parts := make([]int, len(md.Topics[0].Partitions))
	for i, p := range md.Topics[0].Partitions {
		parts[i] = p.ID
	}
	end, err := topicEnd(ctx, cl, topic, len(parts))
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	for _, off := range committedOrNone(t, c, group, topic, parts) {
		end -= max(off, 0)
	}
	return int(end)
}

// TestInstanceIndexListFixedAssignment: with auto-rebalance-enabled
// false, each consumer of consumer.instance-index-list [0, 2] (instance-count
// 3) reads the partitions p with p % 3 == its index, without joining the
// group: partitions 0 and 2 of a 3-partition topic, not 1 (bindertest's
// InstanceIndexList).
func TestInstanceIndexListFixedAssignment(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	bindertest.RunInstanceIndexList(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			return newBinder(t, c, nil)
		},
		Duplicates:           true,
		AppType:              kafka.Type,
		AppConsumerExtension: map[string]any{"auto-rebalance-enabled": false},
		Timeout:              30 * time.Second,
	})
}

// newBinder returns a kafka binder on cluster c with extra environment
// settings; the caller (or the suite) closes it.
func newBinder(t testing.TB, c *kafkatest.Cluster, env map[string]any) stream.Binder {
	t.Helper()
	e := map[string]any{"brokers": c.Brokers()}
	for k, v := range env {
		e[k] = v
	}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Environment: e, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
