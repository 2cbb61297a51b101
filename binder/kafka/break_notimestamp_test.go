package kafka_test

// The dead letter of a record without a timestamp (found by the
// "breaker" review): its x-original-timestamp was the milliseconds of Go's
// zero time (a date in year 1), where SCSt writes Kafka's NO_TIMESTAMP.

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// writeWithoutTimestamp appends to partition 0 of topic one record whose
// timestamp is -1 (NO_TIMESTAMP) and whose id header is "poison" (see
// poisonRig), in an uncompressed batch.
func writeWithoutTimestamp(t testing.TB, c *kafkatest.Cluster, topic string, value []byte) {
	t.Helper()
	rec := kmsg.Record{Value: value, Headers: []kmsg.Header{{Key: idHeader, Value: []byte("poison")}}}
	rec.Length = int32(len(rec.AppendTo(nil)) - 1) // the length varint of 0 is one byte (and of the real one: under 64)
	rb := kmsg.RecordBatch{Magic: 2, NumRecords: 1, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		FirstTimestamp: -1, MaxTimestamp: -1, Records: rec.AppendTo(nil)}
	produceBatch(t, c, topic, rb)
}

// TestBreakDeadLetterWithoutTimestamp: a record without a timestamp that
// fails is dead-lettered with x-original-timestamp -1 and
// x-original-timestamp-type NoTimestampType.
func TestBreakDeadLetterWithoutTimestamp(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	src := uniqueTopic(t)
	createTopic(t, c, src, 1, nil)
	createTopic(t, c, stream.DLQName(src, "g"), 1, nil)
	writeWithoutTimestamp(t, c, src, []byte("no time"))
	rig := newPoisonRig(t, b, src, errors.New("fails"))
	dl := rig.deadLetter(t)
	ts := dl.Headers[stream.HeaderOriginalTimestamp]
	if len(ts) != 8 || int64(binary.BigEndian.Uint64([]byte(ts))) != -1 || dl.Headers["x-original-timestamp-type"] != "NoTimestampType" {
		var v int64
		if len(ts) == 8 {
			v = int64(binary.BigEndian.Uint64([]byte(ts)))
		}
		t.Errorf("x-original-timestamp %d (%d bytes), type %q; want -1, NoTimestampType", v, len(ts), dl.Headers["x-original-timestamp-type"])
	}
}
