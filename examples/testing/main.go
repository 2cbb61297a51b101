// Command testing is a two-function service — validateOrder and
// priceOrder — and, in main_test.go, the tests a service like it needs,
// written with package streamtest: each function through its bindings on
// the in-process binder, dead letters included, and main itself.
//
//	cd examples/testing
//	go run .                  # in-process binder: it serves until Ctrl-C
//	go run . --profile kafka  # on Kafka (KAFKA_BROKERS, default localhost:9092)
//	go run . --profile rabbit # on RabbitMQ (RABBIT_ADDRESSES, default 127.0.0.1:5672)
//	go run . --profile nats   # on NATS JetStream (NATS_URL, default nats://127.0.0.1:4222)
//	go run . --profile redis  # on Redis Streams (REDIS_URL, default redis://localhost:6379)
//	go test .
//
// The code is the same on every broker: only the profile, a few lines of
// YAML, changes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// Order is what arrives on "orders".
type Order struct {
	ID       string `json:"id"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	// Test orders are accepted and go no further.
	Test bool `json:"test,omitempty"`
}

// Invoice is what priceOrder sends to "invoices".
type Invoice struct {
	OrderID    string `json:"orderId"`
	TotalCents int64  `json:"totalCents"`
}

// Prices are unit prices in cents, by SKU.
type Prices map[string]int64

var (
	errBadQuantity = errors.New("quantity must be positive")
	errUnknownSKU  = errors.New("unknown SKU")
)

// validateOrder passes a good order on. An order that can never be valid
// is a permanent error: no retry, straight to the dead-letter queue. A
// test order is accepted and not passed on (stream.Skip).
func validateOrder(prices Prices) func(context.Context, Order) (Order, error) {
	return func(_ context.Context, o Order) (Order, error) {
		switch {
		case o.Test:
			return Order{}, stream.Skip
		case o.Quantity <= 0:
			return Order{}, stream.Permanent(fmt.Errorf("order %s: %w, got %d", o.ID, errBadQuantity, o.Quantity))
		}
		if _, ok := prices[o.SKU]; !ok {
			return Order{}, stream.Permanent(fmt.Errorf("order %s: %w %q", o.ID, errUnknownSKU, o.SKU))
		}
		return o, nil
	}
}

// priceOrder turns a valid order into an invoice, with the order id in
// the invoice's header "orderId" (stream.Message carries headers both
// ways).
func priceOrder(prices Prices) func(context.Context, stream.Message[Order]) (stream.Message[Invoice], error) {
	return func(_ context.Context, m stream.Message[Order]) (stream.Message[Invoice], error) {
		o := m.Payload
		inv := Invoice{OrderID: o.ID, TotalCents: prices[o.SKU] * int64(o.Quantity)}
		return stream.NewMessage(inv, "orderId", o.ID), nil
	}
}

// catalog registers the service's functions.
func catalog(prices Prices) *stream.Catalog {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "validateOrder", validateOrder(prices))
	stream.AddFunction(fns, "priceOrder", priceOrder(prices))
	return fns
}

// defaultPrices stands for a price list loaded from somewhere.
var defaultPrices = Prices{"widget": 250, "gadget": 1299}

// buildApp builds the app from a loaded configuration, with every binder
// type registered (the configuration picks), logging to w as the logging
// section says; opts come last and win.
func buildApp(loaded *config.Loaded, w io.Writer, opts ...stream.Option) (*stream.App, *slog.Logger, error) {
	tel, err := telemetry.FromConfig(loaded.Raw, loaded.Problem)
	if err != nil {
		return nil, nil, err
	}
	log := telemetry.NewLogger(w, tel.Log)
	opts = append([]stream.Option{
		stream.WithBinderType(memory.Type, memory.New),
		stream.WithBinderType(kafka.Type, kafka.New),
		stream.WithBinderType(rabbit.Type, rabbit.New),
		stream.WithBinderType(nats.Type, nats.New),
		stream.WithBinderType(redis.Type, redis.New),
		stream.WithLogger(log),
	}, opts...)
	app, err := stream.NewApp(loaded.Stream, catalog(defaultPrices), opts...)
	return app, log, err
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stderr))
}

// run is main without the process around it: args and env as given, logs
// to stderr, and opts after the service's own options (a test replaces the
// in-process binder's broker with one it shares). It returns the exit
// status: 0 after a clean shutdown, 1 on failure, 2 on bad usage.
func run(ctx context.Context, args, env []string, stderr io.Writer, opts ...stream.Option) int {
	fs := flag.NewFlagSet("testing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("profile", "", "profiles to activate, comma-separated (default: STREAM_PROFILES_ACTIVE)")
	dir := fs.String("config-dir", ".", "directory of application.yaml and its profiles")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var profiles []string // nil: from the environment
	if *profile != "" {
		profiles = strings.Split(*profile, ",")
	}
	// Profiles choose the broker here: one with no file is an error.
	loaded, err := config.Load(config.Options{Dir: *dir, Profiles: profiles, Env: env, RequireProfileFiles: true})
	if err != nil {
		fmt.Fprintf(stderr, "testing: %v\n", err)
		return 1
	}
	// Logged by NewApp; if run returns before it (a bad telemetry or
	// other setting, often the very key a warning names), here.
	defer loaded.LogWarnings(slog.New(slog.NewTextHandler(stderr, nil)))
	app, log, err := buildApp(loaded, stderr, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "testing: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		select {
		case <-app.Ready():
			log.Info("ready", "bindings", len(app.Bindings()))
		case <-ctx.Done():
		}
	}()
	if err := app.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "testing: %v\n", err)
		return 1
	}
	return 0
}
