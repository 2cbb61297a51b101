package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// Non-blocking retries: with consumer.retry-delays a failed message is
// parked for the next delay and delivered again, while the messages behind
// it are handled at once (docs/retries.md).
func Example_retryDelays() {
	handled := make(chan string, 3)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "charge", func(_ context.Context, m stream.Message[string]) error {
		attempt := m.Headers[stream.HeaderRetryAttempts]
		if m.Payload == "flaky" && attempt == "" {
			return errors.New("payment service unavailable")
		}
		handled <- fmt.Sprintf("%s (failed deliveries before: %q)", m.Payload, attempt)
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "charge"},
		OutputBindings: "orders-out",
		Bindings: map[string]stream.BindingConfig{
			"orders-out": {Destination: "orders", ContentType: "text/plain"},
			"charge-in-0": {Destination: "orders", Group: "billing", ContentType: "text/plain",
				Consumer: stream.ConsumerConfig{DLQ: true, RetryDelays: []time.Duration{50 * time.Millisecond, time.Second}}},
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
	_ = app.Bridge().Send(ctx, "orders-out", "flaky")
	_ = app.Bridge().Send(ctx, "orders-out", "fine")
	fmt.Println(<-handled)
	fmt.Println(<-handled)
	cancel()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// fine (failed deliveries before: "")
	// flaky (failed deliveries before: "1")
	// stopped: <nil>
}
