package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestCloseStalledBrokerLeavesNothing (not parallel: it looks at every
// goroutine): with a broker that stopped answering (connections open,
// nothing comes back), Close returns when its ctx ends, and a consumer's
// leaving of its group "continues in the background": kafka-go's
// ConsumerGroup (dialed by the binder's kafka-go Dialer, not its
// transport) then waited on the silent broker for its coordinator
// lookup, request after request, long after Close returned. The Dialer
// now dials through the binder's connection tracker, so Close ends those
// connections too, and nothing of kafka-go or the binder is left.
func TestCloseStalledBrokerLeavesNothing(t *testing.T) {
	c, hl := startHoleCluster(t)
	before := goroutineIDs()
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Environment: map[string]any{"brokers": c.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	dest := uniqueTopic(t)
	tr := newTracker()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := b.BindConsumer(ctx, consumerSpec(dest, "g", tr.handler()))
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "test-out-0", Destination: dest, ContentType: stream.DefaultContentType})
	if err != nil {
		t.Fatal(err)
	}
	produce(ctx, t, p, tr, "m", 3, 1, 0)
	tr.waitAll(t, 20*time.Second)
	hl.start() // the broker stops answering
	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer ccancel()
	err = b.Close(cctx) // ends with cctx: the group cannot be left
	t.Logf("close: %v", err)
	waitGoroutines(t, "no goroutine of the binder or kafka-go after Close", before, func(gs []string) bool { return len(gs) == 0 })
}
