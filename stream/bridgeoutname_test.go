package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A configured binding named like a function's output (output-out-0) that
// no bound function has is the send bridge's, as in SCSt's kafka-batch
// sample, whose one Consumer bean sends to output-out-0 with StreamBridge:
// start-up logs it at INFO (bound at the first send), not the WARN
// "its settings are unused", and the send uses its destination. Before,
// only names unlike <fn>-in-<n> and <fn>-out-<n> counted as the bridge's.
func TestBridgeOutputNamedLikeAFunction(t *testing.T) {
	cfg := loadYAML(t, `spring:
  cloud:
    stream:
      bindings:
        consumer-in-0:
          destination: batch-in
          group: batch-in
        output-out-0:
          destination: batch-out
`)
	broker := newBroker(t)
	out := tap(t, broker, "batch-out")
	var logged syncbuf.Buffer
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "consumer", func(context.Context, string) error { return nil })
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("memory", memory.Factory(broker)),
		stream.WithoutSignals(), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	defer func() { _ = r.stop() }()
	// What the sample's consumer does with each record.
	if err := app.Bridge().Send(context.Background(), "output-out-0", "TEST0"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, out); string(m.Payload) != "TEST0" {
		t.Errorf("batch-out got %s", m.Payload)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	log := logged.String()
	if strings.Contains(log, "its settings are unused") ||
		!strings.Contains(log, `level=INFO msg="configured binding not bound at start-up: the send bridge binds it at its first send to it" property=stream.bindings.output-out-0`) {
		t.Errorf("log:\n%s", log)
	}
}

// TestBridgeOutputBesideBareFunctionOutput: a configured output binding of
// no bound function (producer-out-0) beside a bound function output of the
// same index that has no settings at all (generate-out-0, sending to a
// destination named generate-out-0) is most likely that function's
// settings under another name — a renamed function, a definition naming
// another function than the file was written for — and is a WARN naming
// the bare output. 1c71402 made it the send bridge's INFO, as it was
// before only for a name unlike a function's binding, so such a mistake
// went unreported (lint too). When the function's output has settings of
// its own, the other output is the bridge's (INFO), as in SCSt's samples.
func TestBridgeOutputBesideBareFunctionOutput(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		warn       bool
	}{
		{"bare", `spring:
  cloud:
    function:
      definition: generate
    stream:
      bindings:
        producer-out-0:
          destination: orders
`, true},
		{"configured", `spring:
  cloud:
    function:
      definition: generate
    stream:
      bindings:
        generate-out-0:
          destination: generated
        producer-out-0:
          destination: orders
`, false},
		{"other index", `spring:
  cloud:
    function:
      definition: generate
    stream:
      bindings:
        producer-out-1:
          destination: orders
`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logged syncbuf.Buffer
			fns := stream.NewCatalog()
			stream.AddSupplier(fns, "generate", func(context.Context) (string, error) { return "x", nil })
			_, err := stream.NewApp(loadYAML(t, c.yaml), fns, stream.WithBinderType("memory", memory.Factory(newBroker(t))),
				stream.WithoutSignals(), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
			if err != nil {
				t.Fatal(err)
			}
			log := logged.String()
			warned := strings.Contains(log, `level=WARN msg="configured binding not bound: no bound function or output binding has this name, and a bound function output of its index has no settings`) &&
				strings.Contains(log, "unconfigured_bound_output=generate-out-0")
			info := strings.Contains(log, `level=INFO msg="configured binding not bound at start-up: the send bridge binds it at its first send to it"`)
			if warned != c.warn || info == c.warn {
				t.Errorf("warned %v, info %v; want a WARN %v. log:\n%s", warned, info, c.warn, log)
			}
		})
	}
}

// TestBridgeOutputOfUnlistedFunction: a configured output binding named
// after a registered function that the definition leaves out
// (generate-out-0 of a Supplier generate, definition: enrich) is a WARN
// naming the function: the supplier was most likely forgotten in the
// definition, and its settings are not the send bridge's. 1c71402 made it
// the bridge's INFO, so the forgotten supplier went unreported. A binding
// named after a bound consumer's output is not said to be of an unbound
// function.
func TestBridgeOutputOfUnlistedFunction(t *testing.T) {
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"unlisted", `spring:
  cloud:
    function:
      definition: enrich
    stream:
      bindings:
        enrich-in-0: {destination: in, group: g}
        enrich-out-0: {destination: enriched}
        generate-out-0: {destination: generated}
`, `level=WARN msg="configured binding not bound: it is named like an output of a registered function that is not bound (not in stream.function.definition); unless the send bridge sends to this binding, its settings are unused" property=stream.bindings.generate-out-0`},
		{"bound consumer", `spring:
  cloud:
    function:
      definition: enrich;generate;sink
    stream:
      bindings:
        enrich-in-0: {destination: in, group: g}
        enrich-out-0: {destination: enriched}
        generate-out-0: {destination: generated}
        sink-in-0: {destination: generated, group: g}
        sink-out-0: {destination: other}
`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logged syncbuf.Buffer
			fns := stream.NewCatalog()
			stream.AddFunction(fns, "enrich", func(_ context.Context, s string) (string, error) { return s, nil })
			stream.AddSupplier(fns, "generate", func(context.Context) (string, error) { return "x", stream.Skip })
			stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
			_, err := stream.NewApp(loadYAML(t, c.yaml), fns, stream.WithBinderType("memory", memory.Factory(newBroker(t))),
				stream.WithoutSignals(), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
			if err != nil {
				t.Fatal(err)
			}
			log := logged.String()
			if c.want == "" && strings.Contains(log, "registered function that is not bound") || !strings.Contains(log, c.want) {
				t.Errorf("log:\n%s\nwant %q", log, c.want)
			}
		})
	}
}
