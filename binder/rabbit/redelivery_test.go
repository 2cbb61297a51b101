package rabbit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

var errBoom = errors.New("boom")

// TestNakRedeliveryDelay is case 3 of issue 8: a handler that always Naks
// (or a function whose output cannot be sent) is called about once per
// redelivery-delay, not thousands of times a second; the same holds with
// requeue-rejected.
func TestNakRedeliveryDelay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ext  map[string]any
		err  error
	}{
		{"nak", map[string]any{"redelivery-delay": "100ms"}, stream.ErrNak},
		{"requeue-rejected", map[string]any{"requeue-rejected": true}, errBoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, tr := newTestBinder(t, nil)
			dest := uniqueDest(t, "nakloop")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var calls atomic.Int64
			c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "n-in-0", Destination: dest, Group: "g", Extension: tc.ext,
				Handler: func(context.Context, stream.Envelope) error { calls.Add(1); return tc.err }})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "n-out-0", Destination: dest})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Send(ctx, stream.Envelope{Payload: []byte("again and again")}); err != nil {
				t.Fatal(err)
			}
			for calls.Load() == 0 {
				time.Sleep(time.Millisecond) // polling a counter, bounded by ctx below
				if ctx.Err() != nil {
					t.Fatal("never delivered")
				}
			}
			start := time.Now()
			n0 := calls.Load()
			time.Sleep(1500 * time.Millisecond) // the window the calls are counted in
			n := calls.Load() - n0
			elapsed := time.Since(start)
			if err := c.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			limit := int64(elapsed/(100*time.Millisecond)) + 3
			t.Logf("%d handler calls in %v (redelivery-delay 100ms; at most %d allowed)", n, elapsed.Round(time.Millisecond), limit)
			if n > limit {
				t.Fatalf("%d calls in %v, want at most %d", n, elapsed, limit)
			}
			if n < 5 {
				t.Fatalf("%d calls in %v: the message is not redelivered", n, elapsed)
			}
		})
	}
}

// TestHeldMessageAndStop: while a Nak'ed message is held for its
// redelivery-delay, Pause returns at once (the hold is no handler call) and
// Stop nacks it at once: it is back in the queue, not lost and not waited
// for.
func TestHeldMessageAndStop(t *testing.T) {
	_, tr := newTestBinder(t, nil)
	dest := uniqueDest(t, "held")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	called := make(chan struct{}, 10)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "h-in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"redelivery-delay": "1m"},
		Handler:   func(context.Context, stream.Envelope) error { called <- struct{}{}; return stream.ErrNak }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "h-out-0", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("held")}); err != nil {
		t.Fatal(err)
	}
	<-called // the handler Nak'ed: the message is now held for a minute
	for _, step := range []struct {
		name string
		f    func(context.Context) error
	}{{"pause", c.Pause}, {"resume", c.Resume}, {"stop", c.Stop}} {
		sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
		start := time.Now()
		err := step.f(sctx)
		scancel()
		if err != nil {
			t.Fatalf("%s during the hold: %v", step.name, err)
		}
		t.Logf("%s during the hold took %v", step.name, time.Since(start).Round(time.Millisecond))
	}
	conn, err := amqp.Dial(rabbittest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(dest+".g", true, false, false, false, nil)
	if err != nil || q.Messages != 1 {
		t.Fatalf("queue after Stop: %d messages (%v), want the held one back", q.Messages, err)
	}
	if len(called) != 0 {
		t.Fatalf("handler called again %d times during the hold", len(called))
	}
}
