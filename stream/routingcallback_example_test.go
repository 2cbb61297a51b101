package stream_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// Routing many event types on one destination by code: the routing
// callback (SCF's MessageRoutingCallback) names the consumer of each
// message; the router decodes the message into that consumer's type.
func ExampleWithRoutingCallback() {
	type OrderPlaced struct{ ID string }
	type OrderCancelled struct{ ID, Reason string }
	got := make(chan string)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "placed", func(_ context.Context, e OrderPlaced) error {
		got <- "placed " + e.ID
		return nil
	})
	stream.AddConsumer(fns, "cancelled", func(_ context.Context, e OrderCancelled) error {
		got <- "cancelled " + e.ID + ": " + e.Reason
		return nil
	})
	byType := map[string]string{"OrderPlaced": "placed", "OrderCancelled": "cancelled"}
	route := func(_ context.Context, m stream.Message[[]byte]) (string, error) {
		if name, ok := byType[m.Headers.Get("eventType")]; ok {
			return name, nil
		}
		// An event type nobody handles fails at once, not retried:
		// dead-lettered where the binding has a DLQ (consumer.dlq),
		// dropped (and logged) here.
		return "", stream.Permanent(fmt.Errorf("unknown eventType %q", m.Headers.Get("eventType")))
	}
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Routing: stream.RoutingConfig{Enabled: true}},
		OutputBindings: "orders",
		Bindings: map[string]stream.BindingConfig{
			"orders":              {Destination: "order-events"},
			"functionRouter-in-0": {Destination: "order-events", Group: "orders"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New),
		stream.WithRoutingCallback(route), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- app.Run(ctx) }()
	<-app.Ready()

	_ = app.Bridge().Send(ctx, "orders", stream.NewMessage(OrderPlaced{ID: "o-1"}, "eventType", "OrderPlaced"))
	fmt.Println(<-got)
	_ = app.Bridge().Send(ctx, "orders", stream.NewMessage(OrderCancelled{ID: "o-1", Reason: "out of stock"}, "eventType", "OrderCancelled"))
	fmt.Println(<-got)
	cancel()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// placed o-1
	// cancelled o-1: out of stock
	// stopped: <nil>
}
