package stream_test

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestReplayOfKafkaDeadLetterWithEmptyIDKeepsOriginalKey: a record whose
// id header is empty (or blank) has no id to the default idempotency key,
// which keys it by its delivery identity (kafka:<topic>:<partition>:<offset>);
// its dead letter's replayed copies must name that identity in
// x-streambind-replayed-id, as those of a record without an id header do.
// Before, the empty id was moved there, and each copy was keyed by the
// new id the replay gave it: a replay run twice ran the message twice.
func TestReplayOfKafkaDeadLetterWithEmptyIDKeepsOriginalKey(t *testing.T) {
	k, err := stream.CompileIdempotencyKeyFor(stream.IdempotencyConfig{}, "kafka")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", " "} {
		dl := stream.Headers{
			stream.HeaderID:                id,
			stream.HeaderOriginalTopic:     "orders",
			stream.HeaderOriginalPartition: string([]byte{0, 0, 0, 1}),
			stream.HeaderOriginalOffset:    string([]byte{0, 0, 0, 0, 0, 0, 0, 7}),
		}
		orig, err := k.Of(stream.Envelope{Headers: stream.Headers{stream.HeaderID: id},
			Received: stream.Received{Destination: "orders", Partition: 1, HasPartition: true, Offset: 7, HasOffset: true}})
		if err != nil || orig != "kafka:orders:1:7" {
			t.Fatalf("id %q: the original's key %q, %v", id, orig, err)
		}
		for i, copyID := range []string{"copy-1", "copy-2"} { // two replays
			h := stream.ReplayHeaders(dl)
			h[stream.HeaderID] = copyID // the replay's producer gives it one
			got, err := k.Of(stream.Envelope{Headers: h, Received: stream.Received{Destination: "orders", Partition: 0, HasPartition: true, Offset: int64(50 + i), HasOffset: true}})
			if err != nil || got != orig {
				t.Errorf("id %q: copy %s's key %q, %v; want the original's %q", id, copyID, got, err, orig)
			}
		}
	}
}
