package kafka_test

// A record without a timestamp read through the protocol layer
// (read_committed; found reviewing 647ed58): kafka-go's protocol layer
// gives it the time of -1 ms (1969-12-31T23:59:59.999Z), not the zero time
// its connection reader gives, so its dead letter said CreateTime and its
// handler saw a date where stream.Received says zero when not known.

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestNoTimestampSameOnBothFetchPaths: a record without a timestamp that
// fails is dead-lettered with x-original-timestamp -1 and
// x-original-timestamp-type NoTimestampType, and its handler sees a zero
// Received.Timestamp, whichever way the partition is read.
func TestNoTimestampSameOnBothFetchPaths(t *testing.T) {
	t.Parallel()
	for _, isolation := range []string{"read_uncommitted", "read_committed"} {
		t.Run(isolation, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			b := newBinder(t, c, nil)
			closeBinder(t, b)
			src := uniqueTopic(t)
			createTopic(t, c, src, 1, nil)
			createTopic(t, c, stream.DLQName(src, "g"), 1, nil)
			writeWithoutTimestamp(t, c, src, []byte("no time"))
			seen := make(chan time.Time, 1)
			spec := consumerSpec(src, "g", func(_ context.Context, m stream.Envelope) error {
				select {
				case seen <- m.Received.Timestamp:
				default:
				}
				return stream.Permanent(errors.New("fails"))
			})
			spec.Consumer.DLQ = true
			spec.Extension = map[string]any{"configuration": map[string]any{"isolation.level": isolation}}
			startConsumer(t, b, spec)
			dead := make(chan stream.Envelope, 1)
			startConsumer(t, b, consumerSpec(stream.DLQName(src, "g"), "audit", func(_ context.Context, m stream.Envelope) error {
				select {
				case dead <- m:
				default:
				}
				return nil
			}))
			deadline := time.After(15 * time.Second)
			select {
			case ts := <-seen:
				if !ts.IsZero() {
					t.Errorf("handler's Received.Timestamp %s; want zero (not known)", ts.UTC().Format(time.RFC3339Nano))
				}
			case <-deadline:
				t.Fatal("the record was not handled")
			}
			var dl stream.Envelope
			select {
			case dl = <-dead:
			case <-deadline:
				t.Fatal("no dead letter")
			}
			ts := dl.Headers[stream.HeaderOriginalTimestamp]
			var v int64
			if len(ts) == 8 {
				v = int64(binary.BigEndian.Uint64([]byte(ts)))
			}
			if len(ts) != 8 || v != -1 || dl.Headers["x-original-timestamp-type"] != "NoTimestampType" {
				t.Errorf("x-original-timestamp %d (%d bytes), type %q; want -1, NoTimestampType", v, len(ts), dl.Headers["x-original-timestamp-type"])
			}
		})
	}
}
