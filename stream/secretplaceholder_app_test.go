package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// TestNewAppHidesSecretPlaceholderValues: a binder's check in NewApp of a
// value that a placeholder naming a secret filled in does not show the
// value (config.Load's own problems already hid it; NewApp's binder
// checks showed it: got "tok-abc"; config breaker trial).
func TestNewAppHidesSecretPlaceholderValues(t *testing.T) {
	yaml := `stream:
  function.definition: process
  default-binder: rabbit
  bindings.process-in-0: {destination: orders, group: g}
  rabbit.bindings.process-in-0.consumer.prefetch: ${API_TOKEN}
`
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{"API_TOKEN=tok-abc-123"}})
	if err != nil {
		t.Fatal(err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "process", func(_ context.Context, s string) error { return nil })
	_, err = stream.NewApp(l.Stream, fns, stream.WithBinderType(rabbit.Type, rabbit.New))
	if err == nil || !strings.Contains(err.Error(), "prefetch") {
		t.Fatalf("NewApp: %v; want the prefetch problem", err)
	}
	if strings.Contains(err.Error(), "tok-abc-123") {
		t.Fatalf("NewApp's error shows the secret: %v", err)
	}
}
