package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterReaderInAProcessOfItsOwn: a dead-letter reader
// (consumer.dead-letters-of) in an app that does not run the function whose
// dead letters it reads names that binding as configured (destination,
// group, dlq), without binding its function. It failed at start-up ("names
// no consumer binding of this app"), so a reader had to bind the other
// service's function too, and that joined its group and took its messages
// (found by the crash trial). The configured binding is not warned about
// as unused either.
func TestDeadLetterReaderInAProcessOfItsOwn(t *testing.T) {
	broker := newBroker(t)
	work := map[string]stream.BindingConfig{
		"work-in-0": {Destination: "orders", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}},
	}
	// The service that runs work and dead-letters what it fails.
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, Order) error { return errors.New("declined") })
	svc := startOn(t, broker, &stream.Config{Function: stream.FunctionConfig{Definition: "work"}, Bindings: work}, fns, slog.New(slog.DiscardHandler))
	defer svc.stop()

	// The reader, an app of its own: it binds audit only.
	got := make(chan Order, 1)
	rfns := stream.NewCatalog()
	stream.AddConsumer(rfns, "audit", func(_ context.Context, o Order) error { got <- o; return nil })
	rcfg := &stream.Config{Function: stream.FunctionConfig{Definition: "audit"}, Bindings: map[string]stream.BindingConfig{
		"work-in-0":  work["work-in-0"],
		"audit-in-0": {Group: "audit", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
	}}
	var buf syncbuf.Buffer
	reader := startOn(t, broker, rcfg, rfns, slog.New(slog.NewTextHandler(&buf, nil)))
	defer reader.stop()
	if strings.Contains(buf.String(), "configured binding not bound") {
		t.Errorf("the reader warned about the binding it reads the dead letters of:\n%s", buf.String())
	}

	if err := svc.app.Bridge().Send(context.Background(), "orders", Order{OrderID: "o-1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-got:
		if o.OrderID != "o-1" {
			t.Errorf("dead letter %+v, want o-1", o)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader got no dead letter")
	}
}
