package stream

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Tracing: with [WithTracerProvider], every send is a producer span and
// every handler call a consumer span; the W3C trace context (traceparent,
// tracestate) travels in the message headers through every binder, so a
// trace started by a supplier continues through each function to the last
// consumer. Without it nothing is traced and nothing is added to messages.

// tracerName is the instrumentation scope of streambind's spans.
const tracerName = "github.com/streambind/streambind/stream"

// WithTracerProvider turns tracing on with tp. Default: off.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp.Tracer(tracerName) }
}

// WithPropagator replaces the W3C trace-context propagator.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(o *options) { o.propagator = p }
}

// Headers is a propagation.TextMapCarrier. Set requires a non-nil map.
var _ propagation.TextMapCarrier = Headers{}

// Set sets header k (the map must not be nil; see [Headers.With]).
func (h Headers) Set(k, v string) { h[k] = v }

// Keys lists the header names.
func (h Headers) Keys() []string {
	ks := make([]string, 0, len(h))
	for k := range h {
		ks = append(ks, k)
	}
	return ks
}

// tracing is the tracer and propagator of an app, or nil when off.
type tracing struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// startSend starts a producer span and writes its context into a copy of
// the message's headers.
func (t *tracing) startSend(ctx context.Context, b *Binding, env *Envelope) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, "send "+b.destination, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(b.spanAttrs...))
	env.Headers = env.Headers.Clone()
	if env.Headers == nil {
		env.Headers = make(Headers, 2)
	}
	t.propagator.Inject(ctx, env.Headers)
	return ctx, span
}

// startProcess continues the trace a message carries with a consumer span.
func (t *tracing) startProcess(ctx context.Context, b *Binding, env Envelope) (context.Context, trace.Span) {
	if env.Headers != nil {
		ctx = t.propagator.Extract(ctx, env.Headers)
	}
	return t.tracer.Start(ctx, "process "+b.destination, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(b.spanAttrs...))
}

// endSpan records err (if any) and ends span.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// spanAttributes are the OpenTelemetry messaging attributes of a binding.
func spanAttributes(b *Binding) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String("messaging.system", b.binderType),
		attribute.String("messaging.destination.name", b.destination),
		attribute.String("streambind.binding", b.name),
		attribute.String("streambind.binder", b.binderName),
	}
	if b.group != "" {
		attrs = append(attrs, attribute.String("messaging.consumer.group.name", b.group))
	}
	return attrs
}
