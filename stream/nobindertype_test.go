package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestNoBinderTypeRegisteredSaysHow: an App built without
// stream.WithBinderType, whose configuration names the in-process binder,
// fails saying that no binder type is registered and how to register one
// (the message ended in an empty "()").
func TestNoBinderTypeRegisteredSaysHow(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "audit", func(context.Context, string) error { return nil })
	_, err := stream.NewApp(loadYAML(t, `stream:
  function.definition: audit
  default-binder: memory
  bindings:
    audit-in-0: {destination: orders, group: audit}
`), fns)
	if err == nil || strings.Contains(err.Error(), "()") || !strings.Contains(err.Error(), "none is registered: stream.WithBinderType") {
		t.Fatalf("NewApp without binder types: %v", err)
	}
}
