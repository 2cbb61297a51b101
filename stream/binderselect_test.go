package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// loadYAML loads a configuration from text, with no environment.
func loadYAML(t *testing.T, yaml string) *stream.Config {
	t.Helper()
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return l.Stream
}

// typesOpts registers each type name with the in-process binder's factory:
// binder selection only looks at the names.
func typesOpts(types ...string) []stream.Option {
	opts := []stream.Option{stream.WithoutSignals(), stream.WithLogger(discardLogger())}
	for _, typ := range types {
		opts = append(opts, stream.WithBinderType(typ, memory.New))
	}
	return opts
}

func twoConsumers() *stream.Catalog {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "a", func(context.Context, string) error { return nil })
	stream.AddConsumer(fns, "b", func(context.Context, string) error { return nil })
	return fns
}

func configErrs(t *testing.T, err error) stream.ConfigErrors {
	t.Helper()
	var errs stream.ConfigErrors
	if !errors.As(err, &errs) {
		t.Fatalf("want ConfigErrors, got %v", err)
	}
	return errs
}

func TestDefaultBinderSelection(t *testing.T) {
	const twoBindings = "stream:\n  function:\n    definition: a;b\n"
	t.Run("the only registered type", func(t *testing.T) {
		app, err := stream.NewApp(loadYAML(t, twoBindings), twoConsumers(), typesOpts("rabbit")...)
		if err != nil {
			t.Fatal(err)
		}
		if b := app.Binding("a-in-0"); b.Binder() != "rabbit" {
			t.Fatalf("a-in-0 on %q, want rabbit", b.Binder())
		}
	})
	t.Run("the only declared binder", func(t *testing.T) {
		cfg := loadYAML(t, twoBindings+"  binders:\n    main:\n      type: rabbit\n")
		app, err := stream.NewApp(cfg, twoConsumers(), typesOpts("memory", "rabbit")...)
		if err != nil {
			t.Fatal(err)
		}
		if b := app.Binding("b-in-0"); b.Binder() != "main" || b.BinderType() != "rabbit" {
			t.Fatalf("b-in-0 on %q (%s)", b.Binder(), b.BinderType())
		}
	})
	t.Run("several registered, none chosen", func(t *testing.T) {
		_, err := stream.NewApp(loadYAML(t, twoBindings), twoConsumers(), typesOpts("memory", "rabbit", "kafka")...)
		errs := configErrs(t, err)
		if len(errs) != 1 {
			t.Fatalf("want one problem for two bindings, got %d:\n%v", len(errs), err)
		}
		msg := errs[0].Error()
		for _, w := range []string{"stream.default-binder", "set stream.default-binder", "kafka, memory, rabbit"} {
			if !strings.Contains(msg, w) {
				t.Errorf("%q does not say %q", msg, w)
			}
		}
		if strings.Contains(msg, `binder "memory"`) {
			t.Errorf("%q names a binder the file does not mention", msg)
		}
	})
	t.Run("several declared, none chosen", func(t *testing.T) {
		cfg := loadYAML(t, twoBindings+"  binders:\n    one:\n      type: rabbit\n    two:\n      type: rabbit\n")
		_, err := stream.NewApp(cfg, twoConsumers(), typesOpts("rabbit")...)
		errs := configErrs(t, err)
		if len(errs) != 1 || errs[0].Path != "stream.default-binder" || errs[0].Origin != "" || !strings.Contains(errs[0].Msg, "(one, two)") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("several registered, every binding names its binder", func(t *testing.T) {
		cfg := loadYAML(t, twoBindings+"  bindings:\n    a-in-0:\n      binder: rabbit\n    b-in-0:\n      binder: memory\n")
		if _, err := stream.NewApp(cfg, twoConsumers(), typesOpts("memory", "rabbit")...); err != nil {
			t.Fatal(err)
		}
	})
}

// A binder declared as rabbitBinder and referenced by the same spelling
// works: names match case-insensitively.
func TestBinderNamesMatchCaseInsensitively(t *testing.T) {
	cfg := loadYAML(t, `stream:
  function:
    definition: a;b
  default-binder: rabbitBinder
  binders:
    rabbitBinder:
      type: rabbit
    other:
      type: rabbit
  bindings:
    b-in-0:
      binder: OTHER
`)
	app, err := stream.NewApp(cfg, twoConsumers(), typesOpts("rabbit", "memory")...)
	if err != nil {
		t.Fatal(err)
	}
	if got := app.Binding("a-in-0").Binder(); !strings.EqualFold(got, "rabbitBinder") {
		t.Fatalf("a-in-0 on %q", got)
	}
	if got := app.Binding("b-in-0").Binder(); got != "other" {
		t.Fatalf("b-in-0 on %q", got)
	}
	if n := len(app.Binders()); n != 2 {
		t.Fatalf("%d binders, want 2", n)
	}
}

// A wrong binder name is reported once, at the key that holds it, with its
// file:line.
func TestWrongBinderNameReportedOnceAtItsKey(t *testing.T) {
	for _, tc := range []struct{ name, yaml, path, origin string }{
		{"default-binder", "stream:\n  function:\n    definition: a;b\n  default-binder: rabit\n", "stream.default-binder", "application.yaml:4"},
		{"default.binder", "stream:\n  function:\n    definition: a;b\n  default:\n    binder: rabit\n", "stream.default.binder", "application.yaml:5"},
		{"a binding's", "stream:\n  function:\n    definition: a;b\n  default-binder: rabbit\n  bindings:\n    a-in-0:\n      binder: rabit\n", "stream.bindings.a-in-0.binder", "application.yaml:7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stream.NewApp(loadYAML(t, tc.yaml), twoConsumers(), typesOpts("rabbit", "memory")...)
			errs := configErrs(t, err)
			if len(errs) != 1 {
				t.Fatalf("want one problem, got %d:\n%v", len(errs), err)
			}
			e := errs[0]
			if e.Path != tc.path || e.Origin != tc.origin || !strings.Contains(e.Msg, `binder "rabit" is neither declared`) {
				t.Fatalf("got %s (%s): %s; want it at %s (%s)", e.Path, e.Origin, e.Msg, tc.path, tc.origin)
			}
		})
	}
}

// Spring Boot's connection settings (spring.rabbitmq.*) reach the binder
// as defaults under its binder-type section; the section and a binder's
// environment win, an address of their own drops every address default.
func TestConnectionDefaultsReachTheBinder(t *testing.T) {
	base := "spring.rabbitmq: { host: h, port: 1, username: u }\nstream:\n  function:\n    definition: a;b\n"
	for _, tc := range []struct {
		name, yaml string
		want       map[string]any
	}{
		{"defaults only", base, map[string]any{"addresses": "h:1", "username": "u"}},
		{"the section wins", base + "  rabbit:\n    binder:\n      username: v\n", map[string]any{"addresses": "h:1", "username": "v"}},
		{"an address of the environment", base + "  binders:\n    r:\n      type: rabbit\n      environment:\n        uri: amqp://x\n", map[string]any{"username": "u"}},
		// The loader turns it into the binder's addresses: defaults per key.
		{"the environment in SCSt's form", base + "  binders:\n    r:\n      type: rabbit\n      environment:\n        spring.rabbitmq.host: x\n", map[string]any{"username": "u"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]any
			capture := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
				got = s.Binder
				return memory.New(ctx, stream.BinderSettings{Name: s.Name, Type: memory.Type})
			}
			opts := []stream.Option{stream.WithoutSignals(), stream.WithLogger(discardLogger()), stream.WithBinderType("rabbit", capture)}
			if _, err := stream.NewApp(loadYAML(t, tc.yaml), twoConsumers(), opts...); err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("binder section %v, want %v", got, tc.want)
			}
		})
	}
}

// A configured binding that nothing binds is a warning naming it, its
// origin and the nearest bound name, not a start-up failure; an output
// named like a function's (zzz-out-0) but near no bound name is the send
// bridge's, an INFO line (TestBridgeOutputNamedLikeAFunction), while one
// within two edits of a bound output (b-out-1 of b-out-0) is a typo, warned.
func TestUnboundBindingIsAWarning(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: a;b\n  bindings:\n    a-in-1:\n      group: g\n    zzz-out-0:\n      destination: x\n")
	var logged strings.Builder
	opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := stream.NewApp(cfg, twoConsumers(), opts...); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want two lines, got:\n%s", logged.String())
	}
	for i, want := range []string{
		`level=WARN msg="configured binding not bound: no bound function or output binding has this name; its settings are unused; did you mean a-in-0? a-in-0 uses defaults: destination a-in-0, anonymous group" property=stream.bindings.a-in-1 origin=application.yaml:5 nearest_bound=a-in-0`,
		`level=INFO msg="configured binding not bound at start-up: the send bridge binds it at its first send to it" property=stream.bindings.zzz-out-0 origin=application.yaml:7 bound="a-in-0, b-in-0"`,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %s\nwant it to contain %s", i, lines[i], want)
		}
	}

	cfg = loadYAML(t, "stream:\n  function:\n    definition: a;up\n  bindings:\n    upp-out-0:\n      destination: x\n")
	logged.Reset()
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "a", func(context.Context, string) error { return nil })
	stream.AddFunction(fns, "up", func(_ context.Context, s string) (string, error) { return s, nil })
	opts = append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatal(err)
	}
	if want := `level=WARN msg="configured binding not bound: no bound function or output binding has this name; its settings are unused; did you mean up-out-0? up-out-0 uses defaults: destination up-out-0" property=stream.bindings.upp-out-0 origin=application.yaml:5 nearest_bound=up-out-0`; !strings.Contains(logged.String(), want) {
		t.Errorf("a misspelt output (upp-out-0 of up-out-0):\n%s\nwant %s", logged.String(), want)
	}
}

// A binder's configuration problems are listed at their own keys, once
// each: never nested in another "invalid configuration" list, never once
// per binding.
func TestBinderProblemsNotNestedNorRepeated(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: a;b\n  binders:\n    m:\n      type: memory\n      environment:\n        bogus: 1\n")
	_, err := stream.NewApp(cfg, twoConsumers(), typesOpts("memory")...)
	errs := configErrs(t, err)
	if len(errs) != 1 || strings.Contains(errs[0].Msg, "invalid configuration") || !strings.HasPrefix(errs[0].Path, "stream.binders.m.environment") {
		t.Fatalf("got %d problems:\n%v", len(errs), err)
	}
	if errs[0].Origin != "application.yaml:8" {
		t.Errorf("origin %q, want application.yaml:8", errs[0].Origin)
	}
}

// An SCSt file whose only connection settings are Spring Boot's
// spring.rabbitmq runs unchanged on RabbitMQ: the one registered binder
// type is the default, and it connects to the virtual host spring.rabbitmq
// names (the queue is declared there, not in "/").
func TestSpringRabbitMQConnectionOnRabbitMQ(t *testing.T) {
	rabbittest.RequireCtl(t)
	vhost := rabbittest.VHost(t)
	host, port, err := net.SplitHostPort(rabbittest.Address())
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadYAML(t, fmt.Sprintf(`spring:
  rabbitmq:
    host: %s
    port: %s
    username: guest
    password: guest
    virtual-host: %s
  cloud:
    function:
      definition: sink
    stream:
      output-bindings: toSink
      bindings:
        toSink: { destination: boot-conn }
        sink-in-0: { destination: boot-conn, group: g }
`, host, port, vhost))
	got := make(chan string, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error { got <- s; return nil })
	app, err := stream.NewApp(cfg, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()), stream.WithBinderType(rabbit.Type, rabbit.New))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	defer func() { _ = r.stop() }()
	if err := app.Bridge().Send(context.Background(), "toSink", "hello"); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got); s != "hello" {
		t.Fatalf("got %q", s)
	}
	if q := rabbittest.Ctl(t, "list_queues", "-q", "-p", vhost, "name"); !strings.Contains(q, "boot-conn.g") {
		t.Fatalf("queue boot-conn.g not in virtual host %s:\n%s", vhost, q)
	}
}

func TestDefaultBinderOf(t *testing.T) {
	for _, tc := range []struct {
		cfg        stream.Config
		registered []string
		want, why  string
	}{
		{stream.Config{DefaultBinder: "k"}, []string{"kafka", "memory"}, "k", ""},
		{stream.Config{Binders: map[string]stream.BinderConfig{"only": {Type: "kafka"}}}, []string{"kafka", "memory"}, "only", ""},
		{stream.Config{}, []string{"nats"}, "nats", ""},
		{stream.Config{}, []string{"memory", "kafka"}, "", "2 binder types are registered (kafka, memory)"},
		{stream.Config{}, nil, "", "no binder type is registered"},
	} {
		name, why := stream.DefaultBinderOf(&tc.cfg, tc.registered)
		if name != tc.want || !strings.Contains(why, tc.why) || (tc.why == "") != (why == "") {
			t.Errorf("DefaultBinderOf(%+v, %q) = %q, %q", tc.cfg, tc.registered, name, why)
		}
	}
}

// A section of one of streambind's binder types that the app does not
// register is ignored with a warning, as SCSt leaves
// spring.cloud.stream.kafka unbound without the Kafka binder: a file shared
// by deployments on different brokers (a kafka profile's section, the app
// on RabbitMQ) runs unchanged. Another name is still an error (a typo).
func TestUnregisteredBinderSectionIsAWarning(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: a;b\n  kafka:\n    binder:\n      brokers: k:9092\n    bindings:\n      a-in-0:\n        consumer:\n          start-offset: earliest\n")
	var logged strings.Builder
	opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := stream.NewApp(cfg, twoConsumers(), opts...); err != nil {
		t.Fatal(err)
	}
	if want := `level=WARN msg="binder settings ignored: no binder of this type is registered in the app (register it with stream.WithBinderType to use or check them)" property=stream.kafka registered=memory origin=application.yaml:4`; !strings.Contains(logged.String(), want) {
		t.Errorf("logged:\n%s\nwant %s", logged.String(), want)
	}

	cfg = loadYAML(t, "stream:\n  function:\n    definition: a;b\n  kafak:\n    binder:\n      brokers: k:9092\n")
	_, err := stream.NewApp(cfg, twoConsumers(), typesOpts("memory", "kafka")...)
	if err == nil || !strings.Contains(err.Error(), `stream.kafak (application.yaml:4): unknown key or binder type: unknown binder type "kafak" (registered: kafka, memory; did you mean kafka?)`) {
		t.Errorf("a misspelt type: %v", err)
	}
}
