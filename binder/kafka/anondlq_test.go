package kafka_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// TestAnonymousDLQRefused: enable-dlq on a consumer binding without a
// group is refused at start-up, as SCSt's Kafka binder refuses it ("DLQ
// support is not available for anonymous subscriptions"), naming the
// binding and the key with its file:line: the binder dropped the setting
// with a DEBUG line and the binding's failed messages were dropped. Set
// in stream.default it is reported there; a binding with a group starts.
func TestAnonymousDLQRefused(t *testing.T) {
	const base = `spring.cloud.function.definition: sink
spring.cloud.stream.default-binder: kafka
spring.cloud.stream.kafka.binder.brokers: 127.0.0.1:1
spring.cloud.stream.bindings.sink-in-0.destination: orders
`
	newApp := func(t *testing.T, yaml string) error {
		t.Helper()
		l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
		_, err = stream.NewApp(l.Stream, fns, stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)),
			stream.WithBinderType(kafka.Type, kafka.New))
		return err
	}
	for _, tc := range []struct{ name, yaml, path, origin string }{
		{"enable-dlq", base + "spring.cloud.stream.kafka.bindings.sink-in-0.consumer.enable-dlq: true\n",
			"stream.bindings.sink-in-0.consumer.dlq", "application.yaml:5"},
		{"dlq", base + "spring.cloud.stream.bindings.sink-in-0.consumer.dlq: true\n",
			"stream.bindings.sink-in-0.consumer.dlq", "application.yaml:5"},
		{"default", base + "spring.cloud.stream.default.consumer.dlq: true\n",
			"stream.default.consumer.dlq", "application.yaml:5"},
		{"kafka default", base + "spring.cloud.stream.kafka.default.consumer.enable-dlq: true\n",
			"stream.default.consumer.dlq", "application.yaml:5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newApp(t, tc.yaml)
			var es stream.ConfigErrors
			if !errors.As(err, &es) || len(es) != 1 || es[0].Path != tc.path || es[0].Origin != tc.origin ||
				!strings.Contains(es[0].Msg, "DLQ support is not available for anonymous subscriptions") ||
				!strings.Contains(es[0].Msg, "binding sink-in-0 has no group") {
				t.Fatalf("NewApp: %v, want one problem at %s (%s) naming sink-in-0", err, tc.path, tc.origin)
			}
			if err := newApp(t, tc.yaml+"spring.cloud.stream.bindings.sink-in-0.group: g\n"); err != nil {
				t.Fatalf("NewApp with a group: %v", err)
			}
		})
	}

	// The binder refuses it too when bound directly.
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: kafka.Type, Type: kafka.Type, Binder: map[string]any{"brokers": "127.0.0.1:1"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	_, err = b.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "x-in-0", Destination: "orders",
		Consumer: stream.ConsumerConfig{DLQ: true}, Handler: func(context.Context, stream.Envelope) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "DLQ support is not available for anonymous subscriptions") {
		t.Fatalf("BindConsumer: %v, want the anonymous DLQ refused", err)
	}
}
