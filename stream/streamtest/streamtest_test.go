package streamtest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
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

// A stream.Message is sent as the bridge sends one: its payload encoded,
// its headers as headers, the pairs given set over them. Before, the whole
// struct was encoded as the payload and its headers were not sent.
func TestSendMessage(t *testing.T) {
	cfg, fns := shop()
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "chargePayment-in-0", stream.NewMessage(Order{OrderID: "o-3"}, "trace", "t-3", "k", "from-message"), "k", "from-pairs")
	d := streamtest.ReceiveDeadLetter[Order](t, env, "chargePayment-in-0")
	if d.Payload.OrderID != "o-3" || d.Headers["trace"] != "t-3" || d.Headers["k"] != "from-pairs" {
		t.Fatalf("dead letter %+v", d)
	}
	env.Send(t, "chargePayment-in-0", &stream.Message[[]byte]{Payload: []byte(`{"orderId":"o-4","quantity":1}`), Headers: stream.Headers{"trace": "t-4"}})
	if p := streamtest.Receive[Payment](t, env, "chargePayment-out-0"); p.Payload.OrderID != "o-4" {
		t.Fatalf("got %+v", p)
	}
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

	// A failure says streamtest once, and a wrong name lists the right
	// ones, in their configured case.
	if msg := fails(t, func(tb testing.TB) { streamtest.Receive[Payment](tb, env, "chargePayment-out-0") }); !strings.HasPrefix(msg, "streamtest: timed out after 10ms waiting on chargePayment-out-0") {
		t.Errorf("Receive timing out: %q", msg)
	}
	for _, tc := range []struct {
		f    func(tb testing.TB)
		want string
	}{
		{func(tb testing.TB) { env.Send(tb, "chargepayment-out-0", Order{}) }, `streamtest: send: "chargepayment-out-0" is not an input binding of the app (input bindings: chargePayment-in-0)`},
		{func(tb testing.TB) { streamtest.Receive[Payment](tb, env, "nope") }, `streamtest: receive: "nope" is not an output binding of the app, nor a destination it sent to within 10ms (output bindings: chargePayment-out-0; destinations: payments)`},
		{func(tb testing.TB) { streamtest.ReceiveDeadLetter[Order](tb, env, "nope") }, `streamtest: dead letter: "nope" is not an input binding with a dlq (those with one: chargePayment-in-0)`},
		// stream.dynamic-destinations is empty: the app may send to any
		// destination, nope too, and has sent nothing there (a non-empty
		// list refuses a name it does not hold: destination_test.go).
		{func(tb testing.TB) { env.ExpectNoOutput(tb, "nope") }, ""},
	} {
		if msg := fails(t, tc.f); msg != tc.want {
			t.Errorf("got %q, want %q", msg, tc.want)
		}
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

// failRecorder is a testing.TB whose Fatalf records the failure and ends
// the goroutine, so that a test can check that an assertion fails.
type failRecorder struct {
	testing.TB
	msg string
}

func (r *failRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *failRecorder) Helper() {}

// fails runs f with a failRecorder and returns its failure ("" if none).
func fails(t *testing.T, f func(tb testing.TB)) string {
	r := &failRecorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
	return r.msg
}

// "Nothing received" and "no dead letter" are asserted once the app has
// handled what was sent, without waiting out the timeout; and they fail
// when something was sent.
func TestExpectNothingDrainsFirst(t *testing.T) {
	cfg, fns := shop()
	env := streamtest.Start(t, cfg, fns)
	env.Timeout = 30 * time.Second // the assertions below must not wait it out
	start := time.Now()
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-1", Quantity: 1})
	env.ExpectNoDeadLetter(t, "chargePayment-in-0")
	if msg := fails(t, func(tb testing.TB) { env.ExpectNoOutput(tb, "chargePayment-out-0") }); !strings.Contains(msg, "o-1") {
		t.Fatalf("ExpectNoOutput after an output: %q", msg)
	}
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-2"})
	env.ExpectNoOutput(t, "chargePayment-out-0")
	if msg := fails(t, func(tb testing.TB) { env.ExpectNoDeadLetter(tb, "chargePayment-in-0") }); !strings.Contains(msg, "quantity must be positive") {
		t.Fatalf("ExpectNoDeadLetter after a dead letter: %q", msg)
	}
	for i := range 50 {
		env.Send(t, "chargePayment-in-0", Order{OrderID: fmt.Sprint("o-", i), Quantity: 1})
	}
	env.Drain(t)
	for i := range 50 {
		if p := streamtest.Receive[Payment](t, env, "chargePayment-out-0"); p.Payload.OrderID != fmt.Sprint("o-", i) {
			t.Fatalf("got %+v", p)
		}
	}
	env.ExpectNoOutput(t, "chargePayment-out-0")
	env.ExpectNoDeadLetter(t, "chargePayment-in-0")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

// Example shows a test of a function: sends, receives and dead letters read
// the same way, and the absence of a message is checked without a wait.
func Example() {
	var t *testing.T // the test's
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "chargePayment", func(_ context.Context, o Order) (Payment, error) {
		if o.Quantity <= 0 {
			return Payment{}, stream.Permanent(errors.New("quantity must be positive"))
		}
		return Payment{OrderID: o.OrderID}, nil
	})
	cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{
		"chargePayment-in-0":  {Destination: "orders", Group: "payment", Consumer: stream.ConsumerConfig{DLQ: true}},
		"chargePayment-out-0": {Destination: "payments"},
	}}
	env := streamtest.Start(t, cfg, fns)

	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-1", Quantity: 2})
	_ = streamtest.Receive[Payment](t, env, "chargePayment-out-0")
	env.ExpectNoDeadLetter(t, "chargePayment-in-0")

	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-2"})
	_ = streamtest.ReceiveDeadLetter[Order](t, env, "chargePayment-in-0")
	env.ExpectNoOutput(t, "chargePayment-out-0")
}

// Drain follows a message through a chain of functions: what one sends,
// the next handles before Drain returns.
func TestDrainFollowsChains(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "a", func(_ context.Context, s string) (string, error) { return s + "a", nil })
	stream.AddFunction(fns, "b", func(_ context.Context, s string) (string, error) {
		time.Sleep(time.Millisecond) // slower than a: Drain must wait for b
		return s + "b", nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "a;b"},
		Bindings: map[string]stream.BindingConfig{
			"a-in-0": {Destination: "in", Group: "g"}, "a-out-0": {Destination: "mid"},
			"b-in-0": {Destination: "mid", Group: "g"}, "b-out-0": {Destination: "out"},
		},
	}
	env := streamtest.Start(t, cfg, fns)
	for range 20 {
		env.Send(t, "a-in-0", "x")
	}
	env.Drain(t)
	if n := env.App.Binding("b-in-0").Stats().Processed; n != 20 {
		t.Fatalf("b handled %d of 20 when Drain returned", n)
	}
	env.Timeout = 0 // everything is there already
	for range 20 {
		if m, err := env.ReceiveEnvelope("b-out-0"); err != nil || string(m.Payload) != "xab" {
			t.Fatalf("%q %v", m.Payload, err)
		}
	}
}

// A message the test sends to an input binding that reads an output
// binding's destination is not that output binding's: Receive and
// ExpectNoOutput took it for one the app had sent ("payments-out sent ...,
// expected nothing"), as SCSt's OutputDestination never does.
func TestOutputReaderSkipsWhatTheTestSent(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "charge", func(_ context.Context, s string) (string, error) { return "paid:" + s, nil })
	stream.AddConsumer(fns, "notify", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "charge;notify"},
		Bindings: map[string]stream.BindingConfig{
			"charge-in-0": {Destination: "orders", Group: "payment"}, "charge-out-0": {Destination: "payments"},
			"notify-in-0": {Destination: "payments", Group: "notification"},
		},
	}
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "notify-in-0", "from the test")
	env.ExpectNoOutput(t, "charge-out-0")
	env.Send(t, "notify-in-0", "from the test, again")
	env.Send(t, "charge-in-0", "o-1")
	if m := streamtest.Receive[string](t, env, "charge-out-0"); m.Payload != "paid:o-1" {
		t.Fatalf("charge-out-0: got %q, want the app's paid:o-1", m.Payload)
	}
	env.ExpectNoOutput(t, "charge-out-0")
}
