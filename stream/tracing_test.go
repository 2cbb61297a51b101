package stream_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A trace started by a supplier's send continues through the function to
// the consumer: every span shares the trace id and each is the child of the
// one before it.
func TestTraceSurvivesPipeline(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	words := make(chan string, 1)
	got := make(chan trace.SpanContext, 1)
	fns := stream.NewCatalog()
	stream.AddSource(fns, "src", stream.FromChannel(words))
	stream.AddFunction(fns, "upper", func(ctx context.Context, s string) (string, error) { return s + "!", nil })
	stream.AddConsumer(fns, "sink", func(ctx context.Context, s string) error {
		got <- trace.SpanContextFromContext(ctx)
		return nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "src;upper;sink"},
		Bindings: map[string]stream.BindingConfig{
			"src-out-0":   {Destination: "a", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"upper-in-0":  {Destination: "a", Group: "g"},
			"upper-out-0": {Destination: "b", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"sink-in-0":   {Destination: "b", Group: "g"},
		},
	}
	r := start(t, cfg, fns, stream.WithTracerProvider(tp))
	words <- "hi"
	sc := recv(t, got)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	want := []string{"send a", "process a", "send b", "process b"}
	if len(spans) != len(want) {
		names := []string{}
		for _, s := range spans {
			names = append(names, s.Name())
		}
		t.Fatalf("spans %v, want %v", names, want)
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
		if s.SpanContext().TraceID() != sc.TraceID() {
			t.Errorf("span %s is in trace %s, want %s", s.Name(), s.SpanContext().TraceID(), sc.TraceID())
		}
	}
	for i := 1; i < len(want); i++ {
		child, parent := byName[want[i]], byName[want[i-1]]
		if child.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("%s's parent is %s, want %s", want[i], child.Parent().SpanID(), want[i-1])
		}
	}
	if byName["send a"].Parent().IsValid() {
		t.Error("the supplier's send should start the trace")
	}
	if byName["process b"].SpanKind() != trace.SpanKindConsumer || byName["send b"].SpanKind() != trace.SpanKindProducer {
		t.Error("span kinds")
	}
	if sc.SpanID() != byName["process b"].SpanContext().SpanID() {
		t.Error("the consumer's context does not carry its process span")
	}
}

// A send through the bridge is a child of the caller's span, and the
// consumer continues that trace.
func TestBridgeSendContinuesCallersTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	got := make(chan trace.SpanContext, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(ctx context.Context, s string) error {
		got <- trace.SpanContextFromContext(ctx)
		return nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "sink"},
		Bindings: map[string]stream.BindingConfig{"sink-in-0": {Destination: "d", Group: "g"}},
	}
	r := start(t, cfg, fns, stream.WithTracerProvider(tp))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "http request")
	if err := r.app.Bridge().Send(ctx, "d", "x"); err != nil {
		t.Fatal(err)
	}
	parent.End()
	sc := recv(t, got)
	if sc.TraceID() != parent.SpanContext().TraceID() {
		t.Fatal("the consumer is not in the caller's trace")
	}
	_ = r.stop()
	for _, s := range rec.Ended() {
		if s.Name() == "send d" && s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Fatal("the bridge's send span is not a child of the caller's span")
		}
	}
}
