package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// start runs the service's functions with this directory's
// application.yaml on the in-process binder (package streamtest), whatever
// binder the file names.
func start(t *testing.T) *streamtest.Env {
	t.Helper()
	loaded, err := config.Load(config.Options{Env: []string{}}) // application.yaml here; no environment
	if err != nil {
		t.Fatal(err)
	}
	return streamtest.Start(t, loaded.Stream, catalog(defaultPrices))
}

// An order goes through both functions: validated, then invoiced.
func TestOrderIsInvoiced(t *testing.T) {
	env := start(t)
	env.Send(t, "validateOrder-in-0", Order{ID: "o-1", SKU: "widget", Quantity: 4})

	valid := streamtest.Receive[Order](t, env, "validateOrder-out-0")
	if valid.Payload.ID != "o-1" {
		t.Fatalf("validated %+v, want order o-1", valid.Payload)
	}
	inv := streamtest.Receive[Invoice](t, env, "priceOrder-out-0")
	if inv.Payload != (Invoice{OrderID: "o-1", TotalCents: 1000}) {
		t.Fatalf("invoice %+v, want o-1 for 1000 cents", inv.Payload)
	}
	if got := inv.Headers.Get("orderId"); got != "o-1" {
		t.Fatalf("header orderId %q, want o-1", got)
	}
}

// An order that can never be valid is dead-lettered at once — no retry —
// with the reason in the SCSt x-exception-* headers, and goes no further.
func TestInvalidOrdersAreDeadLettered(t *testing.T) {
	env := start(t)
	for _, tc := range []struct {
		order Order
		why   string
	}{
		{Order{ID: "o-2", SKU: "widget", Quantity: 0}, "quantity must be positive, got 0"},
		{Order{ID: "o-3", SKU: "sprocket", Quantity: 1}, `unknown SKU "sprocket"`},
	} {
		env.Send(t, "validateOrder-in-0", tc.order)
		dl := streamtest.ReceiveDeadLetter[Order](t, env, "validateOrder-in-0")
		if dl.Payload != tc.order {
			t.Errorf("dead letter %+v, want %+v", dl.Payload, tc.order)
		}
		if msg := dl.Headers.Get("x-exception-message"); !strings.Contains(msg, tc.why) {
			t.Errorf("x-exception-message %q, want it to say %q", msg, tc.why)
		}
	}
	if n := env.App.Binding("validateOrder-in-0").Stats().Retried; n != 0 {
		t.Errorf("%d retries of permanent errors, want 0", n)
	}
	// Nothing was passed on: the next output is the next good order's.
	env.Send(t, "validateOrder-in-0", Order{ID: "o-4", SKU: "gadget", Quantity: 1})
	if got := streamtest.Receive[Order](t, env, "validateOrder-out-0").Payload.ID; got != "o-4" {
		t.Fatalf("first order passed on is %s, want o-4", got)
	}
}

// A test order is accepted and sends nothing (stream.Skip): the next order
// out is the one sent after it.
func TestTestOrderSendsNothing(t *testing.T) {
	env := start(t)
	env.Send(t, "validateOrder-in-0", Order{ID: "t-1", SKU: "widget", Quantity: 1, Test: true})
	env.Send(t, "validateOrder-in-0", Order{ID: "o-5", SKU: "widget", Quantity: 1})
	if got := streamtest.Receive[Order](t, env, "validateOrder-out-0").Payload.ID; got != "o-5" {
		t.Fatalf("first order passed on is %s, want o-5 (the test order must send nothing)", got)
	}
}

// The functions are plain Go functions: test them without any binder.
func TestPriceOrder(t *testing.T) {
	out, err := priceOrder(Prices{"x": 3})(context.Background(), stream.NewMessage(Order{ID: "o", SKU: "x", Quantity: 5}))
	if err != nil || out.Payload.TotalCents != 15 {
		t.Fatalf("got %+v, %v; want 15 cents", out.Payload, err)
	}
	_, err = validateOrder(Prices{})(context.Background(), Order{ID: "o", SKU: "x", Quantity: 1})
	if !errors.Is(err, errUnknownSKU) || !stream.IsPermanent(err) {
		t.Fatalf("got %v; want a permanent unknown-SKU error", err)
	}
}

// main itself: run starts on application.yaml, handles an order end to end
// and stops cleanly when its context ends. The test shares the in-process
// broker with it to send and receive.
func TestRun(t *testing.T) {
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
	invoices := make(chan stream.Envelope, 1)
	c, err := side.BindConsumer(ctx, stream.ConsumerSpec{Binding: "test", Destination: "invoices", Group: "test",
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Handler: func(_ context.Context, m stream.Envelope) error {
			invoices <- stream.Envelope{Payload: append([]byte(nil), m.Payload...)}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := side.BindProducer(ctx, stream.ProducerSpec{Binding: "test", Destination: "orders", ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}

	logs := newLines()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, nil, []string{}, logs, stream.WithBinderType(memory.Type, memory.Factory(broker)))
	}()
	logs.waitFor(t, "msg=ready", done)
	if err := p.Send(ctx, stream.Envelope{Payload: []byte(`{"id":"o-9","sku":"gadget","quantity":2}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-invoices:
		if got, want := string(m.Payload), `{"orderId":"o-9","totalCents":2598}`; got != want {
			t.Fatalf("invoice %s, want %s", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no invoice; logs:\n%s", logs)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d; logs:\n%s", code, logs)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = side.Close(sctx)
	_ = broker.Close(sctx)
}

// Bad usage is exit status 2, --help 0, and a configuration problem 1
// with the key path.
func TestRunUsage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--help"}, 0, "-profile"},
		{[]string{"--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"--profile", "missing"}, 1, "application-missing.yaml"},
	} {
		logs := newLines()
		if code := run(ctx, tc.args, []string{}, logs); code != tc.code || !strings.Contains(logs.String(), tc.says) {
			t.Errorf("run %v: status %d, want %d; output:\n%s", tc.args, code, tc.code, logs)
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
// first (done) or after 10 s.
func (l *lines) waitFor(t *testing.T, text string, done <-chan int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(l.String(), text) {
		select {
		case <-l.changed:
		case code := <-done:
			t.Fatalf("run ended (status %d) before writing %q:\n%s", code, text, l)
		case <-deadline:
			t.Fatalf("no %q after 10s:\n%s", text, l)
		}
	}
}

// Every profile of this directory loads and builds (without connecting to
// anything), so none can rot unnoticed.
func TestProfilesBuild(t *testing.T) {
	files, err := filepath.Glob("application-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no profile files: %v", err)
	}
	for _, f := range files {
		profile := strings.TrimSuffix(strings.TrimPrefix(f, "application-"), ".yaml")
		loaded, err := config.Load(config.Options{Profiles: []string{profile}, Env: []string{}})
		if err != nil {
			t.Errorf("profile %s: %v", profile, err)
			continue
		}
		if _, _, err := buildApp(loaded, io.Discard); err != nil {
			t.Errorf("profile %s: %v", profile, err)
		}
	}
}

// The same main and the same functions on every broker, each selected by
// its profile alone: an order sent to "orders" comes out of "invoices".
// Kafka runs in process (kfake); NATS and Redis are servers of the test's
// own; RabbitMQ is the local broker, in a virtual host of the test's own.
// A broker that is not installed skips its case (loudly), except in CI.
func TestRunOnEveryBroker(t *testing.T) {
	for _, tc := range []struct {
		profile string
		// start provides the broker: the environment for run and a binder
		// of the same type for the test's side.
		start func(t *testing.T, ctx context.Context) ([]string, stream.Binder)
	}{
		{"kafka", func(t *testing.T, ctx context.Context) ([]string, stream.Binder) {
			c := kafkatest.Start(t)
			return []string{"KAFKA_BROKERS=" + c.Brokers()}, newBinder(t, ctx, kafka.Type, kafka.New, map[string]any{"brokers": c.Brokers()})
		}},
		{"rabbit", func(t *testing.T, ctx context.Context) ([]string, stream.Binder) {
			rabbittest.Require(t)
			vhost := rabbittest.VHost(t)
			return []string{"RABBIT_ADDRESSES=" + rabbittest.Address(), "RABBIT_VHOST=" + vhost},
				newBinder(t, ctx, rabbit.Type, rabbit.New, map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost})
		}},
		{"nats", func(t *testing.T, ctx context.Context) ([]string, stream.Binder) {
			s := natstest.Start(t, natstest.Options{})
			return []string{"NATS_SERVERS=" + s.URL()}, newBinder(t, ctx, nats.Type, nats.New, map[string]any{"servers": s.URL()})
		}},
		{"redis", func(t *testing.T, ctx context.Context) ([]string, stream.Binder) {
			s := redistest.StartServer(t)
			return []string{"REDIS_ADDRESS=" + s.Addr()}, newBinder(t, ctx, redis.Type, redis.New, map[string]any{"address": s.Addr()})
		}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			env, side := tc.start(t, ctx)
			logs := newLines()
			done := make(chan int, 1)
			go func() { done <- run(ctx, []string{"--profile", tc.profile}, env, logs) }()
			logs.waitFor(t, "msg=ready", done)

			invoices := make(chan []byte, 1)
			c, err := side.BindConsumer(ctx, stream.ConsumerSpec{Binding: "test-invoices", Destination: "invoices", Group: "test",
				Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
				Handler: func(_ context.Context, m stream.Envelope) error {
					invoices <- append([]byte(nil), m.Payload...)
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			p, err := side.BindProducer(ctx, stream.ProducerSpec{Binding: "test-orders", Destination: "orders", ContentType: "application/json"})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Send(ctx, stream.Envelope{Payload: []byte(`{"id":"o-1","sku":"widget","quantity":3}`)}); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-invoices:
				if want := `{"orderId":"o-1","totalCents":750}`; string(got) != want {
					t.Fatalf("invoice %s, want %s", got, want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no invoice on %s:\n%s", tc.profile, logs)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("exit status %d:\n%s", code, logs)
			}
		})
	}
}

// newBinder makes a binder of the test's own, closed when the test ends.
func newBinder(t *testing.T, ctx context.Context, typ string, f stream.BinderFactory, env map[string]any) stream.Binder {
	t.Helper()
	b, err := f(ctx, stream.BinderSettings{Name: "test-" + typ, Type: typ, Environment: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(cctx)
	})
	return b
}
