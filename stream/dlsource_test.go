package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// A binding with consumer.dead-letters-of reads the dead letters of the
// binding it names, without naming their destination.
func TestDeadLettersOfReadsTheDeadLetters(t *testing.T) {
	dead := make(chan stream.Message[[]byte], 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, Order) error { return errors.New("refused: no stock") })
	stream.AddConsumer(fns, "audit", func(_ context.Context, m stream.Message[[]byte]) error { dead <- m; return nil })
	cc := fastRetry(1)
	cc.DLQ = true
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work;audit"},
		OutputBindings: "in",
		Bindings: map[string]stream.BindingConfig{
			"work-in-0":  {Destination: "work", Group: "g", Consumer: cc},
			"audit-in-0": {Group: "reader", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
			"in":         {Destination: "work"},
		},
	}
	r := start(t, cfg, fns)
	if d := r.app.Binding("audit-in-0").Destination(); d != stream.DLQName("work", "g") {
		t.Fatalf("audit destination %q, want %q", d, stream.DLQName("work", "g"))
	}
	if err := r.app.Bridge().Send(context.Background(), "in", Order{OrderID: "o-1"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, dead)
	if got := m.Headers[stream.HeaderExceptionMessage]; !strings.Contains(got, "no stock") {
		t.Errorf("dead letter %s = %q", stream.HeaderExceptionMessage, got)
	}
	if cfg.Bindings["audit-in-0"].Destination != "" {
		t.Error("NewApp changed the caller's configuration")
	}
}

// Every misuse of dead-letters-of is a configuration error naming the key.
func TestDeadLettersOfValidation(t *testing.T) {
	dlq := stream.ConsumerConfig{DLQ: true}
	cases := []struct {
		name      string
		bindings  map[string]stream.BindingConfig
		def       stream.BindingConfig
		path, msg string
	}{
		{"unknown binding", map[string]stream.BindingConfig{
			"work-in-0":  {Group: "g", Consumer: dlq},
			"audit-in-0": {Group: "r", Consumer: stream.ConsumerConfig{DeadLettersOf: "nope-in-0"}},
		}, stream.BindingConfig{}, "stream.bindings.audit-in-0.consumer.dead-letters-of", `names no consumer binding of this app: "nope-in-0"`},
		{"output binding named", map[string]stream.BindingConfig{
			"work-in-0":  {Group: "g", Consumer: dlq},
			"audit-in-0": {Group: "r", Consumer: stream.ConsumerConfig{DeadLettersOf: "in"}},
		}, stream.BindingConfig{}, "stream.bindings.audit-in-0.consumer.dead-letters-of", `names no consumer binding`},
		{"no group", map[string]stream.BindingConfig{
			"work-in-0":  {Consumer: dlq},
			"audit-in-0": {Group: "r", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
		}, stream.BindingConfig{}, "stream.bindings.audit-in-0.consumer.dead-letters-of", "has no group"},
		{"no dlq", map[string]stream.BindingConfig{
			"work-in-0":  {Group: "g"},
			"audit-in-0": {Group: "r", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
		}, stream.BindingConfig{}, "stream.bindings.audit-in-0.consumer.dead-letters-of", "does not dead-letter (set stream.bindings.work-in-0.consumer.dlq: true)"},
		{"destination too", map[string]stream.BindingConfig{
			"work-in-0":  {Group: "g", Consumer: dlq},
			"audit-in-0": {Destination: "x", Group: "r", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
		}, stream.BindingConfig{}, "stream.bindings.audit-in-0.destination", "must not be set with consumer.dead-letters-of"},
		{"own", map[string]stream.BindingConfig{
			"work-in-0": {Group: "g", Consumer: stream.ConsumerConfig{DLQ: true, DeadLettersOf: "work-in-0"}},
		}, stream.BindingConfig{}, "stream.bindings.work-in-0.consumer.dead-letters-of", "its own dead letters"},
		{"on an output", map[string]stream.BindingConfig{
			"work-in-0": {Group: "g", Consumer: dlq},
			"in":        {Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
		}, stream.BindingConfig{}, "stream.bindings.in.consumer.dead-letters-of", "only a consumer binding"},
		{"several destinations", map[string]stream.BindingConfig{
			"work-in-0":  {Destination: "a,b", Group: "g", Consumer: dlq},
			"audit-in-0": {Group: "r", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
		}, stream.BindingConfig{}, "stream.bindings.audit-in-0.consumer.dead-letters-of", "reads 2 destinations"},
		{"cycle", map[string]stream.BindingConfig{
			"work-in-0":  {Group: "g", Consumer: stream.ConsumerConfig{DLQ: true, DeadLettersOf: "audit-in-0"}},
			"audit-in-0": {Group: "r", Consumer: stream.ConsumerConfig{DLQ: true, DeadLettersOf: "work-in-0"}},
		}, stream.BindingConfig{}, "stream.bindings.audit-in-0.consumer.dead-letters-of", "names work-in-0, which itself reads dead letters (stream.bindings.work-in-0.consumer.dead-letters-of"},
		{"as a default", map[string]stream.BindingConfig{
			"work-in-0": {Group: "g", Consumer: dlq},
		}, stream.BindingConfig{Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}}, "stream.default.consumer.dead-letters-of", "per binding"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "work", func(context.Context, Order) error { return nil })
			stream.AddConsumer(fns, "audit", func(context.Context, Order) error { return nil })
			cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "work;audit"}, OutputBindings: "in",
				Bindings: c.bindings, Default: c.def}
			_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New))
			var ces stream.ConfigErrors
			if !errors.As(err, &ces) {
				t.Fatalf("NewApp: %v, want configuration errors", err)
			}
			for _, e := range ces {
				if e.Path == c.path && strings.Contains(e.Msg, c.msg) {
					return
				}
			}
			t.Errorf("errors %v; want one at %s saying %q", err, c.path, c.msg)
		})
	}
}

// A binding with consumer.dead-letters-of that this app does not bind
// (the configuration shared by services that each run some of its
// functions, split with stream.function.definition) is no error: it is
// warned about as any other unbound binding. It stopped the app with
// "only a consumer binding reads dead letters".
func TestDeadLettersOfUnboundBindingIsWarned(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, Order) error { return nil })
	stream.AddConsumer(fns, "audit", func(context.Context, Order) error { return nil })
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "work"},
		Bindings: map[string]stream.BindingConfig{
			"work-in-0":  {Group: "g", Consumer: stream.ConsumerConfig{DLQ: true}},
			"audit-in-0": {Group: "r", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
		}}
	var logged strings.Builder
	if _, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil)))); err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	if !strings.Contains(logged.String(), "configured binding not bound") || !strings.Contains(logged.String(), "stream.bindings.audit-in-0") {
		t.Errorf("log %s; want the unbound warning for audit-in-0", logged.String())
	}
}
