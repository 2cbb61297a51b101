// Command outbox places orders with a transactional outbox: each order is
// inserted into the orders table, and its message stored in the outbox
// table, in one PostgreSQL transaction; the relay sends the message once
// the transaction committed; shipOrder receives it.
//
//	cd examples/outbox
//	go run . o-1 o-2 o-1    # places o-1 and o-2; the second o-1 is rejected
//	                        # and its message never sent; serves until Ctrl-C
//
// PostgreSQL: OUTBOX_DSN (default: the test database on 127.0.0.1, trust
// auth), OUTBOX_TABLE (default shop.outbox; the orders table goes in the
// same schema).
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// OrderPlaced is the message of a placed order.
type OrderPlaced struct {
	ID string `json:"id"`
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// placeOrder inserts the order and stores its message, in one transaction.
func placeOrder(ctx context.Context, pool *pgxpool.Pool, ob *outbox.Outbox, orders, id string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+orders+" (id) VALUES ($1)", id); err != nil {
			return err
		}
		return ob.Send(ctx, tx, "orders-out", OrderPlaced{ID: id}, outbox.Key(id))
	})
}

func run(ctx context.Context, args, env []string, stdout, stderr io.Writer, opts ...stream.Option) int {
	fs := flag.NewFlagSet("outbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("config-dir", ".", "directory of application.yaml")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "outbox: %v\n", err)
		return 1
	}
	loaded, err := config.Load(config.Options{Dir: *dir, Env: env})
	if err != nil {
		return fail(err)
	}
	// Logged by NewApp; if run returns before it (a bad telemetry or
	// other setting, often the very key a warning names), here.
	defer loaded.LogWarnings(slog.New(slog.NewTextHandler(stderr, nil)))
	obCfg, err := outbox.FromConfig(loaded)
	if err != nil {
		return fail(err)
	}
	tel, err := telemetry.FromConfig(loaded.Raw, loaded.Problem)
	if err != nil {
		return fail(err)
	}
	log := telemetry.NewLogger(stderr, tel.Log)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "shipOrder", func(_ context.Context, o OrderPlaced) error {
		fmt.Fprintf(stdout, "shipping order %s\n", o.ID)
		return nil
	})
	app, err := stream.NewApp(loaded.Stream, fns, append([]stream.Option{
		stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(log)}, opts...)...)
	if err != nil {
		return fail(err)
	}
	// One pool for the orders and the relay.
	pool, err := pgxpool.New(ctx, obCfg.DSN)
	if err != nil {
		return fail(errors.New("outbox.dsn: cannot be parsed")) // pgx's error quotes the DSN
	}
	defer pool.Close()
	ob, err := outbox.New(app, obCfg, outbox.Options{Pool: pool, Logger: log})
	if err != nil {
		return fail(err)
	}
	if err := outbox.Migrate(ctx, pool, obCfg.Table); err != nil {
		return fail(err)
	}
	orders := "orders"
	if schema, _, ok := strings.Cut(obCfg.Table, "."); ok {
		orders = schema + ".orders"
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+orders+" (id text PRIMARY KEY)"); err != nil {
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
	for _, id := range fs.Args() {
		err := placeOrder(sigCtx, pool, ob, orders, id)
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr) && pgErr.Code == "23505": // unique_violation
			fmt.Fprintf(stdout, "order %s rejected: already placed (nothing sent)\n", id)
		case err != nil:
			log.Error("order not placed", "order", id, "error", err)
		default:
			fmt.Fprintf(stdout, "order %s placed\n", id)
		}
	}
	if err := <-done; err != nil {
		return fail(err)
	}
	return 0
}
