package conf_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// TestAnonymousDLQRefused: on NATS and Redis, which name their dead
// letters after the group as Kafka does, dlq on a consumer binding without
// a group is refused at start-up as the Kafka binder refuses it (SCSt's
// "DLQ support is not available for anonymous subscriptions"; Kafka's own
// test is binder/kafka's), naming the binding and the key with its
// file:line: the binders dropped the setting with a DEBUG line (the
// binding's failed messages were dropped). A binding with a group starts.
func TestAnonymousDLQRefused(t *testing.T) {
	for _, tc := range []struct {
		typ, server string
		factory     stream.BinderFactory
	}{
		{nats.Type, "nats.binder.servers: nats://127.0.0.1:1", nats.New},
		{redis.Type, "redis.binder.url: redis://127.0.0.1:1", redis.New},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			yaml := "spring.cloud.function.definition: sink\n" +
				"spring.cloud.stream.default-binder: " + tc.typ + "\n" +
				"spring.cloud.stream." + tc.server + "\n" +
				"spring.cloud.stream.bindings.sink-in-0.destination: orders\n" +
				"spring.cloud.stream.bindings.sink-in-0.consumer.dlq: true\n"
			newApp := func(yaml string) error {
				l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				fns := stream.NewCatalog()
				stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
				_, err = stream.NewApp(l.Stream, fns, stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)),
					stream.WithBinderType(tc.typ, tc.factory))
				return err
			}
			err := newApp(yaml)
			var es stream.ConfigErrors
			if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "stream.bindings.sink-in-0.consumer.dlq" || es[0].Origin != "application.yaml:5" ||
				!strings.Contains(es[0].Msg, "DLQ support is not available for anonymous subscriptions") {
				t.Fatalf("NewApp: %v, want one problem at stream.bindings.sink-in-0.consumer.dlq (application.yaml:5)", err)
			}
			if err := newApp(yaml + "spring.cloud.stream.bindings.sink-in-0.group: g\n"); err != nil {
				t.Fatalf("NewApp with a group: %v", err)
			}
		})
	}
}
