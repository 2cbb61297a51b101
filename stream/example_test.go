package stream_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// An app with a function and a consumer on the in-process binder. The
// configuration would normally come from application.yaml (package config).
func Example() {
	type Order struct {
		ID  string `json:"id"`
		Qty int    `json:"qty"`
	}
	done := make(chan struct{})
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "describe", func(_ context.Context, o Order) (string, error) {
		return fmt.Sprintf("order %s: %d item(s)", o.ID, o.Qty), nil
	})
	stream.AddConsumer(fns, "print", func(_ context.Context, s string) error {
		fmt.Println(s)
		close(done)
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "describe;print"},
		OutputBindings: "orders-out", // for the send bridge
		Bindings: map[string]stream.BindingConfig{
			"orders-out":     {Destination: "orders"},
			"describe-in-0":  {Destination: "orders", Group: "describer"},
			"describe-out-0": {Destination: "descriptions", ContentType: "text/plain"},
			"print-in-0":     {Destination: "descriptions", Group: "printer"},
		},
	}
	app, err := stream.NewApp(cfg, fns,
		stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- app.Run(ctx) }()
	<-app.Ready()

	_ = app.Bridge().Send(ctx, "orders-out", Order{ID: "o-1", Qty: 2})
	<-done
	cancel()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// order o-1: 2 item(s)
	// stopped: <nil>
}

// NewApp reports every configuration problem at once, with key paths.
func ExampleNewApp_errors() {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "ship", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "ship;bill"},
		Bindings: map[string]stream.BindingConfig{
			"ship-in-0": {Consumer: stream.ConsumerConfig{Concurrency: -2}},
		},
	}
	_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New))
	fmt.Println(strings.ReplaceAll(err.Error(), "\t", " "))
	// Output:
	// invalid configuration (2 problems):
	//   - stream.function.definition: function "bill" is not registered (registered: ship); if this process does not run "bill", give it its own definition: STREAM_FUNCTION_DEFINITION=<its functions>, or stream.function.definition in a profile of its own
	//   - stream.bindings.ship-in-0.consumer.concurrency: must be at least 1, got -2
}
