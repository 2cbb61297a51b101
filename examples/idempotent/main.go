// Command idempotent credits payments to accounts exactly once: credit
// runs in the transaction of the idempotent consumer (idempotency.Tx), so
// its balance update commits together with the payment's processed mark,
// and a payment delivered again is skipped.
//
//	cd examples/idempotent
//	go run . p-1:alice:500 p-2:bob:300 p-1:alice:500
//	    # sends the three payments (the second p-1 with the same message
//	    # id, as a producer retrying would): alice is credited 500 once;
//	    # serves until Ctrl-C
//
// PostgreSQL: LEDGER_DSN (default: the test database on 127.0.0.1, trust
// auth), LEDGER_MARKS_TABLE (default ledger.idempotency_marks; the
// balances table goes in the same schema).
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
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// Payment is what the ledger credits.
type Payment struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Cents   int64  `json:"cents"`
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// credit adds p to its account's balance, in the idempotent consumer's
// transaction: the update and the payment's mark commit together.
func credit(balances string, stdout io.Writer) func(context.Context, Payment) error {
	return func(ctx context.Context, p Payment) error {
		tx := idempotency.Tx(ctx)
		if tx == nil {
			return stream.Permanent(errors.New("credit: no transaction: consumer.idempotency.store must be postgres"))
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+balances+" (account, cents) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET cents = "+balances+".cents + EXCLUDED.cents",
			p.Account, p.Cents)
		if err != nil {
			return fmt.Errorf("credit %s: %w", p.ID, err)
		}
		fmt.Fprintf(stdout, "credited %s: %s +%d\n", p.ID, p.Account, p.Cents)
		return nil
	}
}

// parsePayment reads id:account:cents.
func parsePayment(s string) (Payment, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Payment{}, fmt.Errorf("payment %q: want id:account:cents", s)
	}
	cents, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return Payment{}, fmt.Errorf("payment %q: cents: %w", s, err)
	}
	return Payment{ID: parts[0], Account: parts[1], Cents: cents}, nil
}

func run(ctx context.Context, args, env []string, stdout, stderr io.Writer, opts ...stream.Option) int {
	fs := flag.NewFlagSet("idempotent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("config-dir", ".", "directory of application.yaml")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "idempotent: %v\n", err)
		return 1
	}
	var payments []Payment
	for _, a := range fs.Args() {
		p, err := parsePayment(a)
		if err != nil {
			fmt.Fprintf(stderr, "idempotent: %v\n", err)
			return 2
		}
		payments = append(payments, p)
	}
	loaded, err := config.Load(config.Options{Dir: *dir, Env: env})
	if err != nil {
		return fail(err)
	}
	// Logged by NewApp; if run returns before it (a bad telemetry or
	// other setting, often the very key a warning names), here.
	defer loaded.LogWarnings(slog.New(slog.NewTextHandler(stderr, nil)))
	idemCfg, err := idempotency.FromConfig(loaded)
	if err != nil {
		return fail(err)
	}
	tel, err := telemetry.FromConfig(loaded.Raw, loaded.Problem)
	if err != nil {
		return fail(err)
	}
	log := telemetry.NewLogger(stderr, tel.Log)
	balances := "balances"
	if schema, _, ok := strings.Cut(idemCfg.Postgres.Table, "."); ok {
		balances = schema + ".balances"
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "credit", credit(balances, stdout))
	app, err := stream.NewApp(loaded.Stream, fns, append([]stream.Option{
		stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(log)}, opts...)...)
	if err != nil {
		return fail(err)
	}
	// One pool for the marks and the balances: they commit together.
	pc, err := pgxpool.ParseConfig(idemCfg.Postgres.DSN)
	if err != nil {
		return fail(errors.New("idempotency.postgres.dsn: cannot be parsed")) // pgx's error quotes the DSN
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	if err := idempotency.Migrate(ctx, pool, idemCfg.Postgres.Table); err != nil {
		return fail(err)
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+balances+" (account text PRIMARY KEY, cents bigint NOT NULL)"); err != nil {
		return fail(err)
	}
	if _, err := idempotency.New(app, idemCfg, idempotency.Options{Pool: pool, Logger: log}); err != nil {
		return fail(err)
	}
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- app.Run(sigCtx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		return fail(err)
	}
	for _, p := range payments {
		// The payment id is the message id: a payment sent twice is one
		// message delivered twice.
		if err := app.Bridge().Send(sigCtx, "payments-out", stream.NewMessage(p, stream.HeaderID, p.ID)); err != nil {
			log.Error("payment not sent", "payment", p.ID, "error", err)
			continue
		}
		fmt.Fprintf(stdout, "sent %s\n", p.ID)
	}
	if err := <-done; err != nil {
		return fail(err)
	}
	return 0
}
