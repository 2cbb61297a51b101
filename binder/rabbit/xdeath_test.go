package rabbit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// malformedXDeaths are x-death headers another client may send (one that
// turned the broker's tables into text, or miscopied them) on which
// RabbitMQ's own dead-lettering (3.10: rabbit_dead_letter,
// update_x_death_header) crashes the queue: an element that is not a
// table; the entry of the queue and reason with a count that is no number.
// "undecodable" is also one amqp091-go cannot decode (an element of arrays
// nested past its depth limit): the header guard hands it to the binder
// as a text, and the broker still has (and crashes on) the array.
func malformedXDeaths(queue string) map[string]any {
	return map[string]any{
		"strings":     []any{"count=1, queue=" + queue, int32(1)},
		"text-count":  []any{amqp.Table{"count": "1", "queue": queue, "reason": "rejected"}},
		"undecodable": []any{nestedArray(clientMaxFieldDepth)},
	}
}

// TestMalformedXDeathNotLost: a failed message with such an x-death, on a
// queue whose failed messages the broker dead-letters (dlq,
// republish-to-dlq: false), crashed the queue (the broker restarts it):
// the message was lost, not dead-lettered, and with it the queue's other
// messages not yet persisted (without the fix 1 of the 12 messages was
// handled: the first failed one, which crashed the queue; the other
// failed one and the 10 transient ones behind them were lost). The binder
// now republishes such a message to the DLQ itself (x-exception-*
// headers), and the dead letter carries that x-death as text, which the
// broker resets when it dead-letters it again (from the DLQ, by dlq-ttl
// and dlq-dead-letter-exchange: here into a parking queue).
func TestMalformedXDeathNotLost(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "xdeath")
	q := dest + ".g"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := rabbittest.Channel(t, vhost)
	if err := admin.ExchangeDeclare("park", "fanout", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.QueueDeclare("parked", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueueBind("parked", "", "park", false, nil); err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 64)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "x-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1},
		Extension: map[string]any{"republish-to-dlq": false, "prefetch": 1,
			"dlq-ttl": 300, "dlq-dead-letter-exchange": "park"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			handled <- string(m.Payload)
			if m.Headers["x-death"] != "" {
				return errors.New("refused")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Consumed one at a time (prefetch 1), so the transient messages
	// wait in the queue while the failed ones are settled.
	xds := malformedXDeaths(q)
	for name, xd := range xds {
		if err := admin.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Headers: amqp.Table{"x-death": xd}, Body: []byte(name), DeliveryMode: amqp.Persistent}); err != nil {
			t.Fatal(err)
		}
	}
	const bystanders = 10
	for i := range bystanders {
		if err := admin.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte(fmt.Sprint("bystander-", i))}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	deadline := time.After(15 * time.Second)
	for len(seen) < len(xds)+bystanders {
		select {
		case p := <-handled:
			seen[p] = true
		case <-deadline:
			t.Fatalf("handled %d of %d messages: %v", len(seen), len(xds)+bystanders, seen)
		}
	}
	// Each failed one went to the DLQ, and from there (dlq-ttl) on to the
	// parking queue, its x-death an array again.
	parked := map[string]bool{}
	pctx, pcancel := context.WithTimeout(ctx, 15*time.Second)
	defer pcancel()
	for len(parked) < len(xds) {
		d, ok, err := admin.Get("parked", true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			select {
			case <-pctx.Done():
				t.Fatalf("parked %v of the failed messages %d", parked, len(xds))
			case <-time.After(50 * time.Millisecond): // polling the parking queue
			}
			continue
		}
		parked[string(d.Body)] = true
		if d.Headers["x-exception-message"] == nil {
			t.Errorf("%s: no x-exception-message: not republished by the binder", d.Body)
		}
		if xs, ok := d.Headers["x-death"].([]any); !ok || len(xs) != 1 {
			t.Errorf("%s: x-death %v after the DLQ dead-lettered it", d.Body, d.Headers["x-death"])
		}
	}
}

// TestXDeathCrashesBroker: what is taken to crash RabbitMQ's
// dead-lettering, and what not.
func TestXDeathCrashesBroker(t *testing.T) {
	for name, v := range malformedXDeaths("q") {
		if !xDeathCrashesBroker(v) {
			t.Errorf("%s: %v not recognised", name, v)
		}
	}
	for _, v := range []any{nil, "text", amqp.Table{"count": 1}, []any{},
		[]any{amqp.Table{"count": int64(3), "queue": "q", "reason": "rejected", "time": time.Now()}, amqp.Table{"queue": "w"}}} {
		if xDeathCrashesBroker(v) {
			t.Errorf("%v taken to crash the broker", v)
		}
	}
	// The header guard's stand-ins: the broker has the original.
	for _, h := range []amqp.Table{
		{"x-death": describeProblem("x"), UndecodableHeaders: "x-death: x"},
		{"x-death": nil, UndecodableHeaders: "x-death: x"},
	} {
		if !xDeathUnsafe(h) {
			t.Errorf("%v not taken to crash the broker", h)
		}
	}
	for _, h := range []amqp.Table{
		{"x-death": describeProblem("x")}, // a client's text, no guard
		{"x-death": "text", UndecodableHeaders: "other: x"},
		{UndecodableHeaders: "other: x"},
	} {
		if xDeathUnsafe(h) {
			t.Errorf("%v taken to crash the broker", h)
		}
	}
}
