package stream_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

func be32(n int32) string { return string(binary.BigEndian.AppendUint32(nil, uint32(n))) }
func be64(n int64) string { return string(binary.BigEndian.AppendUint64(nil, uint64(n))) }

// The x-original-* numbers read alike whichever binder wrote them: Kafka's
// (and SCSt's Kafka binder's) big-endian bytes, the others' decimal text.
func TestOriginalHeaders(t *testing.T) {
	ts := time.UnixMilli(1764979200123)
	for _, c := range []struct {
		name   string
		h      stream.Headers
		part   int
		partOK bool
		off    int64
		offOK  bool
		ts     time.Time
		tsOK   bool
	}{
		{"kafka binary", stream.Headers{"x-original-partition": be32(7), "x-original-offset": be64(123456789), "x-original-timestamp": be64(ts.UnixMilli())}, 7, true, 123456789, true, ts, true},
		{"kafka partition 0, offset 0", stream.Headers{"x-original-partition": be32(0), "x-original-offset": be64(0)}, 0, true, 0, true, time.Time{}, false},
		// A byte of the binary form that is an ASCII digit must not be read as text.
		{"kafka partition 49 ('1' as its last byte)", stream.Headers{"x-original-partition": be32(49)}, 49, true, 0, false, time.Time{}, false},
		{"kafka no timestamp", stream.Headers{"x-original-timestamp": be64(-1)}, 0, false, 0, false, time.Time{}, false},
		{"decimal (NATS, Redis, in-process)", stream.Headers{"x-original-partition": "2", "x-original-timestamp": "1764979200123"}, 2, true, 0, false, ts, true},
		{"decimal offset", stream.Headers{"x-original-offset": "42"}, 0, false, 42, true, time.Time{}, false},
		{"absent (RabbitMQ)", stream.Headers{"x-original-exchange": "orders"}, 0, false, 0, false, time.Time{}, false},
		{"nil headers", nil, 0, false, 0, false, time.Time{}, false},
		{"malformed", stream.Headers{"x-original-partition": "two", "x-original-offset": "abc", "x-original-timestamp": "12:00"}, 0, false, 0, false, time.Time{}, false},
		{"negative", stream.Headers{"x-original-partition": "-1", "x-original-offset": "-5"}, 0, false, 0, false, time.Time{}, false},
		{"wrong width", stream.Headers{"x-original-partition": "\x00\x00\x01", "x-original-offset": be32(5)}, 0, false, 0, false, time.Time{}, false},
	} {
		p, pok := c.h.OriginalPartition()
		o, ook := c.h.OriginalOffset()
		tm, tok := c.h.OriginalTimestamp()
		if p != c.part || pok != c.partOK || o != c.off || ook != c.offOK || !tm.Equal(c.ts) || tok != c.tsOK {
			t.Errorf("%s: partition %d %v, offset %d %v, timestamp %v %v; want %d %v, %d %v, %v %v",
				c.name, p, pok, o, ook, tm, tok, c.part, c.partOK, c.off, c.offOK, c.ts, c.tsOK)
		}
	}
}

// A consumer of dead letters reads where each came from, whichever binder
// wrote it. Here the headers of a Kafka dead letter, whose numbers are
// big-endian bytes as Spring Cloud Stream's Kafka binder writes them.
func ExampleHeaders_OriginalPartition() {
	h := stream.Headers{
		"x-original-topic":     "orders",
		"x-original-partition": string([]byte{0, 0, 0, 2}),
		"x-original-offset":    string([]byte{0, 0, 0, 0, 0, 0, 0x30, 0x39}),
		"x-original-timestamp": string(binary.BigEndian.AppendUint64(nil, 1764979200000)),
	}
	p, _ := h.OriginalPartition()
	off, _ := h.OriginalOffset()
	ts, _ := h.OriginalTimestamp()
	fmt.Println(h.Get("x-original-topic"), p, off, ts.UTC().Format(time.RFC3339))
	// Output: orders 2 12345 2025-12-06T00:00:00Z
}
