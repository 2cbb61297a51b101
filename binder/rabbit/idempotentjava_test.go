package rabbit

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestIdempotentConsumerOfJavaMessages: messages as a Java client (Spring
// AMQP's RabbitTemplate, SCSt's RabbitMQ binder) publishes them — no id
// header (Spring never maps it) and, unless configured, no message_id —
// on an idempotent binding under the default key-expression. One with
// message_id is keyed by it: published twice (a publisher's retry), it
// is handled once. One without has nothing that stays the same when
// RabbitMQ redelivers it: it is handled without deduplication, counted
// (Stats.Unkeyed, streambind_idempotency_unkeyed_total), and a WARN —
// one for the binding however many such messages come within a minute —
// says so and how to fix it. Before, each of those failed for good
// ("idempotency key: expression ... yielded null"): dead-lettered with a
// DLQ, else dropped, and the handler never ran.
func TestIdempotentConsumerOfJavaMessages(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	dest := uniqueDest(t, "idemjava")
	handled := make(chan string, 8)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "orders", func(_ context.Context, s string) error { handled <- s; return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "orders"},
		DefaultBinder: "rabbit",
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: Type, Environment: map[string]any{
			"addresses": rabbittest.Address(), "virtual-host": vhost}}},
		Bindings: map[string]stream.BindingConfig{
			"orders-in-0": {Destination: dest, Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{MaxAttempts: 1, DLQ: true,
				Idempotency: stream.IdempotencyConfig{Store: stream.IdempotencyStoreMemory}}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	idem, err := idempotency.New(app, idempotency.Config{}, idempotency.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	bindertest.RunApp(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	for _, m := range []amqp.Publishing{
		{ContentType: "text/plain", MessageId: "mid-1", Body: []byte("a")},
		{ContentType: "text/plain", MessageId: "mid-1", Body: []byte("a")}, // the same message again
		{ContentType: "text/plain", Body: []byte("b")},
		{ContentType: "text/plain", Body: []byte("c")},
	} {
		if err := ch.PublishWithContext(ctx, dest, dest, false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{"a": true, "b": true, "c": true}
	for len(want) > 0 {
		select {
		case s := <-handled:
			if !want[s] {
				t.Fatalf("%q handled twice", s)
			}
			delete(want, s)
		case <-ctx.Done():
			t.Fatalf("not handled: %v; stats %+v; logs:\n%s", want, idem.Stats("orders-in-0"), logs.String())
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for idem.Stats("orders-in-0").Skipped < 1 {
		select {
		case s := <-handled:
			t.Fatalf("%q handled twice", s)
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the second mid-1 was not skipped: stats %+v", idem.Stats("orders-in-0"))
		}
	}
	if s := idem.Stats("orders-in-0"); s.Skipped != 1 || s.Processed != 1 || s.Unkeyed != 2 {
		t.Errorf("stats %+v; want 1 skipped, 1 processed, 2 unkeyed", s)
	}
	var warned []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "handled without deduplication") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "binding=orders-in-0") ||
		!strings.Contains(warned[0], "message_id") || !strings.Contains(warned[0], "key-expression") {
		t.Errorf("want one WARN for the binding naming message_id and key-expression, got %q", warned)
	}
	if n := queueMessages(t, vhost, dest+".g.dlq"); n != 0 {
		t.Errorf("%d messages dead-lettered", n)
	}
}
