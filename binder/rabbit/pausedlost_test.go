package rabbit

import (
	"context"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestPausedDeliveryOfLostChannelNotHandled: a delivery a worker took
// while its consumer was paused waits for Resume; when the consumer
// channel is lost meanwhile the broker redelivers it on the new channel,
// so the old copy must not be handled too. The worker checked for a lost
// channel only before it waited: the message was handled twice (once for
// the lost channel, its ack dropped, and once redelivered) without the
// fix; batch mode likewise. The copy handled must be the redelivered one:
// no sleep for a second handling that may come late.
func TestPausedDeliveryOfLostChannelNotHandled(t *testing.T) {
	t.Parallel()
	for _, batch := range []bool{false, true} {
		vhost := rabbittest.VHost(t)
		b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
		dest := uniqueDest(t, "pausedlost")
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		var mu sync.Mutex
		calls := map[string]int{}
		fresh := 0 // handlings of the copy first delivered (not redelivered)
		got := make(chan struct{}, 16)
		count := func(ms ...stream.Envelope) {
			mu.Lock()
			for _, m := range ms {
				calls[string(m.Payload)]++
				if !m.Received.Redelivered {
					fresh++
				}
			}
			mu.Unlock()
			got <- struct{}{}
		}
		spec := stream.ConsumerSpec{Binding: "pl-in-0", Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{BatchMode: batch}}
		if batch {
			spec.BatchHandler = func(_ context.Context, ms []stream.Envelope) error { count(ms...); return nil }
		} else {
			spec.Handler = func(_ context.Context, m stream.Envelope) error { count(m); return nil }
		}
		c, err := tr.BindConsumer(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Stop(context.Background())
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		ch := rabbittest.Channel(t, vhost)
		if err := c.Pause(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte("held")}); err != nil {
			t.Fatal(err)
		}
		// The worker has taken it and waits for Resume.
		deadline := time.Now().Add(10 * time.Second)
		for {
			q, err := ch.QueueDeclarePassive(dest+".g", true, false, false, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if q.Messages == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the message was not delivered")
			}
			time.Sleep(20 * time.Millisecond) // polling the queue
		}
		time.Sleep(100 * time.Millisecond) // the worker takes it from its queue
		gen := b.sub.generation()
		if n := rabbittest.CloseConnections(t, vhost, "streambind-consumer"); n == 0 {
			t.Fatal("no consumer connection closed")
		}
		for b.sub.generation() == gen || c.(stream.BindingHealthChecker).Health(ctx) != nil {
			if time.Now().After(deadline.Add(10 * time.Second)) {
				t.Fatal("the consumer did not reconnect")
			}
			time.Sleep(20 * time.Millisecond) // polling the reconnection
		}
		if err := c.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("the message was not handled after Resume")
		}
		// The copy of the lost channel is the one not marked redelivered:
		// handled at all, it is handled twice (its redelivery comes too),
		// whenever the broker redelivers it.
		mu.Lock()
		if fresh != 0 || calls["held"] != 1 {
			t.Errorf("batch %v: handled %d times, %d of them the copy of the lost channel; want once, redelivered", batch, calls["held"], fresh)
		}
		mu.Unlock()
	}
}
