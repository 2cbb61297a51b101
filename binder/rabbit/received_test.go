package rabbit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestReceived: a consumer binding of two destinations tells its handler
// which one each message was read from (as configured: without the
// prefix), and what Spring AMQP's received headers tell: the exchange
// (with the prefix), the routing key, the queue it was consumed from, the
// redelivered flag of a message requeued after a Nak; on a partitioned
// consumer its instance-index as the partition. The handler could not
// tell the destinations apart before.
func TestReceived(t *testing.T) {
	t.Parallel()
	vh := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vh})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make(chan stream.Envelope, 4)
	var nakked atomic.Bool
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "r-in-0", Destination: "ra, rb", Group: "g", ContentType: "text/plain",
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, Partitioned: true, InstanceIndex: 1, InstanceCount: 2},
		Extension: map[string]any{"prefix": "px.", "redelivery-delay": "10ms"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if m.Headers["x-id"] == "b" && !nakked.Swap(true) {
				return stream.ErrNak
			}
			got <- m
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	for _, s := range []struct{ dest, id string }{{"ra", "a"}, {"rb", "b"}} {
		p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: s.id + "-out-0", Destination: s.dest, ContentType: "text/plain",
			Producer:  stream.ProducerConfig{PartitionKeyExpression: "key", PartitionCount: 2},
			Extension: map[string]any{"prefix": "px."}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		m := stream.Envelope{Payload: []byte(s.id), Headers: stream.Headers{"x-id": s.id, stream.HeaderPartition: "1"}}
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]stream.Received{}
	for range 2 {
		select {
		case m := <-got:
			seen[m.Headers["x-id"]] = m.Received
		case <-ctx.Done():
			t.Fatalf("timed out; received %v", seen)
		}
	}
	for id, want := range map[string]stream.Received{
		"a": {Destination: "ra", Exchange: "px.ra", RoutingKey: "ra-1", Queue: "px.ra.g-1", Partition: 1, HasPartition: true},
		"b": {Destination: "rb", Exchange: "px.rb", RoutingKey: "rb-1", Queue: "px.rb.g-1", Partition: 1, HasPartition: true, Redelivered: true},
	} {
		if r := seen[id]; r != want {
			t.Errorf("%s: Received %+v\nwant %+v", id, r, want)
		}
	}
}
