package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// The binder-specific section of a registered binder type that the
// binding does not use is checked all the same for keys the type does
// not know: an unknown key there fails start-up. The type's rules for
// values are not applied (no binder reads the section, as in SCSt):
// max-concurrency above concurrency, which a binding on RabbitMQ has
// refused, is ignored with the section (TestOtherTypeSectionOfBindingIsIgnored).
func TestOtherBinderSectionsAreValidated(t *testing.T) {
	l, err := config.Load(config.Options{Dir: "testdata/other-sections", Env: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	_, err = stream.NewApp(l.Stream, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithBinderType(memory.Type, memory.New), stream.WithBinderType(rabbit.Type, rabbit.New),
		stream.WithBinderType(kafka.Type, kafka.New))
	var es stream.ConfigErrors
	if !errors.As(err, &es) {
		t.Fatalf("NewApp: %v, want configuration errors", err)
	}
	want := map[string]string{
		"stream.rabbit.bindings.sink-in-0.consumer.bogus-key": "unknown key",
		"stream.kafka.bindings.other-out-0.producer.bogus":    "unknown key",
	}
	for _, e := range es {
		if w, ok := want[e.Path]; ok && strings.Contains(e.Msg, w) && strings.HasPrefix(e.Origin, "application.yaml:") {
			delete(want, e.Path)
		}
	}
	if len(want) > 0 || len(es) != 2 {
		t.Errorf("missing %v; got:\n%v", want, es)
	}

	// Valid sections of the other types start.
	l, err = config.Load(config.Options{Dir: "testdata/other-sections-valid", Env: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, err := stream.NewApp(l.Stream, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithBinderType(memory.Type, memory.New), stream.WithBinderType(rabbit.Type, rabbit.New),
		stream.WithBinderType(kafka.Type, kafka.New)); err != nil {
		t.Fatalf("NewApp with valid sections: %v", err)
	}
}

// An input binding that is also a function of the definition is refused:
// SCSt would bind the function's fooin-in-0 only and leave the input
// binding's settings unused.
func TestInputBindingThatIsAlsoInTheDefinition(t *testing.T) {
	l, err := config.Load(config.Options{Dir: "testdata/input-binding-in-definition", Env: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	fns := stream.NewCatalog()
	id := func(_ context.Context, s string) (string, error) { return s, nil }
	stream.AddFunction(fns, "toUpper", id)
	stream.AddFunction(fns, "addTax", id)
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	stream.AddConsumer(fns, "fooin", func(context.Context, string) error { return nil })
	_, err = stream.NewApp(l.Stream, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithBinderType(memory.Type, memory.New))
	var es stream.ConfigErrors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "stream.input-bindings" ||
		!strings.Contains(es[0].Msg, "input binding fooin is also a function of stream.function.definition") || es[0].Origin != "application.yaml:10" {
		t.Fatalf("NewApp: %v", err)
	}
}

// stream.<type>.default of a registered type that no binding uses is
// checked too, with the app's bindings.
func TestOtherBinderDefaultSectionIsValidated(t *testing.T) {
	cfg := loadYAML(t, `spring.cloud.function.definition: sink
spring.cloud.stream.default-binder: memory
spring.cloud.stream.bindings.sink-in-0: {destination: x, group: g}
spring.cloud.stream.rabbit.default.consumer.bogus: 1
`)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	_, err := stream.NewApp(cfg, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithBinderType(memory.Type, memory.New), stream.WithBinderType(rabbit.Type, rabbit.New))
	var es stream.ConfigErrors
	if !errors.As(err, &es) || len(es) != 1 || !strings.HasSuffix(es[0].Path, ".consumer.bogus") || !strings.Contains(es[0].Msg, "unknown key") {
		t.Fatalf("NewApp: %v", err)
	}
}

// A binder setting's problem found at start-up names the placeholder its
// value came from, as the loader's problems do.
func TestStartupProblemNamesPlaceholder(t *testing.T) {
	l, err := config.Load(config.Options{Data: []byte(`stream:
  function:
    definition: sink
  bindings:
    sink-in-0:
      destination: orders
      group: g
  rabbit:
    binder:
      heartbeat: ${HB}
`), Env: []string{"HB=often"}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	_, err = stream.NewApp(l.Stream, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithBinderType(rabbit.Type, rabbit.New))
	if err == nil || !strings.Contains(err.Error(), `got "often"; value from ${HB}`) {
		t.Fatalf("NewApp: %v, want the heartbeat's problem naming ${HB}", err)
	}
}

// A binding's own binder key beats the default section's however each is
// spelt: camelCase in a nested section, or flat from an environment
// variable (which arrives lower-cased, without separators). Both
// spellings used to reach the binder, which took the one that sorted last
// (here, the default).
func TestExtensionBindingBeatsDefaultInAnySpelling(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        []string
		want       func(map[string]any) any
	}{
		{"nested camelCase default", `
spring.cloud.stream.rabbit:
  default.consumer.quorum.deliveryLimit: 3
  bindings.x-in-0.consumer.quorum.delivery-limit: 7
`, nil, func(m map[string]any) any { q, _ := m["quorum"].(map[string]any); return q }},
		{"default from the environment", `
spring.cloud.stream.rabbit:
  bindings.x-in-0.consumer.delivery-limit: 7
`, []string{"SPRING_CLOUD_STREAM_RABBIT_DEFAULT_CONSUMER_DELIVERYLIMIT=3"}, func(m map[string]any) any { return m }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if env == nil {
				env = []string{}
			}
			l, err := config.Load(config.Options{Data: []byte(tc.yaml), Env: env})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			cons, _ := l.Stream.Extension("rabbit", "x-in-0")
			m, _ := tc.want(cons).(map[string]any)
			if len(m) != 1 || fmt.Sprint(m["delivery-limit"]) != "7" {
				t.Errorf("Extension consumer = %v, want only delivery-limit 7", cons)
			}
		})
	}
}

// stream.<type>.binder of a registered type that no binding uses is
// validated too, also when no binding section of the type is set (it was
// checked only beside a stream.<type>.default or .bindings section). The
// files it names are not read: the type is not used where the app runs.
func TestUnusedBinderTypeSectionIsValidated(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	opts := []stream.Option{stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithBinderType(kafka.Type, kafka.New), stream.WithBinderType(nats.Type, nats.New)}
	cfg := loadYAML(t, `stream:
  function: {definition: sink}
  default-binder: kafka
  kafka: {binder: {brokers: 127.0.0.1:1}}
  nats:
    binder: {serverz: x}
`)
	_, err := stream.NewApp(cfg, fns, opts...)
	var es stream.ConfigErrors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "stream.nats.binder.serverz" ||
		!strings.Contains(es[0].Msg, "unknown key") || !strings.HasSuffix(es[0].Origin, ":6") {
		t.Fatalf("NewApp: %v, want one unknown-key error at stream.nats.binder.serverz (line 6)", err)
	}

	// A valid section starts, also when a file it names is not there.
	cfg = loadYAML(t, `stream:
  function: {definition: sink}
  default-binder: kafka
  kafka: {binder: {brokers: 127.0.0.1:1}}
  nats:
    binder: {servers: nats://127.0.0.1:1, credentials-file: /nonexistent/streambind-test.creds}
`)
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatalf("NewApp with a valid nats.binder section: %v", err)
	}
}

// stream.<type>.binder of a type that only binders with
// inherit-environment false use (so that none of them gets the section) is
// validated all the same.
func TestBinderSectionOfNonInheritingBindersIsValidated(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := loadYAML(t, `stream:
  function: {definition: sink}
  binders:
    own: {type: nats, inherit-environment: false, environment: {servers: nats://127.0.0.1:1}}
  default-binder: own
  nats:
    binder: {serverz: x}
`)
	_, err := stream.NewApp(cfg, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithBinderType(nats.Type, nats.New))
	var es stream.ConfigErrors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "stream.nats.binder.serverz" ||
		!strings.Contains(es[0].Msg, "unknown key") || !strings.HasSuffix(es[0].Origin, ":7") {
		t.Fatalf("NewApp: %v, want one unknown-key error at stream.nats.binder.serverz (line 7)", err)
	}
}
