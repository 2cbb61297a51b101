package main

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
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
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	side, err := memory.Factory(broker)(ctx, stream.BinderSettings{Name: "test", Type: memory.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(t, side, broker)
	stdout, stderr := newLines(), newLines()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, nil, []string{"SPRING_CLOUD_STREAM_DEFAULT_BINDER=memory"}, stdout, stderr,
			stream.WithBinderType(memory.Type, memory.Factory(broker)))
	}()
	stderr.waitFor(t, "msg=ready binder=memory", done)
	send(t, ctx, side, `{"id":"o-3","customerId":"c-9","quantity":1,"amountCents":250}`)
	stdout.waitFor(t, "customer c-9: payment of 250 cents for order o-3 received", done)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr)
	}
}

// main on the local RabbitMQ, in a virtual host of the test's own: an
// order is charged and notified, and a bad one lands in SCSt's dead-letter
// queue orders.payment.dlq (exchange DLX), where a Java service would look
// for it. Skipped (loudly) when RabbitMQ is not there, except in CI.
func TestRunOnRabbitMQ(t *testing.T) {
	rabbittest.Require(t)
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	side, err := rabbit.New(ctx, stream.BinderSettings{Name: "test", Type: rabbit.Type,
		Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(t, side)
	stdout, stderr := newLines(), newLines()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, nil, []string{"RABBIT_ADDRESSES=" + rabbittest.Address(), "RABBIT_VHOST=" + vhost}, stdout, stderr)
	}()
	stderr.waitFor(t, "msg=ready binder=rabbit", done)
	send(t, ctx, side, `{"id":"o-4","customerId":"c-2","quantity":1,"amountCents":100}`)
	stdout.waitFor(t, "customer c-2: payment of 100 cents for order o-4 received", done)

	send(t, ctx, side, `{"id":"o-5","customerId":"c-2","quantity":0}`)
	dls := make(chan stream.Envelope, 1)
	c, err := side.BindConsumer(ctx, stream.ConsumerSpec{Binding: "test-dlq", Destination: "DLX", Group: "orders.payment.dlq",
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"queue-name-group-only": true, "declare-exchange": false, "bind-queue": false},
		Handler: func(_ context.Context, m stream.Envelope) error {
			dls <- stream.Envelope{Payload: append([]byte(nil), m.Payload...), Headers: m.Headers.Clone()}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-dls:
		if !strings.Contains(string(m.Payload), `"o-5"`) || !strings.Contains(m.Headers.Get("x-exception-message"), "bad quantity") ||
			m.Headers.Get("x-original-exchange") != "orders" {
			t.Fatalf("dead letter %s %v", m.Payload, m.Headers)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("nothing in orders.payment.dlq:\n%s", stderr)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr)
	}
}

// send sends a JSON order to the destination "orders" through b.
func send(t *testing.T, ctx context.Context, b stream.Binder, order string) {
	t.Helper()
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "test", Destination: "orders", ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte(order)}); err != nil {
		t.Fatal(err)
	}
}

func closeAll(t *testing.T, cs ...interface{ Close(context.Context) error }) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range cs {
		if err := c.Close(ctx); err != nil {
			t.Logf("close: %v", err)
		}
	}
}

// lines collects what run writes, and lets a test wait for a text in it.
type lines struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{}, 1)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor returns once text was written; it fails the test when run ends
// first (done) or after 20 s.
func (l *lines) waitFor(t *testing.T, text string, done <-chan int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(l.String(), text) {
		select {
		case <-l.changed:
		case code := <-done:
			t.Fatalf("run ended (status %d) before writing %q:\n%s", code, text, l)
		case <-deadline:
			t.Fatalf("no %q after 20s:\n%s", text, l)
		}
	}
}
