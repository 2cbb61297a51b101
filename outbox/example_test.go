package outbox_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/stream"
)

type Order struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
}

// A service that inserts an order and stores its message in one
// transaction; the relay sends it once committed.
func Example() {
	ctx := context.Background()
	loaded, err := config.Load(config.Options{Dir: "."}) // application.yaml with stream and outbox sections
	if err != nil {
		log.Fatal(err)
	}
	app, err := stream.NewApp(loaded.Stream, stream.NewCatalog(), stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := outbox.FromConfig(loaded)
	if err != nil {
		log.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, cfg.DSN)
	if err != nil {
		log.Fatal("outbox.dsn cannot be parsed") // pgx's error would quote the DSN
	}
	ob, err := outbox.New(app, cfg, outbox.Options{Pool: pool}) // the relay runs with app
	if err != nil {
		log.Fatal(err)
	}
	if err := outbox.Migrate(ctx, pool, cfg.Table); err != nil {
		log.Fatal(err)
	}
	go app.Run(ctx) //nolint:errcheck // sketch

	o := Order{ID: "o-1", Customer: "c-7"}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO orders (id, customer) VALUES ($1, $2)", o.ID, o.Customer); err != nil {
			return err
		}
		// Sent once the transaction committed; never if it rolls back.
		// The customer is the order key: one customer's orders keep
		// their order.
		return ob.Send(ctx, tx, "orders-out", o, outbox.Key(o.Customer))
	})
	if err != nil {
		log.Fatal(err)
	}
}
