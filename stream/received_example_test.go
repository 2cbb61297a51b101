package stream_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// A function bound to two destinations reads which one its input came
// from (SCSt's kafka_receivedTopic header; on RabbitMQ its exchange and
// routing key are there too), with the binder's offset.
func ExampleReceived() {
	done := make(chan struct{})
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "label", func(_ context.Context, in stream.Message[string]) (string, error) {
		r := in.Received
		return fmt.Sprintf("%s from %s (offset %d)", in.Payload, r.Destination, r.Offset), nil
	})
	stream.AddConsumer(fns, "audit", func(_ context.Context, s string) error {
		fmt.Println(s)
		done <- struct{}{}
		return nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "label;audit"},
		Bindings: map[string]stream.BindingConfig{
			"label-in-0":  {Destination: "orders,returns", Group: "labeller", ContentType: "text/plain"},
			"label-out-0": {Destination: "labelled", ContentType: "text/plain"},
			"audit-in-0":  {Destination: "labelled", Group: "audit"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- app.Run(ctx) }()
	<-app.Ready()
	for _, dest := range []string{"orders", "returns", "orders"} {
		_ = app.Bridge().Send(ctx, dest, stream.NewMessage("parcel", stream.HeaderContentType, "text/plain"))
		<-done
	}
	cancel()
	<-stopped
	// Output:
	// parcel from orders (offset 1)
	// parcel from returns (offset 1)
	// parcel from orders (offset 2)
}
