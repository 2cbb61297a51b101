// Command scst-port is a Spring Cloud Stream service ported to Go: the
// payments service of docs/coming-from-spring-cloud-stream.md. Its
// application.yaml is the SCSt file with the connection settings moved;
// the Java beans became the functions below.
//
//	cd examples/scst-port
//	go run .                               # RabbitMQ at localhost:5672 (RABBIT_ADDRESSES), guest/guest
//	STREAM_DEFAULT_BINDER=memory go run .  # in process, no broker
//
// On RabbitMQ it declares what the SCSt service declared — the exchanges
// orders and payments, the queues orders.payment and payments.notifications,
// and the dead-letter queue orders.payment.dlq on the exchange DLX — and
// reads and writes SCSt's headers, so the Java and the Go service can
// replace each other on the same broker.
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

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// Order is the Java record Order(String id, String customerId, int quantity, long amountCents).
type Order struct {
	ID          string `json:"id"`
	CustomerID  string `json:"customerId"`
	Quantity    int    `json:"quantity"`
	AmountCents int64  `json:"amountCents"`
}

// Payment is the Java record Payment(String orderId, String customerId, long amountCents).
type Payment struct {
	OrderID     string `json:"orderId"`
	CustomerID  string `json:"customerId"`
	AmountCents int64  `json:"amountCents"`
}

// Gateway charges payments (PaymentGateway in the Java service).
type Gateway interface {
	Charge(ctx context.Context, o Order) (Payment, error)
}

// Mailer tells customers (Mailer in the Java service).
type Mailer interface {
	Send(ctx context.Context, p Payment) error
}

var errBadQuantity = errors.New("bad quantity")

// chargePayment is the Function<Order, Payment> bean. The Java service
// threw IllegalArgumentException, which SCSt retries like any exception;
// here an order that can never be charged is a permanent error: no retry,
// straight to the dead-letter queue.
func chargePayment(gw Gateway) func(context.Context, Order) (Payment, error) {
	return func(ctx context.Context, o Order) (Payment, error) {
		if o.Quantity <= 0 {
			return Payment{}, stream.Permanent(fmt.Errorf("order %s: %w: %d", o.ID, errBadQuantity, o.Quantity))
		}
		return gw.Charge(ctx, o)
	}
}

// notifyCustomer is the Consumer<Payment> bean.
func notifyCustomer(m Mailer) func(context.Context, Payment) error {
	return m.Send
}

// catalog registers the functions, as the @Bean methods did.
func catalog(gw Gateway, m Mailer) *stream.Catalog {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "chargePayment", chargePayment(gw))
	stream.AddConsumer(fns, "notifyCustomer", notifyCustomer(m))
	return fns
}

// fakeGateway charges everything.
type fakeGateway struct{}

func (fakeGateway) Charge(_ context.Context, o Order) (Payment, error) {
	return Payment{OrderID: o.ID, CustomerID: o.CustomerID, AmountCents: o.AmountCents}, nil
}

// printMailer writes one line per payment.
type printMailer struct{ w io.Writer }

func (p printMailer) Send(_ context.Context, pm Payment) error {
	_, err := fmt.Fprintf(p.w, "customer %s: payment of %d cents for order %s received\n", pm.CustomerID, pm.AmountCents, pm.OrderID)
	return err
}

// buildApp builds the app from a loaded configuration. Where SCSt finds
// its binders on the classpath, a Go service registers them: here RabbitMQ
// (and the in-process binder, for STREAM_DEFAULT_BINDER=memory).
func buildApp(loaded *config.Loaded, w io.Writer, gw Gateway, m Mailer, opts ...stream.Option) (*stream.App, *slog.Logger, error) {
	tel, err := telemetry.FromConfig(loaded.Raw, loaded.Problem)
	if err != nil {
		return nil, nil, err
	}
	log := telemetry.NewLogger(w, tel.Log)
	opts = append([]stream.Option{
		stream.WithBinderType(rabbit.Type, rabbit.New),
		stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(log),
	}, opts...)
	app, err := stream.NewApp(loaded.Stream, catalog(gw, m), opts...)
	return app, log, err
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is main without the process around it; it returns the exit status
// (0 after a clean shutdown, 1 on failure, 2 on bad usage).
func run(ctx context.Context, args, env []string, stdout, stderr io.Writer, opts ...stream.Option) int {
	fs := flag.NewFlagSet("scst-port", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("profile", "", "profiles to activate, comma-separated (default: STREAM_PROFILES_ACTIVE, else SPRING_PROFILES_ACTIVE)")
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
		fmt.Fprintf(stderr, "scst-port: %v\n", err)
		return 1
	}
	// Logged by NewApp; if run returns before it (a bad telemetry or
	// other setting, often the very key a warning names), here.
	defer loaded.LogWarnings(slog.New(slog.NewTextHandler(stderr, nil)))
	app, log, err := buildApp(loaded, stderr, fakeGateway{}, printMailer{stdout}, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "scst-port: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		select {
		case <-app.Ready():
			log.Info("ready", "binder", app.Binding("chargePayment-in-0").Binder())
		case <-ctx.Done():
		}
	}()
	if err := app.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "scst-port: %v\n", err)
		return 1
	}
	return 0
}
