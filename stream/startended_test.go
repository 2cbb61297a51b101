package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A binding's Start with an ended context (a start-up that was cancelled)
// reports the context and starts nothing; it reported "another state
// change is in progress" when none was half of the time (the free lock
// lost a select against the ended context).
func TestBindingStartWithEndedContext(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, []byte) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "work"},
		Bindings: map[string]stream.BindingConfig{"work-in-0": {Destination: "work", Group: "g"}},
	}
	r := start(t, cfg, fns)
	b := r.app.Binding("work-in-0")
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for range 50 {
		if err := b.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		err := b.Start(ended)
		if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "another state change") {
			t.Fatalf("Start with an ended context: %v", err)
		}
		if s := b.State(); s != stream.StateStopped {
			t.Fatalf("state after a Start with an ended context: %v", s)
		}
	}
}
