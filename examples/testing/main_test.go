package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/examples/internal/extest"
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

	// Receive takes an output binding's name, or a destination's: the
	// binding's, or one a function routes to with the
	// spring.cloud.stream.sendto.destination header.
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	broker, side := extest.InProcess(t, ctx)
	invoices := extest.Consume(t, ctx, side, stream.ConsumerSpec{Binding: "test", Destination: "invoices", Group: "test"})
	r := extest.Start(t, ctx, func(ctx context.Context, _, logs io.Writer) int {
		return run(ctx, nil, []string{}, logs, extest.WithBroker(broker))
	})
	r.WaitLog(t, "msg=ready")
	extest.SendJSON(t, ctx, side, "orders", `{"id":"o-9","sku":"gadget","quantity":2}`)
	m := r.Receive(t, invoices, "invoice")
	if got, want := string(m.Payload), `{"orderId":"o-9","totalCents":2598}`; got != want {
		t.Fatalf("invoice %s, want %s", got, want)
	}
	r.Stop(t)
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
		logs := extest.NewLines()
		if code := run(ctx, tc.args, []string{}, logs); code != tc.code || !strings.Contains(logs.String(), tc.says) {
			t.Errorf("run %v: status %d, want %d; output:\n%s", tc.args, code, tc.code, logs)
		}
	}
}

// Every profile of this directory loads and builds (without connecting to
// anything), so none can rot unnoticed.
func TestProfilesBuild(t *testing.T) {
	extest.ProfilesBuild(t, func(loaded *config.Loaded) error {
		_, _, err := buildApp(loaded, io.Discard)
		return err
	})
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
			brokers, side := extest.Kafka(t, ctx)
			return []string{"KAFKA_BROKERS=" + brokers}, side
		}},
		{"rabbit", func(t *testing.T, ctx context.Context) ([]string, stream.Binder) {
			vhost, side := extest.RabbitMQ(t, ctx)
			return extest.RabbitEnv(vhost), side
		}},
		{"nats", func(t *testing.T, ctx context.Context) ([]string, stream.Binder) {
			s := natstest.Start(t, natstest.Options{})
			return []string{"NATS_URL=" + s.URL()}, extest.NewBinder(t, ctx, nats.Type, nats.New, map[string]any{"servers": s.URL()})
		}},
		{"redis", func(t *testing.T, ctx context.Context) ([]string, stream.Binder) {
			s := redistest.StartServer(t)
			return []string{"REDIS_URL=redis://" + s.Addr()}, extest.NewBinder(t, ctx, redis.Type, redis.New, map[string]any{"address": s.Addr()})
		}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			env, side := tc.start(t, ctx)
			r := extest.Start(t, ctx, func(ctx context.Context, _, logs io.Writer) int {
				return run(ctx, []string{"--profile", tc.profile}, env, logs)
			})
			r.Timeout = 30 * time.Second // four brokers start at once
			r.WaitLog(t, "msg=ready")

			invoices := extest.Consume(t, ctx, side, stream.ConsumerSpec{Binding: "test-invoices", Destination: "invoices", Group: "test"})
			extest.SendJSON(t, ctx, side, "orders", `{"id":"o-1","sku":"widget","quantity":3}`)
			got := r.Receive(t, invoices, "invoice on "+tc.profile)
			if want := `{"orderId":"o-1","totalCents":750}`; string(got.Payload) != want {
				t.Fatalf("invoice %s, want %s", got.Payload, want)
			}
			r.Stop(t)
		})
	}
}
