// Command kafka-to-rabbit reads orders from Kafka and sends shipments to
// RabbitMQ, in one app: two named binders of different types, and each
// binding says which one it uses (application.yaml).
//
// Run it for real (a Kafka cluster and a RabbitMQ broker):
//
//	cd examples/kafka-to-rabbit
//	go run ../../cmd/streambind kafka serve --port 9092 &   # or any Kafka: KAFKA_BROKERS=host:port
//	go run .                                # RabbitMQ at RABBIT_ADDRESSES (127.0.0.1:5672), guest/guest
//	echo '{"id":"o-1","country":"FR","items":2}' | kcat -P -b localhost:9092 -t orders
//	amqp-get -q shipments.warehouse         # amqp-tools (make deps); -u amqp://guest:guest@127.0.0.1/VHOST for RABBIT_VHOST
//
// or without brokers: go run . --profile inprocess. The tests run it on
// the in-process binder, and on an in-process Kafka cluster (kfake) with
// the local RabbitMQ (in a virtual host of their own) when it is there.
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
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// Order arrives on Kafka.
type Order struct {
	ID      string `json:"id"`
	Country string `json:"country"`
	Items   int    `json:"items"`
}

// Shipment leaves on RabbitMQ.
type Shipment struct {
	OrderID   string `json:"orderId"`
	Warehouse string `json:"warehouse"`
	Items     int    `json:"items"`
}

// warehouses serve countries.
var warehouses = map[string]string{"FR": "lyon", "DE": "leipzig", "BE": "lyon", "AT": "leipzig"}

var errNoWarehouse = errors.New("no warehouse serves the country")

// planShipment picks the warehouse of an order's country. An order for a
// country no warehouse serves cannot be shipped, now or later: a permanent
// error, so it is dead-lettered at once (to the Kafka topic
// error.orders.shipping).
func planShipment(_ context.Context, o Order) (Shipment, error) {
	w, ok := warehouses[strings.ToUpper(o.Country)]
	if !ok {
		return Shipment{}, stream.Permanent(fmt.Errorf("order %s: %w %q", o.ID, errNoWarehouse, o.Country))
	}
	return Shipment{OrderID: o.ID, Warehouse: w, Items: o.Items}, nil
}

// catalog registers the service's functions.
func catalog() *stream.Catalog {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "planShipment", planShipment)
	return fns
}

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
		stream.WithLogger(log),
	}, opts...)
	app, err := stream.NewApp(loaded.Stream, catalog(), opts...)
	return app, log, err
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stderr))
}

// run is main without the process around it: args and env as given, logs
// to stderr, and opts after the service's own options. It returns the exit
// status: 0 after a clean shutdown, 1 on failure, 2 on bad usage.
func run(ctx context.Context, args, env []string, stderr io.Writer, opts ...stream.Option) int {
	fs := flag.NewFlagSet("kafka-to-rabbit", flag.ContinueOnError)
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
	loaded, err := config.Load(config.Options{Dir: *dir, Profiles: profiles, Env: env})
	if err != nil {
		fmt.Fprintf(stderr, "kafka-to-rabbit: %v\n", err)
		return 1
	}
	// Logged by NewApp; if run returns before it (a bad telemetry or
	// other setting, often the very key a warning names), here.
	defer loaded.LogWarnings(slog.New(slog.NewTextHandler(stderr, nil)))
	app, log, err := buildApp(loaded, stderr, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "kafka-to-rabbit: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		select {
		case <-app.Ready():
			var on []string
			for _, b := range app.Bindings() {
				on = append(on, b.Name()+" on "+b.Binder())
			}
			log.Info("ready", "bindings", strings.Join(on, ", "))
		case <-ctx.Done():
		}
	}()
	if err := app.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "kafka-to-rabbit: %v\n", err)
		return 1
	}
	return 0
}
