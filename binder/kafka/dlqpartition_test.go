package kafka_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterPartition: the dead-letter topic's partition of a dead
// letter is SCSt's (DlqPartitionFunction.determineFallbackFunction):
// partition 0 with dlq-partitions 1, even where min-partition-count gave
// the dead-letter topic more (here 3); otherwise the failed record's own
// partition, modulo the dead-letter topic's count where it has fewer (made
// beforehand with 2; SCSt fails such a send: Kafka's client refuses a
// partition the topic lacks).
func TestDeadLetterPartition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ext      map[string]any
		made     int // partitions of a dead-letter topic made beforehand
		dlqParts int // partitions of the dead-letter topic
		from     int // the failed record's partition
		want     int // the dead letter's
	}{
		{"dlq-partitions 1", map[string]any{"dlq-partitions": 1}, 0, 3, 1, 0},
		{"dlqPartitions 1", map[string]any{"dlqPartitions": 1}, 0, 3, 2, 0},
		{"default", nil, 0, 3, 1, 1},
		{"dlq-partitions 3", map[string]any{"dlq-partitions": 3}, 0, 3, 2, 2},
		{"fewer partitions", map[string]any{"dlq-partitions": 2}, 2, 2, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			b := newBinder(t, c, map[string]any{"min-partition-count": 3})
			closeBinder(t, b)
			src := uniqueTopic(t)
			createTopic(t, c, src, 3, nil)
			dlq := stream.DLQName(src, "g")
			if tc.made > 0 {
				createTopic(t, c, dlq, int32(tc.made), nil)
			}
			spec := consumerSpec(src, "g", func(context.Context, stream.Envelope) error {
				return stream.Permanent(errors.New("poison"))
			})
			spec.Consumer.DLQ = true
			spec.Extension = tc.ext
			startConsumer(t, b, spec)
			if n := len(c.Kfake.PartitionInfos(dlq)); n != tc.dlqParts {
				t.Fatalf("dead-letter topic has %d partitions, want %d", n, tc.dlqParts)
			}
			dead := make(chan stream.Envelope, 1)
			startConsumer(t, b, consumerSpec(dlq, "audit", func(_ context.Context, m stream.Envelope) error {
				dead <- m
				return nil
			}))
			p := bindProducer(t, b, src, 3)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			env := stream.Envelope{Payload: []byte(`{}`), Headers: stream.Headers{idHeader: "poison", stream.HeaderPartition: strconv.Itoa(tc.from)}}
			if err := p.Send(ctx, env); err != nil {
				t.Fatal(err)
			}
			select {
			case dl := <-dead:
				if op, ok := dl.Headers.OriginalPartition(); !ok || op != tc.from {
					t.Errorf("x-original-partition %d (%v), want %d", op, ok, tc.from)
				}
				if !dl.Received.HasPartition || dl.Received.Partition != tc.want {
					t.Errorf("dead letter on partition %d (known: %v), want %d", dl.Received.Partition, dl.Received.HasPartition, tc.want)
				}
			case <-ctx.Done():
				t.Fatal("no dead letter")
			}
		})
	}
}
