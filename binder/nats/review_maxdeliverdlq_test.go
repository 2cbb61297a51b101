package nats_test

import (
	"context"
	"strings"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A member with a dead-letter destination, started while the group's
// durable had no max-deliver (the default), follows a max-deliver that an
// operator (or a member of a later version) sets on the durable meanwhile:
// then a message whose last delivery lapses elsewhere (a crashed member)
// must be dead-lettered through JetStream's max-deliveries advisory, as
// for a member that started with it. Before, the member took the new
// max-deliver for its Nak path but never watched the advisories: the
// message stayed in the stream, never delivered again, never
// dead-lettered.
func TestReviewMaxDeliverSetLaterDeadLetters(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.Options{})
	var logs logBuffer
	b := authBinder(t, map[string]any{"servers": srv.URL()}, &logs)
	dest := unique(t, "later")
	dead := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: stream.DLQName(dest, "g"), Group: "dlq-reader", Handler: dead.handler})
	spec := stream.ConsumerSpec{Binding: "test-in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Consumer:  stream.ConsumerConfig{DLQ: true, Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"ack-wait": "1s"}, // max-deliver: unlimited
		Handler: func(_ context.Context, m stream.Envelope) error {
			t.Errorf("handled %s, which the member should not have received", m.Headers[idHeader])
			return nil
		}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()
	// Paused: the raw client below gets the message, not the member.
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}

	// The operator sets max-deliver 2 on the group's durable.
	js := jsAt(t, srv.URL())
	jc, err := js.Consumer(ctx, natsbinder.StreamName(dest), "g")
	if err != nil {
		t.Fatal(err)
	}
	cfg := jc.CachedInfo().Config
	cfg.MaxDeliver = 2
	if _, err := js.UpdateConsumer(ctx, natsbinder.StreamName(dest), cfg); err != nil {
		t.Fatal(err)
	}
	// The member reads it (configRefresh, 5s).
	for !strings.Contains(logs.String(), "max-deliver changed on the server") {
		select {
		case <-ctx.Done():
			t.Fatal("the member did not follow the durable's max-deliver")
		case <-time.After(100 * time.Millisecond):
		}
	}

	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	if err := p.Send(ctx, msg("crasher")); err != nil {
		t.Fatal(err)
	}
	// Two "members" take it and die: fetched, never acknowledged.
	fetchUnacked(t, jc, 2)
	// The member pulls again: JetStream, about to deliver it a third
	// time, sends the advisory instead.
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	dead.tr.wait(t, []string{"crasher"}, 15*time.Second)
}
