package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// headerMappingConfig binds echo (events → echoed, dlq on) and sinks for
// the echoed, routed and dead messages, with echo's SCF configuration fs.
func headerMappingConfig(fs stream.FunctionSettings) *stream.Config {
	cc := fastRetry(1)
	cc.DLQ = true
	return &stream.Config{
		Function: stream.FunctionConfig{Definition: "echo;sink;routed;dead",
			Configuration: map[string]stream.FunctionSettings{"echo": fs}},
		Bindings: map[string]stream.BindingConfig{
			"echo-in-0":   {Destination: "events", Group: "echo", Consumer: cc},
			"echo-out-0":  {Destination: "echoed"},
			"sink-in-0":   {Destination: "echoed", Group: "g"},
			"routed-in-0": {Destination: "f.routed", Group: "g"},
			"dead-in-0":   {Destination: stream.DLQName("events", "echo"), Group: "g"},
		},
	}
}

type headerMappingSinks struct {
	seen, sink, routed, dead chan stream.Message[string]
}

func headerMappingCatalog() (*stream.Catalog, headerMappingSinks) {
	s := headerMappingSinks{make(chan stream.Message[string], 4), make(chan stream.Message[string], 4),
		make(chan stream.Message[string], 4), make(chan stream.Message[string], 4)}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "echo", func(_ context.Context, m stream.Message[string]) (string, error) {
		s.seen <- m
		return strings.ToUpper(m.Payload), nil
	})
	for name, ch := range map[string]chan stream.Message[string]{"sink": s.sink, "routed": s.routed, "dead": s.dead} {
		stream.AddConsumer(fns, name, func(_ context.Context, m stream.Message[string]) error { ch <- m; return nil })
	}
	return fns, s
}

// TestInputHeaderMapping: SCF's input-header-mapping-expression sets the
// input's headers before the function is called (a literal, a header, the
// payload; a null result removes the header), and a mapped
// spring.cloud.stream.sendto.destination routes the output there; the
// output carries the mapped headers. Before, the keys were ignored with a
// WARN: the function saw no tenant and the output went to echo-out-0.
func TestInputHeaderMapping(t *testing.T) {
	fns, s := headerMappingCatalog()
	cfg := headerMappingConfig(stream.FunctionSettings{InputHeaderMappingExpression: map[string]any{
		"spring": map[string]any{"cloud": map[string]any{"stream": map[string]any{"sendto": map[string]any{"destination": "headers['target']"}}}},
		"tenant": "'acme'",
		"size":   "payload.length",
		"secret": "null",
	}})
	r := start(t, cfg, fns)
	ctx := context.Background()
	if err := r.app.Bridge().Send(ctx, "events", stream.NewMessage(`{"length":3}`, "target", "f.routed", "secret", "x")); err != nil {
		t.Fatal(err)
	}
	m := recv(t, s.seen)
	if m.Headers["tenant"] != "acme" || m.Headers["size"] != "3" || m.Headers[stream.HeaderSendToDestination] != "f.routed" {
		t.Errorf("the function saw headers %v, want tenant=acme, size=3 and the sendto destination", m.Headers)
	}
	if _, ok := m.Headers["secret"]; ok {
		t.Errorf("a null mapping left the header: %v", m.Headers)
	}
	select {
	case out := <-s.routed:
		if out.Payload != `{"LENGTH":3}` || out.Headers["tenant"] != "acme" {
			t.Errorf("routed output %+v", out)
		}
	case out := <-s.sink:
		t.Fatalf("the output went to the default output, not to f.routed: %+v", out)
	case d := <-s.dead:
		t.Fatalf("dead-lettered: %s", d.Headers[stream.HeaderExceptionMessage])
	case <-time.After(wait):
		t.Fatal("no output")
	}
	// Without the header the expression yields null: no routing.
	if err := r.app.Bridge().Send(ctx, "events", stream.NewMessage(`{"length":1}`)); err != nil {
		t.Fatal(err)
	}
	recv(t, s.seen)
	if out := recv(t, s.sink); out.Headers["tenant"] != "acme" {
		t.Errorf("default output %+v", out)
	}
}

// TestOutputHeaderMapping: output-header-mapping-expression sets the
// output's headers from the output message (its payload and headers).
func TestOutputHeaderMapping(t *testing.T) {
	fns, s := headerMappingCatalog()
	cfg := headerMappingConfig(stream.FunctionSettings{OutputHeaderMappingExpression: map[string]any{
		"0": map[string]any{"shout": "payload.LENGTH > 1 ? 'yes' : 'no'", "origin": "headers['from'] + '-out'"},
	}})
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "events", stream.NewMessage(`{"length":2}`, "from", "svc")); err != nil {
		t.Fatal(err)
	}
	recv(t, s.seen)
	if out := recv(t, s.sink); out.Headers["shout"] != "yes" || out.Headers["origin"] != "svc-out" {
		t.Errorf("output headers %v, want shout=yes, origin=svc-out", out.Headers)
	}
}

// TestHeaderMappingRunTimeFailure: an expression that fails for a message
// fails it permanently: dead-lettered with the key and the reason, the
// function not called, as a routing-expression's failure is.
func TestHeaderMappingRunTimeFailure(t *testing.T) {
	fns, s := headerMappingCatalog()
	cfg := headerMappingConfig(stream.FunctionSettings{InputHeaderMappingExpression: map[string]any{"n": "payload.a / 0"}})
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "events", stream.NewMessage(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	d := recv(t, s.dead)
	if msg := d.Headers[stream.HeaderExceptionMessage]; !strings.Contains(msg, "stream.function.configuration.echo.input-header-mapping-expression.n") || !strings.Contains(msg, "division by zero") {
		t.Errorf("dead letter's reason %q", msg)
	}
	select {
	case m := <-s.seen:
		t.Errorf("the function was called: %+v", m)
	default:
	}
}

// TestHeaderMappingBadExpression: an expression that does not compile
// stops start-up naming its key; so does an output mapping of a consumer.
func TestHeaderMappingBadExpression(t *testing.T) {
	fns, _ := headerMappingCatalog()
	cfg := headerMappingConfig(stream.FunctionSettings{InputHeaderMappingExpression: map[string]any{"x": "T(java.lang.Math).random()"}})
	cfg.Function.Configuration["sink"] = stream.FunctionSettings{OutputHeaderMappingExpression: map[string]any{"y": "'1'"}}
	_, err := stream.NewApp(cfg, fns, stream.WithoutSignals())
	if err == nil {
		t.Fatal("started")
	}
	for _, want := range []string{
		"stream.function.configuration.echo.input-header-mapping-expression.x: expression \"T(java.lang.Math).random()\"",
		"stream.function.configuration.sink.output-header-mapping-expression: \"sink\" is a consumer",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

// TestHeaderMappingUnusedWarned: the configuration of a function that is
// not bound (a misspelt name) is a WARN naming the key, not silence.
func TestHeaderMappingUnusedWarned(t *testing.T) {
	fns, _ := headerMappingCatalog()
	cfg := headerMappingConfig(stream.FunctionSettings{InputHeaderMappingExpression: map[string]any{"a": "'1'"}})
	cfg.Function.Configuration["ecoh"] = stream.FunctionSettings{InputHeaderMappingExpression: map[string]any{"b": "'2'"}}
	var buf syncbuf.Buffer
	if _, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.NewTextHandler(&buf, nil)))); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "property=stream.function.configuration.ecoh") || strings.Contains(out, "property=stream.function.configuration.echo ") {
		t.Errorf("want one warning, for ecoh:\n%s", out)
	}
}

// TestHeaderMappingBatchModeRefused: header mappings apply to one message
// at a time; with batch-mode on the input, start-up fails naming the key
// rather than calling the function with the batch unmapped.
func TestHeaderMappingBatchModeRefused(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "echo", func(_ context.Context, in []string) (string, error) { return "", nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "echo",
			Configuration: map[string]stream.FunctionSettings{"echo": {InputHeaderMappingExpression: map[string]any{"a": "'1'"}}}},
		Bindings: map[string]stream.BindingConfig{"echo-in-0": {Destination: "events", Group: "g", Consumer: stream.ConsumerConfig{BatchMode: true}}},
	}
	_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals())
	if err == nil || !strings.Contains(err.Error(), "stream.bindings.echo-in-0.consumer.batch-mode") || !strings.Contains(err.Error(), "header mappings") {
		t.Errorf("got %v, want the batch-mode refusal", err)
	}
}

// TestOutputHeaderMappingRoutedAndComposed: output mappings apply, once,
// to every output before it is routed: a Message output naming its own
// spring.cloud.stream.sendto.destination (before, it was routed unmapped),
// and a composition's output. A mapping applied twice would see its own
// header (n=twice).
func TestOutputHeaderMappingRoutedAndComposed(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "route", func(_ context.Context, s string) (stream.Message[string], error) {
		return stream.NewMessage(s, stream.HeaderSendToDestination, "f.routed"), nil
	})
	stream.AddFunction(fns, "up", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddFunction(fns, "bang", func(_ context.Context, s string) (string, error) { return s + "!", nil })
	got := make(chan stream.Message[string], 4)
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[string]) error { got <- m; return nil })
	mapped := stream.FunctionSettings{OutputHeaderMappingExpression: map[string]any{
		"n": "headers['n'] == null ? 'once' : 'twice'", "from": "'mapped'"}}
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "route;up|bang;sink",
			Configuration: map[string]stream.FunctionSettings{"route": mapped, "upbang": mapped}},
		Bindings: map[string]stream.BindingConfig{
			"route-in-0":   {Destination: "to-route", Group: "g"},
			"route-out-0":  {Destination: "unrouted"},
			"upbang-in-0":  {Destination: "to-compose", Group: "g"},
			"upbang-out-0": {Destination: "f.routed"},
			"sink-in-0":    {Destination: "f.routed", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	ctx := context.Background()
	for _, dest := range []string{"to-route", "to-compose"} {
		if err := r.app.Bridge().Send(ctx, dest, "a"); err != nil {
			t.Fatal(err)
		}
		m := recv(t, got)
		if m.Headers["n"] != "once" || m.Headers["from"] != "mapped" {
			t.Errorf("output of %s: headers %v, want n=once, from=mapped", dest, m.Headers)
		}
	}
}

// TestSupplierAndRouterHeaderMapping: a supplier's output mappings apply
// to its values, as SCF composes the output enricher after any function
// (before, they were ignored without a word); a supplier's input mappings,
// and functionRouter's mappings (not supported), stop start-up at their
// key rather than be ignored.
func TestSupplierAndRouterHeaderMapping(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddSource(fns, "tick", func(ctx context.Context, emit stream.Emitter[string]) error {
		if err := emit(ctx, "t"); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	})
	got := make(chan stream.Message[string], 4)
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[string]) error { got <- m; return nil })
	stream.AddConsumer(fns, "other", func(_ context.Context, m stream.Message[string]) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tick;sink", Configuration: map[string]stream.FunctionSettings{
			"tick": {OutputHeaderMappingExpression: map[string]any{"from": "'tick-' + payload"}}}},
		Bindings: map[string]stream.BindingConfig{
			"tick-out-0": {Destination: "ticks"},
			"sink-in-0":  {Destination: "ticks", Group: "g"},
		},
	}
	start(t, cfg, fns)
	if m := recv(t, got); m.Headers["from"] != "tick-t" {
		t.Errorf("supplier output headers %v, want from=tick-t", m.Headers)
	}

	cfg.Function.Configuration["tick"] = stream.FunctionSettings{InputHeaderMappingExpression: map[string]any{"a": "'1'"}}
	cfg.Function.Definition = "tick;sink;functionRouter"
	cfg.Function.RoutingExpression = "'other'"
	cfg.Function.Configuration["functionRouter"] = stream.FunctionSettings{OutputHeaderMappingExpression: map[string]any{"b": "'2'"}}
	cfg.Bindings["functionRouter-in-0"] = stream.BindingConfig{Destination: "r", Group: "g"}
	_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals())
	for _, want := range []string{
		`stream.function.configuration.tick.input-header-mapping-expression: "tick" is a supplier`,
		"stream.function.configuration.functionRouter.output-header-mapping-expression: header mappings of functionRouter are not supported",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to say %q", err, want)
		}
	}
}
