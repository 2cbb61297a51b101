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

// A batch-mode function of []byte is told that []byte is one message's
// bytes, not that it "does not take a slice (got []uint8)".
func TestBatchModeOfBytesSaysWhy(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "raw", func(context.Context, []byte) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "raw"},
		Bindings: map[string]stream.BindingConfig{
			"raw-in-0": {Destination: "in", Group: "g", Consumer: stream.ConsumerConfig{BatchMode: true}},
		},
	}
	_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err == nil || !strings.Contains(err.Error(), `function "raw" takes []uint8, one message's bytes; a batch needs a slice of messages ([][]byte`) {
		t.Fatalf("got %v", err)
	}
}

// A function returning a slice of Messages is refused at start-up: it was
// sent as one message holding a JSON array of the Go structs
// ({"Payload":…,"Headers":…}), where SCSt sends each message on its own.
func TestFunctionReturningMessagesIsRefused(t *testing.T) {
	for _, def := range []string{"batch", "each"} {
		fns := stream.NewCatalog()
		stream.AddFunction(fns, "batch", func(_ context.Context, os []Order) ([]stream.Message[Order], error) { return nil, nil })
		stream.AddFunction(fns, "each", func(_ context.Context, o Order) ([]*stream.Message[Order], error) { return nil, nil })
		cfg := &stream.Config{
			Function: stream.FunctionConfig{Definition: def},
			Bindings: map[string]stream.BindingConfig{
				"batch-in-0": {Destination: "in", Group: "g", Consumer: stream.ConsumerConfig{BatchMode: true}},
			},
		}
		_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
		if err == nil || !strings.Contains(err.Error(), "a collection of messages is not sent one by one") {
			t.Fatalf("%s: got %v", def, err)
		}
	}
}
