package rabbit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// keptWaitWarn starts the WARN of a wait queue kept with the other
// durability (declareTopology).
const keptWaitWarn = "rabbit: a retry-delays wait queue of this consumer exists with the other durability"

// TestWaitQueueKeptDurableOnUpgrade: a group with durable-subscription:
// false whose wait queue a release before 2026-12-07 declared durable (with
// the same x-message-ttl and x-dead-letter-* arguments), holding a parked
// message, binds and starts: the wait queue is used as it exists, with one
// WARN naming it and the migration; the message waiting there comes back
// to the consumer when its delay ends, and a message that fails now is
// parked there and comes back too. Deleted once empty (the migration the
// WARN gives), the wait queue is declared non-durable when the next
// failed message is parked. The binder declared the wait queue
// non-durable, and RabbitMQ refused it (PRECONDITION_FAILED, inequivalent
// arg 'durable'): the bind failed.
func TestWaitQueueKeptDurableOnUpgrade(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	logs := &syncbuf.Buffer{}
	b := newLoggedBinder(t, vhost, logs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const delay = 200 * time.Millisecond
	dest := uniqueDest(t, "wqkeep")
	q := dest + ".g"
	wq := RetryQueueName(q, delay)
	ch := rabbittest.Channel(t, vhost)
	defer ch.Close()
	// As the release before declared it: durable, not auto-delete.
	if _, err := ch.QueueDeclare(wq, true, false, false, false, amqp.Table{
		"x-message-ttl": delay.Milliseconds(), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q,
	}); err != nil {
		t.Fatal(err)
	}
	type call struct {
		body  string
		retry bool
	}
	calls := make(chan call, 16)
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "keep-in-0", Destination: dest, Group: "g",
		Consumer:  stream.ConsumerConfig{MaxAttempts: 2, RetryDelays: []time.Duration{delay}},
		Extension: map[string]any{"durable-subscription": false},
		Handler: func(_ context.Context, m stream.Envelope) error {
			retry := m.Headers["x-streambind-retry-delivery"] != ""
			calls <- call{string(m.Payload), retry}
			if string(m.Payload) != "old" && !retry {
				return &stream.DelayedRetry{Err: errors.New("not yet"), Delay: delay, Headers: m.Headers.Clone()}
			}
			return nil
		}})
	if err != nil {
		t.Fatalf("bind with the durable wait queue of an earlier release: %v", err)
	}
	defer c.Stop(context.Background())
	// The message parked by the release before: the group's queue it
	// returns to exists since the bind (the broker drops a dead letter
	// with no queue to route to).
	if err := ch.PublishWithContext(ctx, "", wq, true, false, amqp.Publishing{Body: []byte("old"), DeliveryMode: amqp.Persistent}); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start with the durable wait queue of an earlier release: %v", err)
	}
	next := func(what string) call {
		t.Helper()
		select {
		case k := <-calls:
			return k
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
			return call{}
		}
	}
	if k := next("the old parked message"); k.body != "old" {
		t.Fatalf("first handler call %+v, want the old parked message", k)
	}
	if err := ch.PublishWithContext(ctx, "", q, true, false, amqp.Publishing{Body: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	if k := next("the new message"); k.body != "new" || k.retry {
		t.Fatalf("handler call %+v, want the new message's first delivery", k)
	}
	if k := next("the new message's retry"); k.body != "new" || !k.retry {
		t.Fatalf("handler call %+v, want the new message back from its wait queue", k)
	}
	// Still the durable queue of before (declared as it is: no error).
	if _, err := ch.QueueDeclare(wq, true, false, false, false, amqp.Table{
		"x-message-ttl": delay.Milliseconds(), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q,
	}); err != nil {
		t.Errorf("the wait queue is no longer the durable one: %v", err)
	}
	// The migration: deleted once empty, the wait queue is declared as
	// configured (non-durable) when the next failed message is parked.
	if _, err := ch.QueueDelete(wq, false, true, false); err != nil {
		t.Fatalf("delete --if-empty: %v", err)
	}
	if err := ch.PublishWithContext(ctx, "", q, true, false, amqp.Publishing{Body: []byte("again")}); err != nil {
		t.Fatal(err)
	}
	if k := next("the third message"); k.body != "again" || k.retry {
		t.Fatalf("handler call %+v, want the third message's first delivery", k)
	}
	if k := next("the third message's retry"); k.body != "again" || !k.retry {
		t.Fatalf("handler call %+v, want the third message back from its wait queue", k)
	}
	if _, err := ch.QueueDeclare(wq, false, false, false, false, amqp.Table{
		"x-message-ttl": delay.Milliseconds(), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q,
	}); err != nil {
		t.Errorf("the wait queue declared again after its deletion is not non-durable: %v", err)
	}
	if n := strings.Count(logs.String(), keptWaitWarn); n != 1 {
		t.Errorf("%d WARN lines on the kept wait queue (bind and start), want 1; logs:\n%s", n, logs.String())
	}
	for _, want := range []string{"wait_queue=" + wq, "queue=" + q, "durable=true", "declared_durable=false", "durable-subscription: false",
		`migrate="rabbitmqctl delete_queue -p ` + vhost + ` --if-empty ` + wq + `"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the WARN does not say %q; logs:\n%s", want, logs.String())
		}
	}
}

// TestWaitQueueOtherArgStillRefused: a wait queue that exists with the
// other durability and also another argument (its x-dead-letter-exchange:
// its messages would not come back to the group's queue) is not used: the
// bind fails with a *TopologyError naming the wait queue and that
// argument, and nothing is logged about keeping it.
func TestWaitQueueOtherArgStillRefused(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	logs := &syncbuf.Buffer{}
	b := newLoggedBinder(t, vhost, logs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const delay = 200 * time.Millisecond
	dest := uniqueDest(t, "wqother")
	q := dest + ".g"
	wq := RetryQueueName(q, delay)
	ch := rabbittest.Channel(t, vhost)
	defer ch.Close()
	if _, err := ch.QueueDeclare(wq, true, false, false, false, amqp.Table{
		"x-message-ttl": delay.Milliseconds(), "x-dead-letter-exchange": "elsewhere", "x-dead-letter-routing-key": q,
	}); err != nil {
		t.Fatal(err)
	}
	_, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "other-in-0", Destination: dest, Group: "g",
		Consumer:  stream.ConsumerConfig{MaxAttempts: 2, RetryDelays: []time.Duration{delay}},
		Extension: map[string]any{"durable-subscription": false},
		Handler:   func(context.Context, stream.Envelope) error { return nil }})
	var te *TopologyError
	if !errors.As(err, &te) || te.Entity != "queue" || te.Name != wq || te.Arg != "x-dead-letter-exchange" {
		t.Fatalf("bind error %v (%#v), want a TopologyError on queue %s, arg x-dead-letter-exchange", err, te, wq)
	}
	if !strings.Contains(err.Error(), wq) || !strings.Contains(err.Error(), "inequivalent arg \"x-dead-letter-exchange\"") {
		t.Errorf("bind error %q does not name the wait queue and the argument", err)
	}
	if strings.Contains(logs.String(), keptWaitWarn) {
		t.Errorf("a WARN on keeping a wait queue that is refused; logs:\n%s", logs.String())
	}
}
