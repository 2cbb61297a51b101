package nats_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestMaxDeliverNakDeadLetters: a message Nak'ed on its last delivery
// (max-deliver) is dead-lettered with the exception headers, not left in
// the stream where JetStream would never deliver it again.
func TestMaxDeliverNakDeadLetters(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	b := newBinder(t, srv.URL(), nil)
	closeBinder(t, b)
	dest := unique(t, "nak")
	dead := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: stream.DLQName(dest, "g"), Group: "dlq-reader", Handler: dead.handler})
	var calls atomic.Int64
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Extension: map[string]any{"max-deliver": 3, "redelivery-delay": "10ms"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if m.Headers[idHeader] == "nak-always" {
				calls.Add(1)
				return stream.ErrNak
			}
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	if err := p.Send(context.Background(), msg("nak-always")); err != nil {
		t.Fatal(err)
	}
	dead.tr.wait(t, []string{"nak-always"}, 10*time.Second)
	if n := calls.Load(); n != 3 {
		t.Errorf("handled %d times, want 3 (max-deliver)", n)
	}
	dl := dead.get("nak-always")
	if !strings.Contains(dl.Headers[stream.HeaderExceptionMessage], "max-deliver") || dl.Headers[stream.HeaderExceptionFQCN] == "" {
		t.Errorf("dead letter exception headers: %v", dl.Headers)
	}
	if dl.Headers[stream.HeaderOriginalTopic] != dest || dl.Headers[natsbinder.HeaderOriginalSequence] != "1" {
		t.Errorf("dead letter original headers: %v", dl.Headers)
	}
}

// TestMaxDeliverAdvisoryDeadLetters: a message whose every delivery went
// to members that crashed (never acknowledged; here a raw client that
// fetches without acking) reaches max-deliver without a Nak; JetStream's
// max-deliveries advisory makes a running member dead-letter it, without
// handling it.
func TestMaxDeliverAdvisoryDeadLetters(t *testing.T) {
	t.Parallel() // waits on ack-wait and timers: runs beside the others
	srv := natstest.Start(t, natstest.Options{})
	b := newBinder(t, srv.URL(), nil)
	closeBinder(t, b)
	dest := unique(t, "crash")
	dead := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: stream.DLQName(dest, "g"), Group: "dlq-reader", Handler: dead.handler})
	spec := stream.ConsumerSpec{Binding: "test-in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Consumer:  stream.ConsumerConfig{DLQ: true, Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"max-deliver": 2, "ack-wait": "1s"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			t.Errorf("handled %s, which reached max-deliver elsewhere", m.Headers[idHeader])
			return nil
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := b.BindConsumer(ctx, spec) // makes the group's durable consumer
	if err != nil {
		t.Fatal(err)
	}
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	if err := p.Send(ctx, msg("crasher")); err != nil {
		t.Fatal(err)
	}
	// Two "members" take it and die: fetched, never acknowledged.
	js := jsAt(t, srv.URL())
	jc, err := js.Consumer(ctx, natsbinder.StreamName(dest), "g")
	if err != nil {
		t.Fatal(err)
	}
	fetchUnacked(t, jc, 2)
	// The binder's member starts while the last delivery's ack-wait runs.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()
	dead.tr.wait(t, []string{"crasher"}, 15*time.Second)
	dl := dead.get("crasher")
	if !strings.Contains(dl.Headers[stream.HeaderExceptionMessage], "max-deliver") || dl.Headers[natsbinder.HeaderOriginalSequence] != "1" {
		t.Errorf("dead letter headers: %v", dl.Headers)
	}
}

// fetchUnacked fetches the next message of jc n times without
// acknowledging it, as n members that took it and died: its n-th
// delivery.
func fetchUnacked(t *testing.T, jc jetstream.Consumer, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		m, err := jc.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if md, _ := m.Metadata(); md == nil || md.NumDelivered != uint64(i) {
			t.Fatalf("fetch %d: metadata %+v", i, md)
		}
	}
}
