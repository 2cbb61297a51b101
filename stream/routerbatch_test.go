package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// batch-mode on functionRouter-in-0 is refused with the reason, not with
// "function "functionRouter" does not take a slice (got []uint8)", which
// asks the user to change a function that is the framework's.
func TestRouterBatchModeRefusedWithReason(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "audit", func(context.Context, []Order) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "functionRouter"},
		Bindings: map[string]stream.BindingConfig{
			"functionRouter-in-0": {Destination: "in", Group: "g", Consumer: stream.ConsumerConfig{BatchMode: true}},
		},
	}
	_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err == nil || !strings.Contains(err.Error(), "functionRouter routes one message at a time: batch mode is not supported") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "[]uint8") {
		t.Fatalf("the error names the router's internal type: %v", err)
	}
}
