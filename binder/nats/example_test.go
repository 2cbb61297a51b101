package nats_test

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/stream"
)

// An app whose bindings run on NATS JetStream: the same functions and
// bindings as on any binder, with the binder chosen and configured by
// configuration (in application.yaml: stream.default-binder: nats and a
// stream.nats section). It needs a NATS server with JetStream, so it is
// not run as a test.
func Example() {
	type Order struct {
		ID  string `json:"id"`
		Qty int    `json:"qty"`
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "ship", func(_ context.Context, o Order) error {
		fmt.Println("shipping", o.ID)
		return nil
	})
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "ship"},
		DefaultBinder: nats.Type,
		Bindings: map[string]stream.BindingConfig{
			"ship-in-0": {Destination: "orders", Group: "shipping", Consumer: stream.ConsumerConfig{Concurrency: 4, DLQ: true}},
		},
		Extensions: map[string]stream.ExtensionConfig{
			nats.Type: {
				Binder: map[string]any{
					"servers": "nats://127.0.0.1:4222",
					"stream":  map[string]any{"max-age": "24h", "replicas": 1},
				},
				Bindings: map[string]stream.ExtensionBindingConfig{
					"ship-in-0": {Consumer: map[string]any{"ack-wait": "1m", "redelivery-delay": "1s"}},
				},
			},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(nats.Type, nats.New))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx); err != nil {
		fmt.Println(err)
	}
}
