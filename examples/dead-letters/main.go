// Command dead-letters has a consumer, auditDeadLetters, that reads the
// dead letters of another binding, chargePayment-in-0: the orders payment
// could not charge after every attempt.
//
//	cd examples/dead-letters
//	go run .                   # in process: serves until Ctrl-C
//	go run . --profile kafka   # Kafka (KAFKA_BROKERS): the same dead-letter topic, error.orders.payment
//	go run . --profile rabbit  # RabbitMQ: the queue orders.payment.dlq (see application-rabbit.yaml)
//
// The audit reads dead letters as raw bytes (stream.Message[[]byte]): a
// dead letter is often a message that could not be decoded, and the audit
// must not fail on it — a consumer of dead letters that fails has nowhere
// left to put them. It reports the reason from the SCSt headers
// x-exception-message and x-exception-fqcn, and where the message came
// from (x-original-topic on Kafka and in process, x-original-exchange on
// RabbitMQ), with its partition and when it was sent where the binder says
// (Headers.OriginalPartition and OriginalTimestamp read Kafka's binary
// numbers and the other binders' decimal ones alike).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// Order is what payment charges.
type Order struct {
	ID          string `json:"id"`
	AmountCents int64  `json:"amountCents"`
	Card        string `json:"card"`
}

var (
	errBadAmount = errors.New("amount must be positive")
	errDeclined  = errors.New("card declined")
)

// chargePayment charges an order. A bad amount can never be charged: a
// permanent error, dead-lettered without retry. A declined card is an
// ordinary error: retried (max-attempts), then dead-lettered.
func chargePayment(_ context.Context, o Order) error {
	switch {
	case o.AmountCents <= 0:
		return stream.Permanent(fmt.Errorf("order %s: %w", o.ID, errBadAmount))
	case o.Card == "declined":
		return fmt.Errorf("order %s: %w", o.ID, errDeclined)
	}
	return nil
}

// DeadLetter is what the audit makes of one.
type DeadLetter struct {
	OrderID string // "" when the payload is not an order
	From    string // the topic or exchange it was consumed from
	// Partition is the partition it was consumed from, -1 when the dead
	// letter names none (RabbitMQ).
	Partition int
	Sent      time.Time // x-original-timestamp; zero when the dead letter has none
	Reason    string    // x-exception-message
	Type      string    // x-exception-fqcn: the Go type of the root error
	Payload   []byte
}

// auditDeadLetters reads dead letters as they are and reports each one.
// It never returns an error.
func auditDeadLetters(report func(DeadLetter)) func(context.Context, stream.Message[[]byte]) error {
	return func(_ context.Context, m stream.Message[[]byte]) error {
		dl := DeadLetter{
			From:    m.Headers.Get("x-original-topic"),
			Reason:  m.Headers.Get("x-exception-message"),
			Type:    m.Headers.Get("x-exception-fqcn"),
			Payload: m.Payload,
		}
		if dl.From == "" {
			dl.From = m.Headers.Get("x-original-exchange")
		}
		dl.Partition = -1
		if p, ok := m.Headers.OriginalPartition(); ok {
			dl.Partition = p
		}
		dl.Sent, _ = m.Headers.OriginalTimestamp()
		var o Order
		if json.Unmarshal(m.Payload, &o) == nil {
			dl.OrderID = o.ID
		}
		report(dl)
		return nil
	}
}

// catalog registers the service's functions.
func catalog(report func(DeadLetter)) *stream.Catalog {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "chargePayment", chargePayment)
	stream.AddConsumer(fns, "auditDeadLetters", auditDeadLetters(report))
	return fns
}

// buildApp builds the app from a loaded configuration, with every binder
// type registered (the configuration picks), logging to w as the logging
// section says; opts come last and win.
func buildApp(loaded *config.Loaded, w io.Writer, report func(DeadLetter), opts ...stream.Option) (*stream.App, *slog.Logger, error) {
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
	app, err := stream.NewApp(loaded.Stream, catalog(report), opts...)
	return app, log, err
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is main without the process around it: it prints one line per dead
// letter to stdout, logs to stderr, and returns the exit status (0 after a
// clean shutdown, 1 on failure, 2 on bad usage).
func run(ctx context.Context, args, env []string, stdout, stderr io.Writer, opts ...stream.Option) int {
	fs := flag.NewFlagSet("dead-letters", flag.ContinueOnError)
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
		fmt.Fprintf(stderr, "dead-letters: %v\n", err)
		return 1
	}
	// Logged by NewApp; if run returns before it (a bad telemetry or
	// other setting, often the very key a warning names), here.
	defer loaded.LogWarnings(slog.New(slog.NewTextHandler(stderr, nil)))
	report := func(dl DeadLetter) {
		what := "order " + dl.OrderID
		if dl.OrderID == "" {
			what = fmt.Sprintf("%d bytes that are not an order", len(dl.Payload))
		}
		from := dl.From
		if dl.Partition >= 0 {
			from += fmt.Sprintf(" partition %d", dl.Partition)
		}
		fmt.Fprintf(stdout, "dead letter from %s: %s: %s (%s)\n", from, what, dl.Reason, dl.Type)
	}
	app, log, err := buildApp(loaded, stderr, report, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "dead-letters: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		select {
		case <-app.Ready():
			log.Info("ready", "audit", app.Binding("auditDeadLetters-in-0").Destination())
		case <-ctx.Done():
		}
	}()
	if err := app.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "dead-letters: %v\n", err)
		return 1
	}
	return 0
}
