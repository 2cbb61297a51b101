package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestReceived: a consumer binding of two destinations tells its handler
// which one each message was sent to, the destination's sequence number,
// the time it was stored and, on a partitioned consumer, the partition
// header's partition; a Received the sender gave (streamtest's) keeps
// the fields it set, but not its destination. The handler could not tell
// the destinations apart before.
func TestReceived(t *testing.T) {
	br := newBroker(t, memory.Config{})
	bd := newBinder(t, br, nil)
	got := make(chan stream.Envelope, 8)
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "rcv-a, rcv-b", Group: "g", ContentType: jsonCT,
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, Partitioned: true, InstanceCount: 1},
		Handler:  func(_ context.Context, m stream.Envelope) error { got <- m; return nil }})
	must(t, c.Start(ctxT(t)))
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	pa := producer(t, bd, stream.ProducerSpec{Destination: "rcv-a", ContentType: jsonCT})
	pb := producer(t, bd, stream.ProducerSpec{Binding: "b-out-0", Destination: "rcv-b", ContentType: jsonCT})
	must(t, pa.Send(ctx, msg("a1", 1)))
	must(t, pa.Send(ctx, msg("a2", -1)))
	given := msg("b1", -1)
	given.Received = stream.Received{Destination: "rcv-a", RoutingKey: "eu", Offset: 7, HasOffset: true}
	must(t, pb.Send(ctx, given))
	// By payload: a consumer of two destinations keeps each one's order,
	// not the order of sends to both (b1 may come before a2).
	wants := map[string]stream.Received{
		"a1": {Destination: "rcv-a", Offset: 1, HasOffset: true, Partition: 1, HasPartition: true},
		"a2": {Destination: "rcv-a", Offset: 2, HasOffset: true},
		"b1": {Destination: "rcv-b", Offset: 7, HasOffset: true, RoutingKey: "eu"},
	}
	for range len(wants) {
		select {
		case m := <-got:
			want, ok := wants[string(m.Payload)]
			if !ok {
				t.Fatalf("%s: unexpected or delivered twice", m.Payload)
			}
			delete(wants, string(m.Payload))
			r := m.Received
			if r.Timestamp.Before(before) || r.Timestamp.After(time.Now()) {
				t.Errorf("%s: timestamp %v, want the time it was stored", m.Payload, r.Timestamp)
			}
			r.Timestamp = time.Time{}
			if r != want {
				t.Errorf("%s: Received %+v\nwant %+v", m.Payload, r, want)
			}
		case <-time.After(wait):
			t.Fatal("timed out")
		}
	}
}
