package kafka_test

// A record batch the consumer cannot decode (found by the "breaker"
// review): the partition stopped at it for good and said so only at
// debug, a fetch every 10s (the read of what was left of the answer
// waited for its deadline).

import (
	"context"
	"hash/crc32"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// writeCorruptBatch appends to partition 0 of topic a record batch whose
// attributes say gzip and whose records are not gzip (its CRC is right:
// the broker takes it).
func writeCorruptBatch(t testing.TB, c *kafkatest.Cluster, topic string) {
	t.Helper()
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{Magic: 2, Attributes: 1, NumRecords: 1, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		FirstTimestamp: now, MaxTimestamp: now, Records: []byte("this is not gzip data at all")}
	produceBatch(t, c, topic, rb)
}

// produceBatch writes record batch rb (its Length and CRC filled in here)
// to partition 0 of topic as it is, through a raw produce request, and
// fails t unless the broker takes it.
func produceBatch(t testing.TB, c *kafkatest.Cluster, topic string, rb kmsg.RecordBatch) {
	t.Helper()
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	rb.CRC = int32(crc32.Checksum(rb.AppendTo(nil)[21:], crc32.MakeTable(crc32.Castagnoli)))
	// Produce v9 names topics (later versions name them by id only).
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.MaxVersions(kversion.V3_0_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = rb.AppendTo(nil)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("write the record batch: %v", kerr.ErrorForCode(code))
	}
}

// TestBreakCorruptBatchWarns: a partition holds a record, a batch that
// cannot be decoded, and a record. The first is handled; the partition
// stops at the corrupt batch (its records are not skipped: nothing after
// it is handled or committed) and a WARN names the offset and the error
// within seconds, for both fetch paths (kafka-go's connection reader and,
// with read_committed, the protocol layer).
func TestBreakCorruptBatchWarns(t *testing.T) {
	t.Parallel()
	for _, isolation := range []string{"read_uncommitted", "read_committed"} {
		t.Run(isolation, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			topic := uniqueTopic(t)
			createTopic(t, c, topic, 1, nil)
			w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{}}
			defer w.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte("before")}); err != nil {
				t.Fatal(err)
			}
			writeCorruptBatch(t, c, topic)
			if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte("after")}); err != nil {
				t.Fatal(err)
			}
			logs := &logRecorder{}
			b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: logs.logger(),
				Environment: map[string]any{"brokers": c.Brokers()}})
			if err != nil {
				t.Fatal(err)
			}
			closeBinder(t, b)
			var mu sync.Mutex
			var got []string
			spec := consumerSpec(topic, "g", func(_ context.Context, m stream.Envelope) error {
				mu.Lock()
				got = append(got, string(m.Payload))
				mu.Unlock()
				return nil
			})
			spec.Extension = map[string]any{"configuration": map[string]any{"isolation.level": isolation}}
			start := time.Now()
			startConsumer(t, b, spec)
			const warning = "kafka: fetching the partition keeps failing at this offset"
			waitFor(t, 20*time.Second, "a WARN about the corrupt batch", func() bool {
				return logs.count(slog.LevelWarn, warning, start) > 0
			})
			t.Logf("warned after %s", time.Since(start).Round(time.Millisecond))
			for _, l := range logs.since(slog.LevelWarn, start) {
				if strings.HasPrefix(l.msg, warning) {
					if s := l.String(); !strings.Contains(s, `offset="1"`) || !strings.Contains(s, "gzip") {
						t.Errorf("the WARN names neither the offset nor the error: %s", s)
					}
					break
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0] != "before" {
				t.Errorf("handled %q; want the record before the corrupt batch only", got)
			}
			if off := committedOf(t, c, "g", topic); off > 1 {
				t.Errorf("committed %d: past the corrupt batch", off)
			}
		})
	}
}
