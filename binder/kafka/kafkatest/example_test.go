package kafkatest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// A service tested on Kafka from Go: an in-process cluster (in a test,
// kafkatest.Start(t), closed when the test ends), the service's
// configuration with the cluster's address, the app run with the Kafka
// binder, a message sent through the bridge and its output read by a
// consumer function of the test's own.
func Example() {
	c, err := kafkatest.New()
	if err != nil {
		panic(err)
	}
	defer c.Close()

	loaded, err := config.Load(config.Options{Data: []byte(`
stream:
  default-binder: kafka
  kafka:
    binder:
      brokers: ${KAFKA_BROKERS}
  function:
    definition: upper;check
  output-bindings: orders
  bindings:
    orders:
      destination: orders
    upper-in-0:
      destination: orders
      group: service
    upper-out-0:
      destination: shouted
    check-in-0:
      destination: shouted
      group: test
`), Env: []string{"KAFKA_BROKERS=" + c.Brokers()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "upper", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	got := make(chan string, 1)
	stream.AddConsumer(fns, "check", func(_ context.Context, s string) error { got <- s; return nil })
	app, err := stream.NewApp(loaded.Stream, fns, stream.WithBinderType(kafka.Type, kafka.New),
		stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			panic(err)
		}
	}()
	select {
	case <-app.Ready():
	case err := <-done:
		panic(err)
	}
	if err := app.Bridge().Send(ctx, "orders", "hello"); err != nil {
		panic(err)
	}
	select {
	case s := <-got:
		fmt.Println(s)
	case <-time.After(30 * time.Second):
		fmt.Println("no output")
	}
	// Output: HELLO
}
