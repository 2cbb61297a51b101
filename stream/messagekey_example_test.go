package stream_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// A function reads the key its input arrived with (on Kafka the record
// key, SCSt's kafka_receivedMessageKey) and sets the key of its output.
func ExampleMessage_key() {
	done := make(chan struct{})
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "reserve", func(_ context.Context, in stream.Message[string]) (stream.Message[string], error) {
		fmt.Printf("reserve %s for order %s\n", in.Payload, in.Key)
		return stream.Message[string]{Payload: "reserved", Key: in.Key}, nil // keep the order's key
	})
	stream.AddConsumer(fns, "audit", func(_ context.Context, m stream.Message[string]) error {
		fmt.Printf("%s, key %s\n", m.Payload, m.Key)
		close(done)
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "reserve;audit"},
		OutputBindings: "orders-out",
		Bindings: map[string]stream.BindingConfig{
			"orders-out":    {Destination: "orders", ContentType: "text/plain"},
			"reserve-in-0":  {Destination: "orders", Group: "inventory"},
			"reserve-out-0": {Destination: "reservations", ContentType: "text/plain"},
			"audit-in-0":    {Destination: "reservations", Group: "audit"},
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
	_ = app.Bridge().Send(ctx, "orders-out", stream.Message[string]{Payload: "2 x book", Key: []byte("o-17")})
	<-done
	cancel()
	<-stopped
	// Output:
	// reserve 2 x book for order o-17
	// reserved, key o-17
}
