package idempotency_test

import (
	"context"
	"fmt"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

// A consumer with consumer.idempotency on the in-process binder and the
// memory store: the same message id sent twice runs the function once.
func Example() {
	loaded, err := config.Load(config.Options{Env: []string{}, Data: []byte(`
stream:
  function: { definition: ship }
  output-bindings: orders-out
  bindings:
    orders-out: { destination: orders }
    ship-in-0:
      destination: orders
      group: shipping
      consumer:
        idempotency: { store: memory, retention: 1h }
`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	shipped := make(chan string, 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "ship", func(_ context.Context, id string) error {
		shipped <- id
		return nil
	})
	app, err := stream.NewApp(loaded.Stream, fns, stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := idempotency.FromConfig(loaded)
	if err != nil {
		fmt.Println(err)
		return
	}
	idem, err := idempotency.New(app, cfg, idempotency.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	<-app.Ready()
	for _, id := range []string{"m-1", "m-1", "m-2"} {
		if err := app.Bridge().Send(ctx, "orders-out", stream.NewMessage("order of "+id, stream.HeaderID, id)); err != nil {
			fmt.Println(err)
		}
	}
	for range 2 {
		select {
		case s := <-shipped:
			fmt.Println("shipped", s)
		case <-time.After(10 * time.Second):
			fmt.Println("timed out")
		}
	}
	cancel()
	if err := <-done; err != nil {
		fmt.Println(err)
	}
	fmt.Println("duplicates skipped:", idem.Stats("ship-in-0").Skipped)
	// Output:
	// shipped order of m-1
	// shipped order of m-2
	// duplicates skipped: 1
}
