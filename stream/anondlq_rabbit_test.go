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

// TestAnonymousRabbitDLQCountedDeadLettered: on RabbitMQ an anonymous
// consumer with dlq sends its failed messages to the DLX (as SCSt's
// binder does; stream.AnonymousDeadLetterer), so the core counts them as
// dead-lettered, tells the ErrorHandler so, logs no "DROPPED" ERROR and
// reports dlq_enabled=true when bound. Before, it counted and logged them
// as dropped while the dead letters arrived in the queue bound to the DLX.
func TestAnonymousRabbitDLQCountedDeadLettered(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	admin := rabbittest.Channel(t, vhost)
	if err := admin.ExchangeDeclare("DLX", "direct", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.QueueDeclare("audit-dead", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueueBind("audit-dead", "audit-dl", "DLX", false, nil); err != nil {
		t.Fatal(err)
	}
	failed := make(chan stream.FailedMessage, 1)
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
			"audit-in-0": {Destination: "orders", Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}},
		},
		Extensions: map[string]stream.ExtensionConfig{rabbit.Type: {Bindings: map[string]stream.ExtensionBindingConfig{
			"audit-in-0": {Consumer: map[string]any{"dead-letter-routing-key": "audit-dl"}},
		}}},
	}
	var buf syncbuf.Buffer
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))),
		stream.WithErrorHandler("audit-in-0", func(_ context.Context, fm stream.FailedMessage) {
			select {
			case failed <- fm:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Bridge().Send(ctx, "orders", stream.NewMessage("o-1")); err != nil {
		t.Fatal(err)
	}
	var got bool
	for !got {
		d, ok, err := admin.Get("audit-dead", true)
		switch {
		case err != nil:
			t.Fatal(err)
		case ok:
			got = true
			if h, _ := d.Headers[stream.HeaderExceptionMessage].(string); !strings.Contains(h, "refused") {
				t.Errorf("dead letter's %s = %q", stream.HeaderExceptionMessage, h)
			}
		case ctx.Err() != nil:
			t.Fatal("no dead letter in the queue bound to the DLX")
		default:
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond): // polling the broker's queue
			}
		}
	}
	if fm := recv(t, failed); !fm.DeadLettered {
		t.Errorf("ErrorHandler told DeadLettered=false for a message the binder dead-lettered")
	}
	if s := app.Binding("audit-in-0").Stats(); s.Failed != 1 || s.DeadLettered != 1 || s.Dropped != 0 {
		t.Errorf("stats %+v, want 1 failed, 1 dead-lettered, 0 dropped", s)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "DROPPED") {
		t.Errorf("logged as dropped:\n%s", out)
	}
	if !strings.Contains(out, "binding=audit-in-0") || !strings.Contains(out, "dlq_enabled=true") {
		t.Errorf("the binding bound line does not say dlq_enabled=true:\n%s", out)
	}
}
