package stream_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A binding renamed by spring.cloud.stream.function.bindings has the name
// the file gives it everywhere: the app's bindings, the bound function, the
// log lines; its functional name is not a binding.
func TestRenamedFunctionBindingsUseTheirConfiguredNames(t *testing.T) {
	cfg := loadYAML(t, `spring:
  cloud:
    function:
      definition: uppercase
    stream:
      function:
        bindings:
          uppercase-in-0: input
          uppercase-out-0: Output
      bindings:
        input: { destination: greetings, group: greeter }
        Output: { destination: loud-greetings }
`)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "uppercase", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	broker := newBroker(t)
	var logged syncbuf.Buffer
	loud := tap(t, broker, "loud-greetings")
	r := startOn(t, broker, cfg, fns, slog.New(slog.NewTextHandler(&logged, nil)))
	defer func() { _ = r.stop() }()

	if b := r.app.Binding("input"); b == nil || !b.IsInput() || b.Destination() != "greetings" || b.Group() != "greeter" {
		t.Fatalf("binding input = %+v", b)
	}
	if b := r.app.Binding("Output"); b == nil || b.IsInput() || b.Destination() != "loud-greetings" {
		t.Fatalf("binding Output = %+v", b)
	}
	for _, n := range []string{"uppercase-in-0", "uppercase-out-0"} {
		if r.app.Binding(n) != nil {
			t.Errorf("functional name %s is a binding", n)
		}
	}
	var names []string
	for _, b := range r.app.Bindings() {
		names = append(names, b.Name())
	}
	if got := strings.Join(names, ","); got != "Output,input" {
		t.Errorf("bindings %s, want Output,input", got)
	}
	if bf := r.app.BoundFunctions(); len(bf) != 1 || bf[0].Input != "input" || bf[0].Output != "Output" {
		t.Errorf("bound functions %+v", bf)
	}
	if err := r.app.Bridge().Send(context.Background(), "greetings", "hello"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, loud); string(m.Payload) != `"HELLO"` && string(m.Payload) != "HELLO" {
		t.Fatalf("got %q", m.Payload)
	}
	out := logged.String()
	if strings.Contains(out, "uppercase-in-0") || strings.Contains(out, "uppercase-out-0") {
		t.Errorf("the log names a functional binding name:\n%s", out)
	}
	if !strings.Contains(out, "binding=input") || !strings.Contains(out, "binding=Output") {
		t.Errorf("the log does not name the bindings input and Output:\n%s", out)
	}
}

// A rename onto the name of another bound binding is refused at
// stream.function.bindings.
func TestRenameOntoAnotherBindingIsRefused(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: a;b\n    bindings:\n      a-in-0: b-in-0\n")
	_, err := stream.NewApp(cfg, twoConsumers(), typesOpts("memory")...)
	errs := configErrs(t, err)
	if len(errs) != 1 || errs[0].Path != "stream.function.bindings" || errs[0].Origin != "application.yaml:4" ||
		!strings.Contains(errs[0].Msg, "two bindings are named b-in-0") {
		t.Fatalf("errors %v", errs)
	}
}

// A configured binding that only the send bridge uses is bound at its
// first send with its configured destination, partitioning and binder —
// here the "rabbit" binder while the default is "kafka" (both the
// in-process binder, on two brokers) — and the allow-list of dynamic
// destinations does not apply to it.
func TestBridgeBindsConfiguredBindingAtFirstSend(t *testing.T) {
	cfg := loadYAML(t, `spring:
  cloud:
    stream:
      default-binder: kafka
      dynamic-destinations: [elsewhere]
      bindings:
        audit:
          destination: audit-log
          binder: rabbit
          producer:
            partition-key-expression: payload.customerId
            partition-count: 3
`)
	kafkaBroker, rabbitBroker := newBroker(t), newBroker(t)
	onRabbit := tap(t, rabbitBroker, "audit-log")
	onKafka := tap(t, kafkaBroker, "audit-log")
	var logged syncbuf.Buffer
	app, err := stream.NewApp(cfg, stream.NewCatalog(),
		stream.WithBinderType("kafka", memory.Factory(kafkaBroker)), stream.WithBinderType("rabbit", memory.Factory(rabbitBroker)),
		stream.WithoutSignals(), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if app.Binding("audit") != nil {
		t.Fatal("audit bound at start-up")
	}
	r := runApp(t, app)
	defer func() { _ = r.stop() }()
	for _, c := range []string{"c-1", "c-7"} {
		if err := app.Bridge().Send(context.Background(), "audit", Order{CustomerID: c}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"c-1", "c-7"} {
		m := recv(t, onRabbit)
		if !strings.Contains(string(m.Payload), c) {
			t.Fatalf("got %s, want %s's order", m.Payload, c)
		}
		if want := fmt.Sprint(stream.SelectPartition(stream.StringHash(c), 3)); m.Headers[stream.HeaderPartition] != want {
			t.Errorf("%s: partition %q, want %s", c, m.Headers[stream.HeaderPartition], want)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-onKafka:
		t.Fatalf("the default binder's broker got %s", m.Payload)
	default:
	}
	out := logged.String()
	for _, want := range []string{
		`level=INFO msg="configured binding not bound at start-up: the send bridge binds it at its first send to it" property=stream.bindings.audit origin=application.yaml:7`,
		`level=INFO msg="binding bound" binding=audit destination=audit-log binder=rabbit binder_type=rabbit partition_count=3 partition_key_expression=payload.customerId`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s\nlog:\n%s", want, out)
		}
	}
	if strings.Contains(out, "dynamic destination") {
		t.Errorf("a configured binding logged as a dynamic destination:\n%s", out)
	}
}

// stream.input-bindings binds inputs of no function, each handled by the
// consumer registered under its name; an empty definition then binds
// nothing else, and the bindings keep their names.
func TestInputBindingsOfNoFunction(t *testing.T) {
	cfg := loadYAML(t, `spring:
  cloud:
    stream:
      input-bindings: fooin;barin
      output-bindings: fooout
      bindings:
        fooin: { destination: foo, group: g }
        barin: { destination: bar }
        fooout: { destination: foo }
`)
	got := make(chan string, 4)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "fooin", func(_ context.Context, s string) error { got <- "fooin:" + s; return nil })
	stream.AddConsumer(fns, "barin", func(_ context.Context, s string) error { got <- "barin:" + s; return nil })
	broker := newBroker(t)
	var logged syncbuf.Buffer
	r := startOn(t, broker, cfg, fns, slog.New(slog.NewTextHandler(&logged, nil)))
	defer func() { _ = r.stop() }()
	var names []string
	for _, b := range r.app.Bindings() {
		names = append(names, fmt.Sprintf("%s(in=%v,%s)", b.Name(), b.IsInput(), b.Destination()))
	}
	if g, want := strings.Join(names, " "), "fooout(in=false,foo) fooin(in=true,foo) barin(in=true,bar)"; g != want {
		t.Fatalf("bindings %s, want %s", g, want)
	}
	if err := r.app.Bridge().Send(context.Background(), "fooout", "hi"); err != nil {
		t.Fatal(err)
	}
	if err := r.app.Bridge().Send(context.Background(), "bar", "there"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{recv(t, got): true, recv(t, got): true}
	if !seen["fooin:hi"] || !seen["barin:there"] {
		t.Fatalf("got %v", seen)
	}
	if strings.Contains(logged.String(), "not bound") {
		t.Errorf("an input binding was reported unbound:\n%s", logged.String())
	}
}

// An input binding with no consumer of its name, or with a function of
// its name, is refused at stream.input-bindings with its file:line.
func TestInputBindingsWithoutConsumerAreRefused(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: a\n  input-bindings: a;nobody;fn\n")
	fns := twoConsumers()
	stream.AddFunction(fns, "fn", func(_ context.Context, s string) (string, error) { return s, nil })
	_, err := stream.NewApp(cfg, fns, typesOpts("memory")...)
	errs := configErrs(t, err)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		// a is also in the definition: SCSt would bind a-in-0 only.
		"stream.input-bindings (application.yaml:4): input binding a is also a function of stream.function.definition, which binds it as a-in-0 (SCSt then ignores the input binding): list a in one of them",
		"stream.input-bindings (application.yaml:4): input binding nobody has no handler: register a consumer named nobody in code (stream.AddConsumer) to receive its messages",
		"stream.input-bindings (application.yaml:4): input binding fn: fn is registered as a function, but a binding of no function is handled by a consumer (stream.AddConsumer)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Spring Boot's spring.kafka client settings are the Kafka binder's
// defaults, property by property: stream.kafka.binder's maps win where
// they set the same property, and the binder checks the values, naming
// the Boot key that gave a bad one.
func TestSpringKafkaDefaultsUnderTheBinder(t *testing.T) {
	const yaml = `spring:
  kafka:
    bootstrap-servers: k1:9092
    properties: { session.timeout.ms: 45000, request.timeout.ms: 20000 }
    consumer:
      max-poll-records: 200
    producer:
      compression-type: lz4
  cloud:
    stream:
      function:
        definition: a;b
      kafka:
        binder:
          configuration: { session-timeout-ms: 30000 }
          consumer-properties: { fetch.min.bytes: 10 }
`
	var got map[string]any
	capture := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		got = s.Binder
		return memory.New(ctx, stream.BinderSettings{Name: s.Name, Type: memory.Type})
	}
	opts := []stream.Option{stream.WithoutSignals(), stream.WithLogger(discardLogger()), stream.WithBinderType("kafka", capture)}
	if _, err := stream.NewApp(loadYAML(t, yaml), twoConsumers(), opts...); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"brokers":             "k1:9092",
		"configuration":       map[string]any{"session-timeout-ms": 30000, "request.timeout.ms": 20000},
		"consumer-properties": map[string]any{"fetch.min.bytes": 10, "max.poll.records": 200},
		"producer-properties": map[string]any{"compression.type": "lz4"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("binder section\n got %v\nwant %v", got, want)
	}
	// The Kafka binder accepts them, and refuses a bad one at the Boot key.
	kopts := []stream.Option{stream.WithoutSignals(), stream.WithLogger(discardLogger()), stream.WithBinderType(kafka.Type, kafka.New)}
	if _, err := stream.NewApp(loadYAML(t, yaml), twoConsumers(), kopts...); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(yaml, "compression-type: lz4", "compression-type: brotli", 1)
	_, err := stream.NewApp(loadYAML(t, bad), twoConsumers(), kopts...)
	errs := configErrs(t, err)
	if len(errs) != 1 || errs[0].Path != "stream.kafka.binder.producer-properties.compression.type" ||
		errs[0].Origin != "application.yaml:8 (spring.kafka.producer.compression-type)" || !strings.Contains(errs[0].Msg, "brotli") {
		t.Fatalf("errors %v", errs)
	}
}

// The same Boot keys in a Kafka binder's environment (SCSt's form) are
// read by the binder, which names the Boot key's line for a bad value.
func TestSpringKafkaInBinderEnvironmentReachesTheBinder(t *testing.T) {
	const yaml = `stream:
  function:
    definition: a;b
  default-binder: k1
  binders:
    k1:
      type: kafka
      environment:
        spring:
          kafka:
            bootstrap-servers: k1:9092
            consumer:
              max-poll-records: 5
            producer:
              compression-type: lz4
`
	kopts := []stream.Option{stream.WithoutSignals(), stream.WithLogger(discardLogger()), stream.WithBinderType(kafka.Type, kafka.New)}
	if _, err := stream.NewApp(loadYAML(t, yaml), twoConsumers(), kopts...); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(yaml, "compression-type: lz4", "compression-type: brotli", 1)
	_, err := stream.NewApp(loadYAML(t, bad), twoConsumers(), kopts...)
	errs := configErrs(t, err)
	if len(errs) != 1 || errs[0].Path != "stream.binders.k1.environment.spring.kafka.producer.properties.compression.type" ||
		errs[0].Origin != "application.yaml:15 (spring.kafka.producer.compression-type)" || !strings.Contains(errs[0].Msg, "brotli") {
		t.Fatalf("errors %v", errs)
	}
}

// An input binding named like a function's binding is refused at
// stream.input-bindings.
func TestInputBindingNamedLikeAFunctionBinding(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: a;b\n  input-bindings: b-in-0\n")
	fns := twoConsumers()
	stream.AddConsumer(fns, "b-in-0", func(context.Context, string) error { return nil })
	_, err := stream.NewApp(cfg, fns, typesOpts("memory")...)
	errs := configErrs(t, err)
	if len(errs) != 1 || errs[0].Path != "stream.input-bindings" || errs[0].Origin != "application.yaml:4" ||
		!strings.Contains(errs[0].Msg, "two bindings are named b-in-0") {
		t.Fatalf("errors %v", errs)
	}
}

// A binding that start-up refuses (an input binding that is also a
// function, the router of a constant routing expression naming no
// function) is named by the error: no "not bound" warning contradicts it.
// A configured binding an error about its properties leaves alone is
// still reported unbound.
func TestRefusedBindingIsNotAlsoWarnedUnbound(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"input binding that is a function", `stream:
  default-binder: memory
  function:
    definition: fooin
  input-bindings: fooin
  bindings:
    fooin: { destination: d, group: g }
    fooin-in-0: { destination: d, group: g }
`},
		{"constant routing expression", `stream:
  default-binder: memory
  function:
    definition: functionRouter
    routing-expression: "'nope'"
  bindings:
    functionRouter-in-0: { destination: d, group: g }
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged syncbuf.Buffer
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "fooin", func(context.Context, string) error { return nil })
			opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
			_, err := stream.NewApp(loadYAML(t, tc.yaml), fns, opts...)
			configErrs(t, err)
			if strings.Contains(logged.String(), "not bound") {
				t.Errorf("a refused binding was also warned unbound:\n%s", logged.String())
			}
		})
	}
	var logged syncbuf.Buffer
	opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	_, err := stream.NewApp(loadYAML(t, `stream:
  default-binder: memory
  function:
    definition: a
  bindings:
    a-in-0: { destination: d, binder: nosuch }
    other-in-0: { destination: d }
`), twoConsumers(), opts...)
	configErrs(t, err)
	if !strings.Contains(logged.String(), "configured binding not bound") || !strings.Contains(logged.String(), "property=stream.bindings.other-in-0") {
		t.Errorf("the unbound binding beside an unrelated error was not warned:\n%s", logged.String())
	}
}
