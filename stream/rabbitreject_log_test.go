package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestRabbitNoDLQLogSaysRejected: on RabbitMQ a failed message of a
// binding without a DLQ is rejected without requeue, as in SCSt, and a
// dead-letter exchange the queue has by a policy routes it there. The
// ERROR line says so instead of claiming it is DROPPED, which the message
// found in the policy's dead-letter queue would belie.
func TestRabbitNoDLQLogSaysRejected(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	rabbittest.RequireCtl(t)
	admin := rabbittest.Channel(t, vhost)
	if err := admin.ExchangeDeclare("policy-dlx", "fanout", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.QueueDeclare("policy-dead", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueueBind("policy-dead", "", "policy-dlx", false, nil); err != nil {
		t.Fatal(err)
	}
	rabbittest.Ctl(t, "set_policy", "-p", vhost, "--apply-to", "queues", "dlx", "^orders\\.", `{"dead-letter-exchange":"policy-dlx"}`)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "audit", func(context.Context, string) error { return errors.New("refused") })
	cfg := &stream.Config{
		OutputBindings: "orders",
		DefaultBinder:  "rabbit",
		Function:       stream.FunctionConfig{Definition: "audit"},
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: rabbit.Type,
			Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost}}},
		Bindings: map[string]stream.BindingConfig{
			"orders":     {Destination: "orders"},
			"audit-in-0": {Destination: "orders", Group: "g", Consumer: stream.ConsumerConfig{MaxAttempts: 1}},
		},
	}
	var buf syncbuf.Buffer
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Bridge().Send(ctx, "orders", stream.NewMessage("o-1")); err != nil {
		t.Fatal(err)
	}
	for got := false; !got; {
		_, ok, err := admin.Get("policy-dead", true)
		switch {
		case err != nil:
			t.Fatal(err)
		case ok:
			got = true
		case ctx.Err() != nil:
			t.Fatal("the rejected message is not in the queue of the policy's dead-letter exchange")
		default:
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond): // polling the broker's queue
			}
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "DROPPED") {
		t.Errorf("logged as DROPPED, though the policy's dead-letter exchange took it:\n%s", out)
	}
	if !strings.Contains(out, "rejected without requeue") || !strings.Contains(out, "dead-letter exchange") {
		t.Errorf("no ERROR line saying the message is rejected without requeue:\n%s", out)
	}
}
