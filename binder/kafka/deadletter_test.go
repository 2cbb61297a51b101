package kafka_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// createTopic creates topic with parts partitions and the given configs.
func createTopic(t testing.TB, c *kafkatest.Cluster, topic string, parts int32, configs map[string]string) {
	t.Helper()
	if err := c.Kfake.CreateTopic(topic, parts, configs); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// endOffset returns the end offset of partition part of topic.
func endOffset(t testing.TB, c *kafkatest.Cluster, topic string, part int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	res, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: {kafkago.LastOffsetOf(part)}}})
	if err != nil {
		t.Fatalf("list offsets of %s: %v", topic, err)
	}
	for _, po := range res.Topics[topic] {
		if po.Partition == part {
			if po.Error != nil {
				t.Fatalf("list offsets of %s/%d: %v", topic, part, po.Error)
			}
			return po.LastOffset
		}
	}
	t.Fatalf("list offsets of %s: partition %d missing", topic, part)
	return 0
}

// TestDeadLetterFitsTopicLimit (issue 8, case 1): a poison message whose
// dead letter does not fit the dead-letter topic's max.message.bytes as it
// is gets fitted (exception texts cut, or the payload dropped) or, when
// not even a headers-only dead letter fits, dropped and counted — and in
// every case the 100 valid messages behind it on the same partition are
// all handled within 10 s and the consumer stops within its timeout.
func TestDeadLetterFitsTopicLimit(t *testing.T) {
	const limit = 64 << 10 // max.message.bytes of the topics: small, so the test is fast
	c := kafkatest.Start(t)
	for _, tc := range []struct {
		name     string
		payload  int // bytes of the poison message's payload
		errText  int // bytes of the error text; 0: short
		dlqLimit int
		// want: "payload" (headers-only), "text" (exception texts cut,
		// payload kept) or "dropped".
		want string
	}{
		{name: "payload near the limit", payload: limit - 400, dlqLimit: limit, want: "payload"},
		{name: "long error text", payload: 10 << 10, errText: 40 << 10, dlqLimit: limit, want: "text"},
		{name: "not even headers fit", payload: 1000, errText: 2000, dlqLimit: 600, want: "dropped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBinder(t, c, nil)
			closeBinder(t, b)
			src := uniqueTopic(t)
			dlq := stream.DLQName(src, "g")
			createTopic(t, c, src, 1, map[string]string{"max.message.bytes": fmt.Sprint(limit)})
			createTopic(t, c, dlq, 1, map[string]string{"max.message.bytes": fmt.Sprint(tc.dlqLimit)})

			tr := newTracker()
			cause := errors.New("quantity must be positive")
			if tc.errText > 0 {
				cause = errors.New(strings.Repeat("e", tc.errText))
			}
			cause = fmt.Errorf("charge: %w", fmt.Errorf("validate order: %w", cause))
			spec := consumerSpec(src, "g", func(_ context.Context, m stream.Envelope) error {
				if m.Headers[idHeader] == "poison" {
					return stream.Permanent(cause)
				}
				tr.receive(m.Headers[idHeader])
				return nil
			})
			spec.Consumer.DLQ = true
			cons := startConsumer(t, b, spec)
			dead := make(chan stream.Envelope, 4)
			startConsumer(t, b, consumerSpec(dlq, "audit", func(_ context.Context, m stream.Envelope) error {
				dead <- m
				return nil
			}))

			p := bindProducer(t, b, src, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			poison := stream.Envelope{Payload: []byte(strings.Repeat("p", tc.payload)), Headers: stream.Headers{idHeader: "poison"}}
			if err := p.Send(ctx, poison); err != nil {
				t.Fatalf("send the poison message (it must fit the source topic): %v", err)
			}
			start := time.Now()
			produce(ctx, t, p, tr, "m", 100, 1, 0)
			tr.waitAll(t, 10*time.Second)
			t.Logf("100 valid messages behind the poison handled in %s", time.Since(start).Round(time.Millisecond))

			stats := cons.(stream.DeadLetterReporter).DeadLetterStats()
			if tc.want == "dropped" {
				if stats.Dropped != 1 {
					t.Errorf("stats %+v: want 1 dropped", stats)
				}
				if n := endOffset(t, c, dlq, 0); n != 0 {
					t.Errorf("the dead-letter topic holds %d records, want 0", n)
				}
			} else {
				var dl stream.Envelope
				select {
				case dl = <-dead:
				case <-time.After(10 * time.Second):
					t.Fatal("no dead letter")
				}
				h := dl.Headers
				cut := h[stream.HeaderTruncated]
				t.Logf("dead letter: %d payload bytes, %s=%q, stats %+v", len(dl.Payload), stream.HeaderTruncated, cut, stats)
				if h[stream.HeaderOriginalTopic] != src {
					t.Errorf("x-original-topic %q, want %q", h[stream.HeaderOriginalTopic], src)
				}
				if p := h[stream.HeaderOriginalPartition]; len(p) != 4 || binary.BigEndian.Uint32([]byte(p)) != 0 {
					t.Errorf("x-original-partition %x, want 4-byte 0", p)
				}
				if o := h[stream.HeaderOriginalOffset]; len(o) != 8 || binary.BigEndian.Uint64([]byte(o)) != 0 {
					t.Errorf("x-original-offset %x, want 8-byte 0 (the poison was the first record)", o)
				}
				if h[stream.HeaderExceptionMessage] == "" || h[stream.HeaderExceptionStacktrace] == "" || h[stream.HeaderExceptionFQCN] == "" {
					t.Errorf("exception headers missing: %v", h)
				}
				if stats.Truncated != 1 || stats.Dropped != 0 {
					t.Errorf("stats %+v: want 1 truncated, 0 dropped", stats)
				}
				switch tc.want {
				case "payload":
					if !strings.Contains(cut, "payload") || len(dl.Payload) != 0 || stats.HeadersOnly != 1 {
						t.Errorf("want a headers-only dead letter, got %d payload bytes, truncated %q, stats %+v", len(dl.Payload), cut, stats)
					}
				case "text":
					if !strings.Contains(cut, stream.HeaderExceptionStacktrace) || strings.Contains(cut, "payload") {
						t.Errorf("want the stack trace cut and the payload kept, truncated %q", cut)
					}
					if string(dl.Payload) != string(poison.Payload) {
						t.Errorf("payload changed: %d bytes, want %d", len(dl.Payload), len(poison.Payload))
					}
					if !strings.Contains(h[stream.HeaderExceptionMessage], "charge: validate order: eee") {
						t.Errorf("x-exception-message %.40q…", h[stream.HeaderExceptionMessage])
					}
				}
			}

			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			stopStart := time.Now()
			if err := cons.Stop(sctx); err != nil {
				t.Errorf("stop: %v", err)
			}
			t.Logf("stopped in %s", time.Since(stopStart).Round(time.Millisecond))
		})
	}
}
