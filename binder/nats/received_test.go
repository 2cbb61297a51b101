package nats_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestReceived: a consumer binding of two destinations tells its handler
// which one each message was read from, the partition of its subject
// (<destination>.<n>) on a partitioned consumer (instance 1 of 2: NATS
// 2.9 filters one subject a consumer), the stream sequence and
// the time JetStream stored it, and that a message delivered again after
// a Nak was delivered before. The handler could not tell the destinations
// apart before.
func TestReceived(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	da, db := unique(t, "rcv-a"), unique(t, "rcv-b")
	got := make(chan stream.Envelope, 4)
	var nakked atomic.Bool
	before := time.Now().Add(-time.Second)
	startConsumer(t, b, stream.ConsumerSpec{Destination: da + "," + db, Group: "g",
		Consumer:  stream.ConsumerConfig{Partitioned: true, InstanceIndex: 1, InstanceCount: 2},
		Extension: map[string]any{"redelivery-delay": "10ms"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if m.Headers[idHeader] == "b" && !nakked.Swap(true) {
				return stream.ErrNak
			}
			got <- m
			return nil
		}})
	ctx := context.Background()
	for _, s := range []struct {
		dest, id string
		part     int
	}{{da, "a", 1}, {db, "b", 1}} {
		p := bindProducer(t, b, stream.ProducerSpec{Binding: s.id + "-out-0", Destination: s.dest,
			Producer: stream.ProducerConfig{PartitionKeyExpression: "key", PartitionCount: 2}})
		if err := p.Send(ctx, partitioned(s.id, s.part)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]stream.Received{}
	for range 2 {
		select {
		case m := <-got:
			seen[m.Headers[idHeader]] = m.Received
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out; received %v", seen)
		}
	}
	for id, want := range map[string]struct {
		dest        string
		part        int
		redelivered bool
	}{"a": {da, 1, false}, "b": {db, 1, true}} {
		r := seen[id]
		if r.Destination != want.dest || !r.HasOffset || r.Offset < 1 || r.Timestamp.Before(before) || r.Timestamp.After(time.Now()) {
			t.Errorf("%s: Received %+v, want destination %s, a stream sequence and a time", id, r, want.dest)
		}
		if !r.HasPartition || r.Partition != want.part || r.Redelivered != want.redelivered || r.EntryID != "" || r.Queue != "" {
			t.Errorf("%s: Received %+v, want partition %d, redelivered %v", id, r, want.part, want.redelivered)
		}
	}
	if !nakked.Load() {
		t.Fatal(errors.New("the Nak did not happen"))
	}
}
