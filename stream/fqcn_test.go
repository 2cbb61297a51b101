package stream_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

var errStateFQCN = errors.New("illegal state")

type declined struct{ code string }

func (d *declined) Error() string { return "declined " + d.code }

// x-exception-fqcn of a dead letter is the registered name of the error
// that failed it (WithNamedError, WithNamedErrorAs), as SCSt's Java class
// name; an error registered under no name keeps its Go type.
func TestDeadLetterFQCNIsRegisteredName(t *testing.T) {
	broker := newBroker(t)
	dlq := tap(t, broker, stream.DLQName("a", "g"))
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, s string) error {
		switch s {
		case "state":
			return fmt.Errorf("work: %w", errStateFQCN)
		case "declined":
			return fmt.Errorf("charge: %w", &declined{"51"})
		}
		return errors.New("other")
	})
	cfg := &stream.Config{
		OutputBindings: "in",
		Function:       stream.FunctionConfig{Definition: "work"},
		Bindings: map[string]stream.BindingConfig{
			"in":        {Destination: "a"},
			"work-in-0": {Destination: "a", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.Factory(broker)), stream.WithoutSignals(),
		stream.WithLogger(discardLogger()),
		stream.WithNamedError("java.lang.IllegalStateException", errStateFQCN),
		stream.WithNamedErrorAs[*declined]("com.acme.CardDeclinedException"))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	for _, tc := range []struct{ payload, fqcn, stack string }{
		{"state", "java.lang.IllegalStateException", "*fmt.wrapError: work\n*errors.errorString: illegal state"},
		{"declined", "com.acme.CardDeclinedException", "*fmt.wrapError: charge\n*stream_test.declined: declined 51"},
		{"other", "*errors.errorString", "*errors.errorString: other"},
	} {
		if err := r.app.Bridge().Send(context.Background(), "in", tc.payload); err != nil {
			t.Fatal(err)
		}
		m := recv(t, dlq)
		if got := m.Headers[stream.HeaderExceptionFQCN]; got != tc.fqcn {
			t.Errorf("%s: x-exception-fqcn %q, want %q", tc.payload, got, tc.fqcn)
		}
		if got := m.Headers[stream.HeaderExceptionStacktrace]; got != tc.stack {
			t.Errorf("%s: x-exception-stacktrace %q, want %q", tc.payload, got, tc.stack)
		}
	}
}
