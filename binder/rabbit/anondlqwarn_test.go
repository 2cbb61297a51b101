package rabbit

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestAnonymousDLQWarningSaysDLX: the app's start-up WARN of consumer.dlq
// on a binding without a group, on RabbitMQ, says that the failed
// messages go to the DLX (republished by the binder since 25b280d, or
// dead-lettered by the broker), as the anonymous queue has SCSt's
// x-dead-letter-* arguments since 2a5d5e5; it said they were dropped, not
// dead-lettered.
func TestAnonymousDLQWarningSaysDLX(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	var buf syncbuf.Buffer
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "rabbit",
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: Type, Environment: map[string]any{
			"addresses": rabbittest.Address(), "virtual-host": vhost, "reconnect-initial-interval": "50ms"}}},
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: uniqueDest(t, "anonwarn"), Consumer: stream.ConsumerConfig{DLQ: true}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	stop := bindertest.RunApp(t, app)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var warned []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "consumer.dlq on a binding without a group") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || strings.Contains(warned[0], "dropped, not dead-lettered") || !strings.Contains(warned[0], "a failed message goes to the DLX") {
		t.Errorf("want one WARN saying the failed messages go to the DLX, got %q", warned)
	}
}
