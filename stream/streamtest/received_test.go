package streamtest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// A function that reads how its input was received can be tested with the
// kit: Send delivers a plain value with the binding's first destination
// (and the in-process binder's offset and time); a stream.Message's
// Received picks another of the binding's destinations and gives what
// another binder would tell (a RabbitMQ routing key), as a
// routing-expression sees it too. A destination the binding does not
// list is an error.
func TestReceivedThroughTheHarness(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "where", func(_ context.Context, m stream.Message[string]) (string, error) {
		r := m.Received
		if !r.HasOffset || r.Timestamp.IsZero() {
			return "", stream.Permanent(errors.New("no offset or timestamp"))
		}
		return m.Payload + " from " + r.Destination + " key " + r.RoutingKey, nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "where"},
		Bindings: map[string]stream.BindingConfig{
			"where-in-0":  {Destination: "orders,returns", Group: "g"},
			"where-out-0": {Destination: "out"},
		},
	}
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "where-in-0", "a")
	if got := streamtest.Receive[string](t, env, "where-out-0").Payload; got != "a from orders key " {
		t.Errorf("output %q, want the first destination's", got)
	}
	env.Send(t, "where-in-0", stream.Message[string]{Payload: "b", Received: stream.Received{Destination: "returns", RoutingKey: "eu.returns"}})
	if got := streamtest.Receive[string](t, env, "where-out-0").Payload; got != "b from returns key eu.returns" {
		t.Errorf("output %q, want the given destination and routing key", got)
	}
	err := env.SendEnvelope("where-in-0", stream.Envelope{Payload: []byte(`"c"`), Received: stream.Received{Destination: "elsewhere"}})
	if err == nil || !strings.Contains(err.Error(), `"elsewhere" (Received.Destination) is not a destination of input binding where-in-0`) {
		t.Errorf("send to a destination the binding does not list: %v", err)
	}
}
