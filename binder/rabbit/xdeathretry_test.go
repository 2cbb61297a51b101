package rabbit

import (
	"context"
	"errors"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestMalformedXDeathWithRetryDelays: the binder reads a delivery's
// x-death to tell a retry (markRetry: its latest entry is a wait queue's)
// and to date a dead letter; a malformed one (malformedXDeaths: elements
// that are not tables, a count that is text, one amqp091-go cannot
// decode) is handled as a first delivery: no panic, parked once in the
// wait queue (whose copy goes without that x-death), retried once, then
// dead-lettered by the binder (x-exception-*); no loop and nothing
// lost. The handler here does the core's part: a first delivery is parked
// for a delay, a retry fails for good. It passed before this test was
// written (the check asked for in the review): it guards the behaviour.
func TestMalformedXDeathWithRetryDelays(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	const delay = 50 * time.Millisecond
	dest := uniqueDest(t, "xdretry")
	type call struct {
		body  string
		retry bool
	}
	calls := make(chan call, 64)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "xr-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, RetryDelays: []time.Duration{delay}},
		Handler: func(_ context.Context, m stream.Envelope) error {
			retry := m.Headers["x-streambind-retry-delivery"] != ""
			calls <- call{string(m.Payload), retry}
			if !retry {
				return &stream.DelayedRetry{Err: errors.New("poison"), Delay: delay, Headers: m.Headers.Clone()}
			}
			return errors.New("poison")
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	xds := malformedXDeaths(dest + ".g")
	for name, xd := range xds {
		if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Headers: amqp.Table{"x-death": xd}, Body: []byte(name)}); err != nil {
			t.Fatal(err)
		}
	}
	dead := map[string]amqp.Delivery{}
	for len(dead) < len(xds) {
		d, ok, err := ch.Get(dest+".g.dlq", true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			dead[string(d.Body)] = d
			continue
		}
		if ctx.Err() != nil {
			t.Fatalf("dead letters %d of %d", len(dead), len(xds))
		}
		time.Sleep(20 * time.Millisecond) // polling the DLQ
	}
	got := map[string][]bool{}
	for range 2 * len(xds) {
		select {
		case k := <-calls:
			got[k.body] = append(got[k.body], k.retry)
		case <-ctx.Done():
			t.Fatalf("handler calls %v", got)
		}
	}
	for name := range xds {
		if r := got[name]; len(r) != 2 || r[0] || !r[1] {
			t.Errorf("%s: handler calls (a retry?) %v, want [false true]", name, r)
		}
		if dead[name].Headers["x-exception-message"] != "poison" {
			t.Errorf("%s: dead letter headers %v: not republished by the binder", name, dead[name].Headers)
		}
	}
	// Nothing left to loop: the queue and its wait queue are empty, and
	// no call came after the dead letters.
	for _, q := range []string{dest + ".g", RetryQueueName(dest+".g", delay)} {
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Messages != 0 {
			t.Errorf("%s: %d messages left", q, st.Messages)
		}
	}
	select {
	case k := <-calls:
		t.Errorf("a call after the dead letters: %v", k)
	default:
	}
}
