package nats_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A bind that lowers ack-wait while no member answers its announcement
// but the durable has delivered, unacknowledged messages — a member of an
// earlier version holds them, here a plain JetStream client — says in its
// WARN that those will likely be handled again once the lower ack-wait
// applies, and that prefetch × handling time below it avoids that; before,
// it said members-told=0 alone, as if nobody were affected.
func TestReviewUntoldMembersWarned(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.Options{})
	dest := unique(t, "untold")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	var logsA, logsB logBuffer
	a := authBinder(t, map[string]any{"servers": srv.URL()}, &logsA)
	c := startConsumer(t, a, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"ack-wait": "30s"},
		Handler:   func(context.Context, stream.Envelope) error { return nil }})
	if err := c.Stop(ctx); err != nil { // a new member would answer
		t.Fatal(err)
	}
	p := bindProducer(t, a, stream.ProducerSpec{Destination: dest})
	if err := p.Send(ctx, msg("x")); err != nil {
		t.Fatal(err)
	}

	// The "old member": fetches the message and holds it unacknowledged.
	js := jsAt(t, srv.URL())
	var jc jetstream.Consumer
	for names := js.StreamNames(ctx); ; {
		name, ok := <-names.Name()
		if !ok {
			t.Fatal("no stream found")
		}
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		cn := s.ConsumerNames(ctx)
		if cname, ok := <-cn.Name(); ok {
			if jc, err = s.Consumer(ctx, cname); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	batch, err := jc.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := <-batch.Messages(); !ok {
		t.Fatalf("the old member fetched nothing: %v", batch.Error())
	}

	b := authBinder(t, map[string]any{"servers": srv.URL()}, &logsB)
	if _, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "x", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Extension: map[string]any{"ack-wait": "2s"},
		Handler:   func(context.Context, stream.Envelope) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	logs := logsB.String()
	for _, want := range []string{"members-told=0", "ack-pending=1", "will likely handle some of them again", "prefetch × handling time"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the bind's WARN lacks %q:\n%s", want, logs)
		}
	}
}
