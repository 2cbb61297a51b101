package streamtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// routedShop is shop whose function sends a payment of a country to
// payments-<country> (the sendto header), others to its output binding.
func routedShop() (*stream.Config, *stream.Catalog) {
	cfg, _ := shop()
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "chargePayment", func(_ context.Context, o stream.Message[Order]) (stream.Message[Payment], error) {
		out := stream.NewMessage(Payment{OrderID: o.Payload.OrderID}, "trace", o.Headers["trace"])
		if c := o.Headers["country"]; c != "" {
			out.Headers[stream.HeaderSendToDestination] = "payments-" + c
		}
		return out, nil
	})
	cfg.DynamicDestinations = []string{"payments-de", "payments-fr"}
	return cfg, fns
}

// What the app sends to a dynamic destination (the sendto header) is
// received by the destination's name, as SCSt's OutputDestination.receive
// takes one; and an output binding's messages by its destination's name.
// Before, both failed: "payments-de" is not an output binding of the app.
func TestReceiveByDestination(t *testing.T) {
	cfg, fns := routedShop()
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-de", Quantity: 1}, "country", "de", "trace", "t-de")
	if p := streamtest.Receive[Payment](t, env, "payments-de"); p.Payload.OrderID != "o-de" || p.Headers["trace"] != "t-de" || p.Headers[stream.HeaderSendToDestination] != "" {
		t.Fatalf("payments-de: got %+v", p)
	}
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-1", Quantity: 1})
	if p := streamtest.Receive[Payment](t, env, "payments"); p.Payload.OrderID != "o-1" {
		t.Fatalf("payments (chargePayment-out-0's destination): got %+v", p)
	}
	// Nothing else went anywhere; a destination the app may send to
	// (stream.dynamic-destinations) and has not is empty.
	env.ExpectNoOutput(t, "payments-de")
	env.ExpectNoOutput(t, "payments")
	env.ExpectNoOutput(t, "payments-fr")
	env.ExpectNoOutput(t, "chargePayment-out-0")

	// ExpectNoOutput waits (Drain) until the harness took in what the app
	// sent to the dynamic destination: it sees the message not received.
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-de-2", Quantity: 1}, "country", "de")
	if msg := fails(t, func(tb testing.TB) { env.ExpectNoOutput(tb, "payments-de") }); !strings.Contains(msg, "o-de-2") {
		t.Fatalf("ExpectNoOutput after a send to payments-de: %q", msg)
	}

	// A wrong name lists the output bindings and the destinations.
	env.Timeout = 10 * time.Millisecond
	want := `streamtest: receive: "payments-xx" is not an output binding of the app, nor a destination it sent to within 10ms (output bindings: chargePayment-out-0; destinations: payments, payments-de)`
	if msg := fails(t, func(tb testing.TB) { streamtest.Receive[Payment](tb, env, "payments-xx") }); msg != want {
		t.Errorf("got %q\nwant %q", msg, want)
	}
}

// Receive waits for a dynamic destination the app has not bound yet (its
// handler has not run). The handler is held back 20ms after the Send, so
// that Receive most likely starts before the bind; the test holds either
// way (a bind before Receive is the case of TestReceiveByDestination).
func TestReceiveByDestinationBeforeTheSend(t *testing.T) {
	cfg, _ := routedShop()
	release := make(chan struct{})
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "chargePayment", func(_ context.Context, o Order) (stream.Message[Payment], error) {
		<-release
		return stream.NewMessage(Payment{OrderID: o.OrderID}, stream.HeaderSendToDestination, "payments-fr"), nil
	})
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-fr", Quantity: 1})
	time.AfterFunc(20*time.Millisecond, func() { close(release) })
	if p := streamtest.Receive[Payment](t, env, "payments-fr"); p.Payload.OrderID != "o-fr" {
		t.Fatalf("got %+v", p)
	}
}

// Under the default configuration (stream.dynamic-destinations empty: the
// app may send to any destination) a destination the app has not sent to
// is empty: ExpectNoOutput and ExpectNone pass. Before, they failed with
// "not an output binding of the app, nor a destination it sent to" on a
// correct app. An input destination still fails; with a non-empty list, a
// name it does not hold (a typo) still fails.
func TestExpectNothingOnAnUnsentDestinationByDefault(t *testing.T) {
	cfg, fns := routedShop()
	cfg.DynamicDestinations = nil
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-1", Quantity: 1})
	if p := streamtest.Receive[Payment](t, env, "payments"); p.Payload.OrderID != "o-1" {
		t.Fatalf("payments: got %+v", p)
	}
	if msg := fails(t, func(tb testing.TB) { env.ExpectNoOutput(tb, "payments-de") }); msg != "" {
		t.Errorf("ExpectNoOutput(payments-de), never sent to: %q", msg)
	}
	if msg := fails(t, func(tb testing.TB) { env.ExpectNone(tb, "payments-de", 10*time.Millisecond) }); msg != "" {
		t.Errorf("ExpectNone(payments-de), never sent to: %q", msg)
	}
	// Sent to, it is not empty.
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-de", Quantity: 1}, "country", "de")
	if msg := fails(t, func(tb testing.TB) { env.ExpectNoOutput(tb, "payments-de") }); !strings.Contains(msg, "o-de") {
		t.Errorf("ExpectNoOutput(payments-de) after a send there: %q", msg)
	}
	// The app's input destination is refused as before.
	if msg := fails(t, func(tb testing.TB) { env.ExpectNoOutput(tb, "orders") }); !strings.Contains(msg, "input destination") {
		t.Errorf("ExpectNoOutput(orders), an input destination: %q", msg)
	}

	// With a list, a name it does not hold is a typo.
	cfg, fns = routedShop()
	env = streamtest.Start(t, cfg, fns)
	if msg := fails(t, func(tb testing.TB) { env.ExpectNoOutput(tb, "payments-xx") }); !strings.Contains(msg, `"payments-xx" is not an output binding`) {
		t.Errorf("ExpectNoOutput(payments-xx), not listed: %q", msg)
	}
	if msg := fails(t, func(tb testing.TB) { env.ExpectNoOutput(tb, "payments-fr") }); msg != "" {
		t.Errorf("ExpectNoOutput(payments-fr), listed: %q", msg)
	}
}
