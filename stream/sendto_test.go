package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A function's output with the spring.cloud.stream.sendto.destination
// header goes where it names, as in SCSt (routing FROM a function): an
// output binding, another function's input binding (its destination), or
// a destination bound on first use; without the header, to the output
// binding. The header is not sent on. A destination the allow-list
// refuses dead-letters the input at once.
func TestSendToDestinationHeader(t *testing.T) {
	type Event struct {
		ID, To string
	}
	got := map[string]chan stream.Message[Event]{"audit": make(chan stream.Message[Event], 4), "urgent": make(chan stream.Message[Event], 4), "default": make(chan stream.Message[Event], 4), "dlq": make(chan stream.Message[Event], 4)}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "dispatch", func(_ context.Context, e Event) (stream.Message[Event], error) {
		m := stream.NewMessage(e)
		if e.To != "" {
			m.Headers = m.Headers.With(stream.HeaderSendToDestination, e.To)
		}
		return m, nil
	})
	for name, ch := range got {
		stream.AddConsumer(fns, name, func(_ context.Context, m stream.Message[Event]) error { ch <- m; return nil })
	}
	// A source's output too.
	emitted := make(chan stream.Message[Event], 1)
	stream.AddSource(fns, "emitter", stream.FromChannel(emitted))
	cc := fastRetry(3)
	cc.DLQ = true
	cfg := &stream.Config{
		Function:            stream.FunctionConfig{Definition: "dispatch;audit;urgent;default;dlq;emitter"},
		OutputBindings:      "events;auditOut",
		DynamicDestinations: []string{"urgent-events"},
		Bindings: map[string]stream.BindingConfig{
			"events":         {Destination: "events"},
			"auditOut":       {Destination: "audit-log"},
			"dispatch-in-0":  {Destination: "events", Group: "dispatch", Consumer: cc},
			"dispatch-out-0": {Destination: "dispatched"},
			"default-in-0":   {Destination: "dispatched", Group: "g"},
			"audit-in-0":     {Destination: "audit-log", Group: "g"},
			"urgent-in-0":    {Destination: "urgent-events", Group: "g"},
			"dlq-in-0":       {Destination: stream.DLQName("events", "dispatch"), Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	ctx := context.Background()
	send := func(e Event) {
		t.Helper()
		if err := r.app.Bridge().Send(ctx, "events", e); err != nil {
			t.Fatal(err)
		}
	}
	check := func(ch string, id string) {
		t.Helper()
		m := recv(t, got[ch])
		if m.Payload.ID != id {
			t.Fatalf("%s got %+v, want %s", ch, m.Payload, id)
		}
		if _, ok := m.Headers[stream.HeaderSendToDestination]; ok {
			t.Fatalf("%s: the header was sent on: %v", ch, m.Headers)
		}
	}
	send(Event{ID: "1"})
	check("default", "1")
	send(Event{ID: "2", To: "auditOut"}) // an output binding
	check("audit", "2")
	send(Event{ID: "3", To: "audit-in-0"}) // an input binding: its destination
	check("audit", "3")
	send(Event{ID: "4", To: "urgent-events"}) // a destination the allow-list has
	check("urgent", "4")
	send(Event{ID: "5", To: "elsewhere"}) // refused: dead-lettered at once
	d := recv(t, got["dlq"])
	if d.Payload.ID != "5" || !strings.Contains(d.Headers[stream.HeaderExceptionMessage], `header spring.cloud.stream.sendto.destination "elsewhere"`) {
		t.Fatalf("dead letter %+v", d)
	}
	emitted <- stream.NewMessage(Event{ID: "6"}, stream.HeaderSendToDestination, "urgent-events")
	check("urgent", "6")
	waitStats(t, r, "dispatch-in-0", func(s stream.BindingStats) bool { return s.Retried == 0 && s.DeadLettered == 1 && s.Processed == 4 })
	for ch, c := range got {
		if len(c) > 0 {
			t.Fatalf("%s got more: %+v", ch, <-c)
		}
	}
}
