package stream

import (
	"encoding/binary"
	"strconv"
	"time"
)

// A dead letter's x-original-* headers locate the message it copies. Their
// numbers are written two ways: the Kafka binder, as Spring Cloud Stream's
// Kafka binder does, writes x-original-partition as a 4-byte and
// x-original-offset and x-original-timestamp as 8-byte big-endian
// integers (the header values are bytes); the NATS, Redis and in-process
// binders write decimal text. The accessors below read either, so that a
// consumer of dead letters need not know which binder wrote them.
//
// Decimal text is tried first: a binary value whose bytes are all ASCII
// digits would be a partition of at least 808,464,432 or an offset or
// timestamp near 3.5e18, which no broker hands out.

// OriginalPartition returns the partition of the message a dead letter
// copies (x-original-partition): a Kafka partition, or the partition of a
// NATS subject or Redis stream of a partitioned destination, 0 for the
// Kafka and in-process binders' destinations that are not partitioned.
// false when the header is absent (RabbitMQ's dead letters; NATS's and
// Redis's of a destination that is not partitioned) or is neither decimal
// text nor a 4-byte integer.
func (h Headers) OriginalPartition() (int, bool) {
	v, ok := h[HeaderOriginalPartition]
	if !ok {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 32); err == nil && n >= 0 {
		return int(n), true
	}
	if len(v) == 4 {
		if n := int32(binary.BigEndian.Uint32([]byte(v))); n >= 0 {
			return int(n), true
		}
	}
	return 0, false
}

// OriginalOffset returns the Kafka offset of the record a dead letter
// copies (x-original-offset, written by Kafka binders only). false when
// absent or neither decimal text nor an 8-byte integer, or negative.
func (h Headers) OriginalOffset() (int64, bool) {
	return originalInt64(h, HeaderOriginalOffset)
}

// OriginalTimestamp returns the time of the message a dead letter copies
// (x-original-timestamp, Unix milliseconds): on Kafka the record's
// timestamp (x-original-timestamp-type says whether the producer set it
// or the broker), on NATS when JetStream stored it, on Redis the time in
// the entry's ID, in process when it was sent. false when absent,
// malformed, or negative (Kafka's "no timestamp", -1).
func (h Headers) OriginalTimestamp() (time.Time, bool) {
	ms, ok := originalInt64(h, HeaderOriginalTimestamp)
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// originalInt64 reads header k as decimal text or an 8-byte big-endian
// integer; false when absent, malformed or negative.
func originalInt64(h Headers, k string) (int64, bool) {
	v, ok := h[k]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && len(v) == 8 {
		n, err = int64(binary.BigEndian.Uint64([]byte(v))), nil
	}
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
