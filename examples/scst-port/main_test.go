package main

import (
	"context"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/examples/internal/extest"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// The SCSt file (testdata/scst-application.yaml, as the Java service had
// it) loads unchanged, and its bindings are those of the port: the port
// only adds the connection settings.
func TestSCStFileLoadsUnchanged(t *testing.T) {
	scst, err := config.Load(config.Options{Dir: "testdata", File: "scst-application.yaml", Env: []string{}})
	if err != nil {
		t.Fatalf("the SCSt file does not load: %v", err)
	}
	port, err := config.Load(config.Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"chargePayment-in-0", "chargePayment-out-0", "notifyCustomer-in-0"} {
		if a, b := scst.Stream.Binding(name), port.Stream.Binding(name); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: SCSt file %+v, port %+v", name, a, b)
		}
		ca, pa := scst.Stream.Extension("rabbit", name)
		cb, pb := port.Stream.Extension("rabbit", name)
		if !reflect.DeepEqual(ca, cb) || !reflect.DeepEqual(pa, pb) {
			t.Errorf("%s: RabbitMQ properties differ: %v %v / %v %v", name, ca, pa, cb, pb)
		}
	}
	// SCSt's spellings mean what they meant: auto-bind-dlq is dlq, a bare
	// 500 is milliseconds.
	c := port.Stream.Binding("chargePayment-in-0").Consumer
	if !c.DLQ || c.BackOffInitialInterval != 500*time.Millisecond || c.MaxAttempts != 3 {
		t.Errorf("chargePayment-in-0 consumer %+v", c)
	}
}

// The functions through their bindings, in process.
func TestChargePayment(t *testing.T) {
	loaded, err := config.Load(config.Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	env := streamtest.Start(t, loaded.Stream, catalog(fakeGateway{}, printMailer{&strings.Builder{}}))
	env.Send(t, "chargePayment-in-0", Order{ID: "o-1", CustomerID: "c-1", Quantity: 2, AmountCents: 999})
	p := streamtest.Receive[Payment](t, env, "chargePayment-out-0")
	if p.Payload != (Payment{OrderID: "o-1", CustomerID: "c-1", AmountCents: 999}) {
		t.Fatalf("payment %+v", p.Payload)
	}
	if part := p.Headers.Get("scst_partition"); part != "0" && part != "1" {
		t.Fatalf("scst_partition %q", part)
	}
	env.Send(t, "chargePayment-in-0", Order{ID: "o-2", CustomerID: "c-1", Quantity: 0})
	dl := streamtest.ReceiveDeadLetter[Order](t, env, "chargePayment-in-0")
	if msg := dl.Headers.Get("x-exception-message"); !strings.Contains(msg, "order o-2: bad quantity: 0") {
		t.Fatalf("dead letter %+v: %q", dl.Payload, msg)
	}
}

// main in process: the environment overrides the default binder
// (STREAM_DEFAULT_BINDER=memory), as it would SCSt's
// (SPRING_CLOUD_STREAM_DEFAULT_BINDER works too).
func TestRunInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	broker, side := extest.InProcess(t, ctx)
	r := extest.Start(t, ctx, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, nil, []string{"SPRING_CLOUD_STREAM_DEFAULT_BINDER=memory"}, stdout, stderr, extest.WithBroker(broker))
	})
	r.WaitLog(t, "msg=ready binder=memory")
	extest.SendJSON(t, ctx, side, "orders", `{"id":"o-3","customerId":"c-9","quantity":1,"amountCents":250}`)
	r.WaitOutput(t, "customer c-9: payment of 250 cents for order o-3 received")
	r.Stop(t)
}

// main on the local RabbitMQ, in a virtual host of the test's own: an
// order is charged and notified, and a bad one lands in SCSt's dead-letter
// queue orders.payment.dlq (exchange DLX), where a Java service would look
// for it. Skipped (loudly) when RabbitMQ is not there, except in CI.
func TestRunOnRabbitMQ(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vhost, side := extest.RabbitMQ(t, ctx)
	r := extest.Start(t, ctx, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, nil, extest.RabbitEnv(vhost), stdout, stderr)
	})
	r.WaitLog(t, "msg=ready binder=rabbit")
	extest.SendJSON(t, ctx, side, "orders", `{"id":"o-4","customerId":"c-2","quantity":1,"amountCents":100}`)
	r.WaitOutput(t, "customer c-2: payment of 100 cents for order o-4 received")

	extest.SendJSON(t, ctx, side, "orders", `{"id":"o-5","customerId":"c-2","quantity":0}`)
	dls := extest.Consume(t, ctx, side, stream.ConsumerSpec{Binding: "test-dlq", Destination: "DLX", Group: "orders.payment.dlq",
		Extension: map[string]any{"queue-name-group-only": true, "declare-exchange": false, "bind-queue": false}})
	m := r.Receive(t, dls, "dead letter in orders.payment.dlq")
	if !strings.Contains(string(m.Payload), `"o-5"`) || !strings.Contains(m.Headers.Get("x-exception-message"), "bad quantity") ||
		m.Headers.Get("x-original-exchange") != "orders" {
		t.Fatalf("dead letter %s %v", m.Payload, m.Headers)
	}
	r.Stop(t)
}
