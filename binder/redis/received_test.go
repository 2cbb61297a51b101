package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestReceived: a consumer binding of two destinations tells its handler
// which one each entry was read from (as configured: without the
// key-prefix), the entry ID and its time, and the partition of an entry
// read from a partition's stream (<destination>:<n>) by a partitioned
// consumer; none for the destination's own stream. The handler could not
// tell the destinations apart before.
func TestReceived(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, nil)
	got := make(chan stream.Envelope, 4)
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "rcv-a, rcv-b", Group: "g",
		Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 1},
		Handler:  func(_ context.Context, m stream.Envelope) error { got <- m; return nil }})
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	pa := bindProducer(t, b, stream.ProducerSpec{Binding: "a-out-0", Destination: "rcv-a",
		Producer: stream.ProducerConfig{PartitionCount: 2, PartitionKeyExpression: "key"}})
	m := msg("a")
	m.Headers[stream.HeaderPartition] = "1"
	if err := pa.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	send(t, bindProducer(t, b, stream.ProducerSpec{Binding: "b-out-0", Destination: "rcv-b"}), []string{"b"})
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
		dest string
		part int // -1: none
	}{"a": {"rcv-a", 1}, "b": {"rcv-b", -1}} {
		r := seen[id]
		ms, _, _ := strings.Cut(r.EntryID, "-")
		if r.Destination != want.dest || r.EntryID == "" || ms != itoa(int(r.Timestamp.UnixMilli())) ||
			r.Timestamp.Before(before) || r.Timestamp.After(time.Now()) || r.HasOffset || r.Redelivered || r.Queue != "" {
			t.Errorf("%s: Received %+v, want destination %s, the entry ID and its time", id, r, want.dest)
		}
		if r.HasPartition != (want.part >= 0) || (want.part >= 0 && r.Partition != want.part) {
			t.Errorf("%s: partition %d (%v), want %d", id, r.Partition, r.HasPartition, want.part)
		}
	}
}

// TestReceivedNoPartitionUnpartitioned: an unpartitioned consumer reads a
// partitioned producer's partition streams too, but its messages carry no
// partition (stream.Received: not set on a consumer that is not
// partitioned, other than Kafka's; as on NATS and in process). It had
// HasPartition true with the partition stream's number.
func TestReceivedNoPartitionUnpartitioned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, nil)
	got := make(chan stream.Received, 1)
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "rcv-np", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { got <- m.Received; return nil }})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "rcv-np",
		Producer: stream.ProducerConfig{PartitionCount: 2, PartitionKeyExpression: "key"}})
	m := msg("a")
	m.Headers[stream.HeaderPartition] = "1"
	if err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.HasPartition || r.Partition != 0 || r.Destination != "rcv-np" {
			t.Errorf("Received %+v; want destination rcv-np and no partition", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}
