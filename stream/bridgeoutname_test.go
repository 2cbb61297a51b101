package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A configured binding named like a function's output (output-out-0) that
// no bound function has is the send bridge's, as in SCSt's kafka-batch
// sample, whose one Consumer bean sends to output-out-0 with StreamBridge:
// start-up logs it at INFO (bound at the first send), not the WARN
// "its settings are unused", and the send uses its destination. Before,
// only names unlike <fn>-in-<n> and <fn>-out-<n> counted as the bridge's.
func TestBridgeOutputNamedLikeAFunction(t *testing.T) {
	cfg := loadYAML(t, `spring:
  cloud:
    stream:
      bindings:
        consumer-in-0:
          destination: batch-in
          group: batch-in
        output-out-0:
          destination: batch-out
`)
	broker := newBroker(t)
	out := tap(t, broker, "batch-out")
	var logged syncbuf.Buffer
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "consumer", func(context.Context, string) error { return nil })
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("memory", memory.Factory(broker)),
		stream.WithoutSignals(), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	defer func() { _ = r.stop() }()
	// What the sample's consumer does with each record.
	if err := app.Bridge().Send(context.Background(), "output-out-0", "TEST0"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, out); string(m.Payload) != "TEST0" {
		t.Errorf("batch-out got %s", m.Payload)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	log := logged.String()
	if strings.Contains(log, "its settings are unused") ||
		!strings.Contains(log, `level=INFO msg="configured binding not bound at start-up: the send bridge binds it at its first send to it" property=stream.bindings.output-out-0`) {
		t.Errorf("log:\n%s", log)
	}
}
