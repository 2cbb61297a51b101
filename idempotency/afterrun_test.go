package idempotency_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// New on an app that already runs fails, as outbox.New does, whether or
// not a binding sets consumer.idempotency. Before, an app none of whose
// bindings set it (the only kind streamtest.Start could start) got a
// Consumer that installed nothing, and no error.
func TestNewAfterRunFails(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "ship", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "ship"},
		Bindings: map[string]stream.BindingConfig{"ship-in-0": {Destination: "orders", Group: "shipping"}},
	}
	env := streamtest.Start(t, cfg, fns)
	c, err := idempotency.New(env.App, idempotency.Config{}, idempotency.Options{})
	if err == nil || !strings.Contains(err.Error(), "idempotency: New: the app already runs") {
		t.Fatalf("New on a running app: %v, %v", c, err)
	}
}
