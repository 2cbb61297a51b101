package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// When a part's output does not convert to the next part's input, the
// error (a dead letter's x-exception-message) says so, naming the parts and
// types, rather than only "cannot decode application/json" as if the input
// message were malformed; it stays permanent.
func TestCompositionMismatchNamesTheParts(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "count", func(_ context.Context, o Order) (int, error) { return 42, nil })
	stream.AddFunction(fns, "ship", func(_ context.Context, o Order) (Order, error) { return o, nil })
	failed := make(chan stream.FailedMessage, 1)
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "count|ship"},
		OutputBindings: "raw",
		Bindings: map[string]stream.BindingConfig{
			"raw":             {Destination: "raw", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"count|ship-in-0": {Destination: "raw", Group: "g", Consumer: stream.ConsumerConfig{MaxAttempts: 3}},
		},
	}
	r := start(t, cfg, fns, stream.WithErrorHandler("count|ship-in-0", func(_ context.Context, fm stream.FailedMessage) { failed <- fm }))
	if err := r.app.Bridge().Send(context.Background(), "raw", Order{OrderID: "a"}); err != nil {
		t.Fatal(err)
	}
	fm := recv(t, failed)
	want := "composition count|ship: the output of count (int) does not convert to the input of ship (stream_test.Order): "
	if !strings.HasPrefix(fm.Err.Error(), want) {
		t.Fatalf("got %q, want it to begin with %q", fm.Err, want)
	}
	if fm.Attempts != 1 {
		t.Fatalf("a mismatch cannot be fixed by retrying; %d attempts", fm.Attempts)
	}
}
