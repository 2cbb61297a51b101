// Command demo is the online shop of streambind's seed example: an order
// service emits "order created" events; inventory, payment and shipping
// services consume them; a notification service consumes payments; invalid
// orders end up in the payment service's dead-letter queue.
//
// The bindings live in application.yaml; the same binary runs on another
// binder with a profile — --profile kafka, rabbit, nats or redis
// (application-<profile>.yaml) — or, when the flag names none, the
// environment as the configuration loader reads it
// (STREAM_PROFILES_ACTIVE when set, even empty, else
// SPRING_PROFILES_ACTIVE). Both ways behave the same: with the kafka
// profile active and KAFKA_BROKERS unset or empty the demo starts an
// embedded Kafka cluster (kfake) either way. The line "demo: ready in …
// (N bindings on BINDERS)" on stderr names the binders in use.
//
//	go run ./cmd/demo --orders 5000 --poison-every 100
//
// The last line of the output is a summary counted by unique order id:
//
//	summary: produced=N inventory=N shipping=N payment=N notified=N dlq=N lost=N duplicates=N elapsed=SECONDS undecodable=N
//
// dlq counts the poison orders the audit service read from payment's
// dead-letter queue; undecodable counts the dead letters it read that are
// not orders (not JSON, or no order id): audit reads dead letters as raw
// bytes and never drops one for not decoding. The exit status is 0 if and
// only if lost=0.
//
// # Runs that follow one another
//
// On RabbitMQ, NATS and Redis (and on an external Kafka cluster) the
// demo's queues and streams outlive a run, and a run cut short leaves
// orders in them. The demo does not empty them at start-up unless asked
// with --purge (default off): its services handle what they find like
// any other message, as real services would. Each run tags its orders
// with a run id of its own (order ids "o-<run id>-<n>", 8 random hex
// digits), and the summary counts only this run's ids, so that messages of
// an earlier run are neither duplicates nor a reason for lost > 0; their
// number is reported on stderr. The in-process binder and the embedded
// Kafka cluster start empty every time.
//
// NATS and Redis servers are often shared, so the nats and redis profiles
// put the demo's names under DEMO_PREFIX (default streambind-demo): NATS
// subjects streambind-demo.orders, error.streambind-demo.orders.payment
// (streams streambind-demo_orders, ...); Redis keys streambind-demo:orders,
// streambind-demo:orders:0, .... What repeated runs leave is bounded: the
// NATS streams the demo makes keep a message at most an hour and at most
// 100,000 messages each (max-age 1h, max-msgs 100000);
// on Redis acknowledged entries are trimmed, none is kept longer than an
// hour and no stream longer than 100,000 entries.
//
// --purge empties, before anything consumes, on the broker of every binder
// the app uses — as its configuration says after profiles, environment
// overrides and placeholders, connecting as the binder does — and says on
// stderr how many messages it removed:
//
//   - RabbitMQ: the demo's queues (orders.inventory, orders.payment,
//     orders.shipping, orders.payment.dlq, payments.notifications; missing
//     ones are fine), reached through rabbit.Endpoints (address entries
//     with their own credentials and virtual host, uri, username, password,
//     virtual-host, tls).
//   - NATS: the streams of the bindings' destinations are deleted, with
//     their consumers (the binder makes them again when it binds); a
//     stream of another name that captures a destination (an operator's)
//     is not deleted, only the destination's subjects purged from it.
//   - Redis: each destination's stream and partition streams under the key
//     prefix are deleted, with their groups, and the destination dropped
//     from the partition registry; keys of other types are left alone.
//
// Over TLS, --purge verifies the server with the system's root
// certificates and sends no client certificate; NATS and Redis settings
// with TLS files are refused (RabbitMQ's are not read: the handshake fails
// if they were needed). On the in-process binder and Kafka it purges
// nothing, and says so.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	started := time.Now()
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, started))
}

// run is main without the process around it, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, started time.Time) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	orders := fs.Int("orders", 1000, "emit N orders and stop when all are processed; 0 = serve until SIGINT/SIGTERM")
	rate := fs.Float64("rate", 0, "orders per second; 0 = as fast as possible")
	poison := fs.Int("poison-every", 0, "every K-th order has quantity 0 and is dead-lettered by payment; 0 = none")
	profile := fs.String("profile", "", "configuration profile(s) to activate, comma-separated (application-<profile>.yaml); default: STREAM_PROFILES_ACTIVE, else SPRING_PROFILES_ACTIVE")
	cfgPath := fs.String("config", "", "configuration file (default application.yaml)")
	timeout := fs.Duration("timeout", 2*time.Minute, "with --orders N: give up waiting for the orders after this long")
	logLevel := fs.String("log-level", "", "log level: debug, info, warn, error (default: logging.level, else info)")
	purge := fs.Bool("purge", false, "empty the demo's RabbitMQ queues and NATS and Redis streams before starting (default: keep what earlier runs left; it is handled but not counted)")
	mgmtAddr := fs.String("management", "", "serve the management endpoints on ADDR, e.g. 127.0.0.1:8081 (default: management.server.address, else off)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // the usage was asked for, and printed
		}
		return 2
	}
	if *orders < 0 || *rate < 0 || *poison < 0 {
		fmt.Fprintln(stderr, "demo: --orders, --rate and --poison-every must not be negative")
		return 2
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	s := newShop(shopOptions{orders: *orders, rate: *rate, poisonEvery: *poison})
	sa, err := buildApp(ctx, s, appOptions{configFile: *cfgPath, profiles: *profile, logLevel: *logLevel, management: *mgmtAddr, purge: *purge, logOut: stderr, args: fs.Args()})
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	defer sa.cleanup()
	app := sa.app
	if err := sa.mgmt.Start(); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	if addr := sa.mgmt.Addr(); addr != "" {
		// Every endpoint, as a URL to paste into curl or a browser.
		var b strings.Builder
		fmt.Fprintf(&b, "demo: management on http://%s\n", addr)
		for _, e := range sa.mgmt.Endpoints() {
			method, path, _ := strings.Cut(e, " ")
			fmt.Fprintf(&b, "demo:   %-4s http://%s%s\n", method, addr, path)
		}
		fmt.Fprint(stderr, b.String())
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sa.mgmt.Shutdown(sctx)
	}()

	// The app stops when run says so (after draining in serve mode), not
	// when the signal arrives.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	var binders []string
	for _, b := range app.Bindings() {
		if !slices.Contains(binders, b.Binder()) {
			binders = append(binders, b.Binder())
		}
	}
	slices.Sort(binders)
	fmt.Fprintf(stderr, "demo: ready in %s (%d bindings on %s)\n", time.Since(started).Round(10*time.Microsecond),
		len(app.Bindings()), strings.Join(binders, ", "))
	begin := time.Now()

	var timedOut, interrupted bool
	if *orders > 0 {
		select {
		case <-s.tracker.complete:
		case <-ctx.Done():
			interrupted = true
		case <-time.After(*timeout):
			timedOut = true
		}
	} else {
		<-ctx.Done()
		interrupted = true
	}
	if interrupted {
		// Stop taking orders, then let those placed finish before the app
		// stops: with the in-process binder, a queued order would vanish.
		close(s.closed)
		drainFor := min(*timeout, 30*time.Second)
		drainCtx, cancelDrain := context.WithTimeout(context.Background(), drainFor)
		select {
		case <-s.placed:
		case <-drainCtx.Done():
		}
		// Said, so that an operator knows what the process waits for (a
		// paused binding holds its orders until it is resumed or the wait
		// ends).
		if n := s.tracker.summary().lost; n > 0 {
			fmt.Fprintf(stderr, "demo: stopping: waiting up to %s for %d orders in flight to finish (a paused binding holds them)\n", drainFor, n)
		}
		for !s.tracker.drained() && drainCtx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		if n := s.tracker.summary().lost; n > 0 {
			fmt.Fprintf(stderr, "demo: stopping: %d orders still in flight after %s; stopping anyway\n", n, drainFor)
		}
		cancelDrain()
	}
	elapsed := time.Since(begin)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "demo: shutdown: %v\n", err)
	}
	if timedOut {
		fmt.Fprintf(stderr, "demo: gave up waiting after %s\n", *timeout)
	}
	sum := s.tracker.summary()
	if sum.other > 0 {
		fmt.Fprintf(stderr, "demo: %d messages of other runs (left in the broker before this one started) were handled and are not counted below\n", sum.other)
	}
	printReport(stdout, app, elapsed)
	fmt.Fprintln(stdout, sum.line(elapsed))
	// Orders not produced at all (a run cut short) are not "lost", but a run
	// asked for N orders must deliver N.
	if sum.lost > 0 || (*orders > 0 && !timedOut && sum.counts[stageProduced] < *orders && ctx.Err() == nil) {
		return 1
	}
	if *orders > 0 && timedOut {
		return 1
	}
	return 0
}
