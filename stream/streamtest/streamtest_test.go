package streamtest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

type Order struct {
	OrderID  string `json:"orderId"`
	Quantity int    `json:"quantity"`
}

type Payment struct {
	OrderID string `json:"orderId"`
}

func shop() (*stream.Config, *stream.Catalog) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "chargePayment", func(_ context.Context, o Order) (Payment, error) {
		if o.Quantity <= 0 {
			return Payment{}, stream.Permanent(errors.New("quantity must be positive"))
		}
		return Payment{OrderID: o.OrderID}, nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "chargePayment"},
		// The test runs on the in-process broker whatever binder is named.
		DefaultBinder: "kafka",
		Bindings: map[string]stream.BindingConfig{
			"chargePayment-in-0":  {Destination: "orders", Group: "payment", Consumer: stream.ConsumerConfig{DLQ: true}},
			"chargePayment-out-0": {Destination: "payments"},
		},
		Extensions: map[string]stream.ExtensionConfig{"kafka": {}},
	}
	return cfg, fns
}

func TestSendReceiveAndDeadLetter(t *testing.T) {
	cfg, fns := shop()
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-1", Quantity: 2}, "trace", "t-1")
	if p := streamtest.Receive[Payment](t, env, "chargePayment-out-0"); p.Payload.OrderID != "o-1" {
		t.Fatalf("got %+v", p)
	}
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-2"})
	d := streamtest.ReceiveDeadLetter[Order](t, env, "chargePayment-in-0")
	if d.Payload.OrderID != "o-2" || !strings.Contains(d.Headers[stream.HeaderExceptionMessage], "quantity must be positive") {
		t.Fatalf("dead letter %+v", d)
	}
	env.ExpectNone(t, "chargePayment-out-0", 20*time.Millisecond)
}

func TestTimeoutAndUnknownBindings(t *testing.T) {
	cfg, fns := shop()
	env := streamtest.Start(t, cfg, fns)
	env.Timeout = 10 * time.Millisecond
	if _, err := env.ReceiveEnvelope("chargePayment-out-0"); !errors.Is(err, streamtest.ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	if _, err := env.ReceiveEnvelope("nope"); err == nil {
		t.Fatal("unknown output binding accepted")
	}
	if err := env.SendEnvelope("chargePayment-out-0", stream.Envelope{}); err == nil {
		t.Fatal("sending to an output binding accepted")
	}
	if _, err := env.DeadLetter("chargePayment-out-0"); err == nil {
		t.Fatal("dead letters of an output binding accepted")
	}
}

// Two output bindings on one destination each receive every message sent
// there (they are two readers of the destination).
func TestOutputsSharingADestination(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "a", func(_ context.Context, s string) (string, error) { return "a:" + s, nil })
	stream.AddFunction(fns, "b", func(_ context.Context, s string) (string, error) { return "b:" + s, nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "a;b"},
		Bindings: map[string]stream.BindingConfig{
			"a-in-0": {Destination: "in-a", Group: "g"}, "a-out-0": {Destination: "events"},
			"b-in-0": {Destination: "in-b", Group: "g"}, "b-out-0": {Destination: "events"},
		},
	}
	env := streamtest.Start(t, cfg, fns)
	for i := range 4 {
		env.Send(t, "a-in-0", strings.Repeat("x", i+1))
	}
	for range 4 {
		if m := streamtest.Receive[string](t, env, "a-out-0"); !strings.HasPrefix(m.Payload, "a:") {
			t.Fatalf("got %q", m.Payload)
		}
		if m := streamtest.Receive[string](t, env, "b-out-0"); !strings.HasPrefix(m.Payload, "a:") {
			t.Fatalf("the reader of b-out-0 sees the destination: got %q", m.Payload)
		}
	}
}
