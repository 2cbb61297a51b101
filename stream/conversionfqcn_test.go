package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestConversionFailureFQCN: a payload that cannot be decoded into the
// handler's type is dead-lettered with x-exception-fqcn
// *stream.ConversionError, not the converter's own error
// (*errors.errorString, *json.SyntaxError), as SCSt's is
// MessageConversionException, so that a DLQ router keyed on the fqcn
// tells conversion failures from handler errors; its message names the
// binding, the content type and the target type.
func TestConversionFailureFQCN(t *testing.T) {
	broker := newBroker(t)
	dlq := tap(t, broker, stream.DLQName("a", "g"))
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, m map[string]any) error { return nil })
	cfg := &stream.Config{
		OutputBindings: "in",
		Function:       stream.FunctionConfig{Definition: "work"},
		Bindings: map[string]stream.BindingConfig{
			"in":        {Destination: "a"},
			"work-in-0": {Destination: "a", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.Factory(broker)), stream.WithoutSignals(),
		stream.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	for _, tc := range []struct{ ct, payload string }{
		{"application/octet-stream", "\x01\x02"},
		{"application/json", "not json"},
	} {
		m := stream.NewMessage([]byte(tc.payload), stream.HeaderContentType, tc.ct)
		if err := r.app.Bridge().Send(context.Background(), "in", m); err != nil {
			t.Fatal(err)
		}
		dl := recv(t, dlq)
		if got := dl.Headers[stream.HeaderExceptionFQCN]; got != "*stream.ConversionError" {
			t.Errorf("%s: x-exception-fqcn %q, want *stream.ConversionError", tc.ct, got)
		}
		msg := dl.Headers[stream.HeaderExceptionMessage]
		for _, want := range []string{"work-in-0", tc.ct, "map[string]interface {}"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: x-exception-message %q does not name %q", tc.ct, msg, want)
			}
		}
	}
}
