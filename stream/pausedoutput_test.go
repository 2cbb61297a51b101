package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestSendThroughPausedOutputNamesTheState: a send through a paused output
// binding fails with ErrBindingStopped, and its text says PAUSED — it said
// "binding is stopped" alone, which sent an operator looking for a stop
// nobody made (new-user trial: a function's input retried for a paused
// output).
func TestSendThroughPausedOutputNamesTheState(t *testing.T) {
	cfg := &stream.Config{OutputBindings: "out",
		Bindings: map[string]stream.BindingConfig{"out": {Destination: "d"}}}
	r := start(t, cfg, stream.NewCatalog())
	defer r.stop()
	b := r.app.Binding("out")
	ctx := context.Background()
	for _, c := range []struct {
		change func(context.Context) error
		state  string
	}{{b.Pause, "PAUSED"}, {b.Stop, "STOPPED"}} {
		if err := c.change(ctx); err != nil {
			t.Fatal(err)
		}
		err := r.app.Bridge().Send(ctx, "out", "x")
		if !errors.Is(err, stream.ErrBindingStopped) || !strings.Contains(err.Error(), "binding out is "+c.state) {
			t.Errorf("send through a %s output: %v, want ErrBindingStopped naming the state", c.state, err)
		}
	}
}
