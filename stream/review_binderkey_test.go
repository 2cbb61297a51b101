package stream_test

import (
	"context"
	"errors"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// A dead-letter reader that names no binder takes its source's binder
// (resolveDeadLetterSources sets it in the configuration NewApp goes on
// with). With two binders declared and no default, its binder key is then
// its own, not stream.default-binder: NewApp accepts it.
func TestReviewDeadLetterReaderTakesSourceBinderWithoutDefault(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, string) error { return errors.New("no") })
	stream.AddConsumer(fns, "audit", func(context.Context, stream.Message[[]byte]) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "work;audit"},
		Binders: map[string]stream.BinderConfig{
			"m1": {Type: memory.Type},
			"m2": {Type: memory.Type},
		},
		Bindings: map[string]stream.BindingConfig{
			"work-in-0":  {Destination: "work", Group: "g", Binder: "m1", Consumer: stream.ConsumerConfig{DLQ: true}},
			"audit-in-0": {Group: "reader", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	if b := app.Binding("audit-in-0"); b == nil || b.Binder() != "m1" {
		t.Fatalf("audit-in-0's binder: %v", b)
	}
}
