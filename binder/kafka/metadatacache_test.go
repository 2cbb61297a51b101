package kafka_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestBindTopicCreatedAfterMetadataCached: with auto-create-topics off, a
// topic created outside the binder after the binder cached the cluster's
// metadata is bound at once, by a producer and a consumer, and carries a
// message from one to the other; partitions added outside the binder are
// seen at once too.
func TestBindTopicCreatedAfterMetadataCached(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := newBinder(t, c, map[string]any{"auto-create-topics": false, "auto-add-partitions": false})
	closeBinder(t, b)

	// A first binding fills the binder's metadata cache.
	first := uniqueTopic(t) + "-first"
	createTopic(t, c, first, 1, nil)
	bindProducer(t, b, first, 1)

	dest := uniqueTopic(t)
	createTopic(t, c, dest, 1, nil)
	tr := newTracker()
	startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))
	p := bindProducer(t, b, dest, 1)
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x"), Headers: map[string]string{idHeader: "m1"}}); err != nil {
		t.Fatalf("send to the new topic: %v", err)
	}
	tr.confirm("m1")
	tr.waitAll(t, 30*time.Second)

	// Partitions added outside the binder: a producer that needs them
	// (and may not add them) binds at once.
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	res, err := cl.CreatePartitions(ctx, &kafkago.CreatePartitionsRequest{Topics: []kafkago.TopicPartitionsConfig{{Name: dest, Count: 3}}})
	if err == nil {
		err = res.Errors[dest]
	}
	if err != nil {
		t.Fatalf("add partitions: %v", err)
	}
	bindProducer(t, b, dest, 3)
}

// TestFewerPartitionsInfo: a consumer whose concurrency × instance-count
// exceeds the topic's partitions logs one INFO saying that handler slots
// stay idle with ordering partition; with ordering key (its slots share
// the partition's messages) only when instance-count exceeds them.
func TestFewerPartitionsInfo(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	for _, tc := range []struct {
		ordering  string
		instances int
		want      string
	}{
		{"partition", 1, "handler slots stay idle"},
		{"key", 1, ""},
		{"key", 2, "some instances stay idle"},
	} {
		ordering := tc.ordering
		t.Run(ordering+"-"+strconv.Itoa(tc.instances), func(t *testing.T) {
			topic := uniqueTopic(t)
			createTopic(t, c, topic, 1, nil)
			logs := &logRecorder{}
			b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: logs.logger(),
				Environment: map[string]any{"brokers": c.Brokers(), "auto-create-topics": false}})
			if err != nil {
				t.Fatal(err)
			}
			closeBinder(t, b)
			spec := consumerSpec(topic, "g", func(context.Context, stream.Envelope) error { return nil })
			spec.Consumer.Concurrency = 4
			spec.Consumer.InstanceCount = tc.instances
			spec.Extension = map[string]any{"ordering": ordering}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			if _, err := b.BindConsumer(ctx, spec); err != nil {
				t.Fatal(err)
			}
			var infos []logLine
			for _, l := range logs.since(slog.LevelInfo, start) {
				if strings.Contains(l.msg, "fewer partitions") {
					infos = append(infos, l)
				}
			}
			switch {
			case tc.want == "" && len(infos) != 0:
				t.Fatalf("fewer-partitions lines; want none: %v", infos)
			case tc.want != "" && (len(infos) != 1 || !strings.Contains(infos[0].msg, tc.want)):
				t.Fatalf("fewer-partitions lines %v; want one saying %q", infos, tc.want)
			}
			logs.checkHygiene(t)
		})
	}
}
