package stream_test

// Adversarial tests of routing FROM a function (the
// spring.cloud.stream.sendto.destination header, b9a0ec1), on the
// in-process binder.

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// The header names an output binding that is partitioned by the payload
// (partition-key-expression payload.id) while the function's own output
// binding is not. The routed message must be partitioned by its payload,
// as a send to that binding is. Before the fix the partition key's value
// was not given to it (runtime.go passed value only when rt.out is
// partitioned): the key expression saw a nil payload and the input was
// dead-lettered as a permanent failure.
func TestBreakSendToPartitionedOutputBinding(t *testing.T) {
	type Event struct {
		ID string `json:"id"`
	}
	got := make(chan stream.Message[Event], 4)
	dlq := make(chan stream.Message[Event], 4)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "dispatch", func(_ context.Context, e Event) (stream.Message[Event], error) {
		return stream.NewMessage(e, stream.HeaderSendToDestination, "keyed"), nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Event]) error { got <- m; return nil })
	stream.AddConsumer(fns, "dead", func(_ context.Context, m stream.Message[Event]) error { dlq <- m; return nil })
	cc := fastRetry(2)
	cc.DLQ = true
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "dispatch;sink;dead"},
		OutputBindings: "keyed",
		Bindings: map[string]stream.BindingConfig{
			"keyed":          {Destination: "keyed", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.id", PartitionCount: 2}},
			"dispatch-in-0":  {Destination: "events", Group: "dispatch", Consumer: cc},
			"dispatch-out-0": {Destination: "dispatched"},
			"sink-in-0":      {Destination: "keyed", Group: "g"},
			"dead-in-0":      {Destination: stream.DLQName("events", "dispatch"), Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	// The binding itself partitions such a payload (control).
	if err := r.app.Bridge().Send(context.Background(), "keyed", Event{ID: "direct"}); err != nil {
		t.Fatalf("bridge send to the partitioned binding: %v", err)
	}
	if m := recv(t, got); m.Payload.ID != "direct" {
		t.Fatalf("got %+v", m)
	}
	if err := r.app.Bridge().Send(context.Background(), "events", Event{ID: "routed"}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Payload.ID != "routed" || m.Headers[stream.HeaderPartition] == "" {
			t.Fatalf("routed message %+v", m)
		}
	case d := <-dlq:
		t.Fatalf("routed to a partitioned output binding: dead-lettered instead of sent: %s", d.Headers[stream.HeaderExceptionMessage])
	case <-time.After(wait):
		t.Fatal("routed message neither sent nor dead-lettered")
	}
}

// The same from a source: a supplier's value routed to a partitioned
// binding is partitioned by its payload (before the fix emitValue passed
// no value when its own output is not partitioned, and the emit failed).
func TestBreakSendToPartitionedFromSource(t *testing.T) {
	type Event struct {
		ID string `json:"id"`
	}
	got := make(chan stream.Message[Event], 4)
	emitted := make(chan stream.Message[Event], 1)
	emitErr := make(chan error, 1)
	fns := stream.NewCatalog()
	stream.AddSource(fns, "emitter", func(ctx context.Context, emit stream.Emitter[stream.Message[Event]]) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case m := <-emitted:
				if err := emit(ctx, m); err != nil {
					emitErr <- err
				}
			}
		}
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Event]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "emitter;sink"},
		OutputBindings: "keyed",
		Bindings: map[string]stream.BindingConfig{
			"keyed":         {Destination: "keyed", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.id", PartitionCount: 2}},
			"emitter-out-0": {Destination: "emitted"},
			"sink-in-0":     {Destination: "keyed", Group: "g"},
		},
	}
	start(t, cfg, fns)
	emitted <- stream.NewMessage(Event{ID: "s1"}, stream.HeaderSendToDestination, "keyed")
	select {
	case m := <-got:
		if m.Payload.ID != "s1" {
			t.Fatalf("got %+v", m)
		}
	case err := <-emitErr:
		t.Fatalf("emit routed to a partitioned binding: %v", err)
	case <-time.After(wait):
		t.Fatal("routed value neither sent nor failed")
	}
}

// The header names an input binding of another binder (a multi-binder
// app): the message goes to its destination on the binder that binding
// reads from (SCSt's StreamBridge binds a binding name with that binding's
// binder). Before the fix it was bound on the default binder, where no one
// read it: lost, with the input acknowledged.
func TestBreakSendToInputBindingOfOtherBinder(t *testing.T) {
	got := make(chan string, 4)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "dispatch", func(_ context.Context, s string) (stream.Message[string], error) {
		return stream.NewMessage(s, stream.HeaderSendToDestination, "enrich-in-0"), nil
	})
	stream.AddConsumer(fns, "enrich", func(_ context.Context, s string) error { got <- s; return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "dispatch;enrich"},
		DefaultBinder: "a",
		Binders: map[string]stream.BinderConfig{
			"a": {Type: "memory"},
			"b": {Type: "memory"},
		},
		Bindings: map[string]stream.BindingConfig{
			"dispatch-in-0":  {Destination: "events", Group: "g"},
			"dispatch-out-0": {Destination: "dispatched"},
			"enrich-in-0":    {Destination: "enrich", Group: "g", Binder: "b"},
		},
	}
	r := start(t, cfg, fns)
	// Control: the input goes through the function's binder a.
	if err := r.app.Bridge().Send(context.Background(), "events", "hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "hello" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(2 * time.Second):
		var where []string
		for _, b := range r.app.Bridge().Bindings() {
			where = append(where, b.Name()+"@"+b.Binder())
		}
		t.Fatalf("routed to enrich-in-0 (binder b): never arrived; the bridge bound %v", where)
	}
}

// A message that arrives with the header — sent on by an SCSt app that
// routed it (SCSt does not strip it), or by this app's own Bridge().Send
// of a Message carrying it, which sends it on as is — and a function that
// returns a payload: its output inherits the input's headers but not that
// one, so it goes to the function's output binding, not where the upstream
// app meant its own output to go (SCSt issue #2178, fixed in Spring Cloud
// Function by not copying the header to the output). Before the fix it was
// inherited and routed again (here: a loop).
func TestBreakSendToHeaderInheritedByPayloadOutput(t *testing.T) {
	transformed := make(chan string, 4)
	misrouted := make(chan string, 4)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "transform", func(_ context.Context, s string) (string, error) { return s + "!", nil })
	stream.AddConsumer(fns, "next", func(_ context.Context, s string) error { transformed <- s; return nil })
	stream.AddConsumer(fns, "upstreamTarget", func(_ context.Context, s string) error { misrouted <- s; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "transform;next;upstreamTarget"},
		Bindings: map[string]stream.BindingConfig{
			"transform-in-0":      {Destination: "split", Group: "g"},
			"transform-out-0":     {Destination: "transformed"},
			"next-in-0":           {Destination: "transformed", Group: "g"},
			"upstreamTarget-in-0": {Destination: "split", Group: "other"}, // what the upstream routed to
		},
	}
	r := start(t, cfg, fns)
	// As an upstream SCSt app's routed record arrives: with the header
	// naming the destination it was routed to.
	if err := r.app.Bridge().Send(context.Background(), "split", stream.NewMessage("m", stream.HeaderSendToDestination, "split")); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, misrouted); s != "m" { // the upstream's own delivery
		t.Fatalf("got %q", s)
	}
	select {
	case s := <-transformed:
		if s != "m!" {
			t.Fatalf("got %q", s)
		}
	case s := <-misrouted:
		t.Fatalf("transform's payload output %q inherited the input's %s header and was routed back to split instead of to transform-out-0", s, stream.HeaderSendToDestination)
	case <-time.After(wait):
		t.Fatal("transform's output went nowhere")
	}
}

// A header whose value is blank ("   ") routes nowhere — the output goes
// to the output binding — and the header is not sent on with it (before
// the fix it was).
func TestBreakSendToBlankHeaderSentOn(t *testing.T) {
	got := make(chan stream.Message[string], 4)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "f", func(_ context.Context, s string) (stream.Message[string], error) {
		return stream.NewMessage(s, stream.HeaderSendToDestination, "   "), nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[string]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "f;sink"},
		Bindings: map[string]stream.BindingConfig{
			"f-in-0":    {Destination: "in", Group: "g"},
			"f-out-0":   {Destination: "main"},
			"sink-in-0": {Destination: "main", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "in", "x"); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if v, ok := m.Headers[stream.HeaderSendToDestination]; ok {
		t.Fatalf("the blank %s header was sent on: %q", stream.HeaderSendToDestination, v)
	}
}
