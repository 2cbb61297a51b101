package nats_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// At steady state, with no ack-wait change and intake never waiting for
// room (nothing waits in the client's buffer), a message settled well within
// ack-wait/3 of its receipt needs no in-progress ack: JetStream needs one
// only before ack-wait. Counts the in-progress acks (+WPI) that reach the
// server for 48 messages sent one per 50ms and held ~250ms each (prefetch
// 64, concurrency 8, 250ms handlers: intake never waits) at ack-wait 3s
// (keeper tick 1s). Since f3bdd13 every message got due at the keeper's
// next tick: about a quarter of them were acked in progress; none before.
func TestReview2InProgressAcksAtSteadyState(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "wpicost")
	const total = 48

	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var wpi, acks atomic.Int64
	sub, err := nc.Subscribe("$JS.ACK."+natsbinder.StreamName(dest)+".>", func(m *natsgo.Msg) {
		switch string(m.Data) {
		case "+WPI":
			wpi.Add(1)
		default:
			acks.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{}, total)
	b := newBinder(t, url, nil)
	closeBinder(t, b)
	startConsumer(t, b, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"ack-wait": "3s", "prefetch": 64},
		Consumer:  stream.ConsumerConfig{Concurrency: 8},
		Handler: func(ctx context.Context, m stream.Envelope) error {
			time.Sleep(250 * time.Millisecond)
			done <- struct{}{}
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	for i := range total {
		if err := p.Send(context.Background(), msg(fmt.Sprintf("m%02d", i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // a steady flow across keeper ticks
	}
	for range total {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("not all handled")
		}
	}
	_ = nc.Flush()
	time.Sleep(200 * time.Millisecond)
	t.Logf("%d messages, %d acks, %d in-progress acks", total, acks.Load(), wpi.Load())
	if n := wpi.Load(); n > 0 {
		t.Errorf("%d in-progress acks for %d messages each held ~250ms at ack-wait 3s (keeper tick 1s): none needed", n, total)
	}
}
