package stream_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// mapLazy are lazy headers read from a map (as a binder reads its
// client's parsed headers).
type mapLazy stream.Headers

func (h mapLazy) Lookup(k string) (string, bool) { v, ok := h[k]; return v, ok }
func (h mapLazy) Load() stream.Headers           { return maps.Clone(stream.Headers(h)) }

func TestEnvelopeLazyHeaders(t *testing.T) {
	e := stream.Envelope{Headers: stream.Headers{"a": "mine"}}
	e.SetLazyHeaders(mapLazy{"a": "wire", "b": "2", "contentType": "text/plain"})
	if e.Header("a") != "mine" || e.Header("b") != "2" || e.Header("c") != "" {
		t.Fatalf("Header: a=%q b=%q c=%q, want mine, 2 and none", e.Header("a"), e.Header("b"), e.Header("c"))
	}
	if ct := e.ContentType("application/json"); ct != "text/plain" {
		t.Fatalf("ContentType = %q, want the lazy header's text/plain", ct)
	}
	before := e
	if got := e.LoadHeaders(); !maps.Equal(got, stream.Headers{"a": "mine", "b": "2", "contentType": "text/plain"}) || !maps.Equal(e.Headers, got) {
		t.Fatalf("LoadHeaders = %v (Headers %v)", got, e.Headers)
	}
	if !maps.Equal(before.Headers, stream.Headers{"a": "mine"}) || before.Header("b") != "2" {
		t.Fatalf("a copy made before LoadHeaders changed: %v, b=%q", before.Headers, before.Header("b"))
	}
	var plain stream.Envelope
	if plain.LoadHeaders() != nil || plain.Header("x") != "" {
		t.Fatal("an envelope without headers must load none")
	}
	empty := stream.Envelope{}
	empty.SetLazyHeaders(mapLazy{})
	if empty.LoadHeaders() != nil {
		t.Fatal("empty lazy headers must leave Headers nil")
	}
}

// lazyBinder is the in-process binder handing a consumer's handler its
// messages with lazy headers and no headers map, as the NATS binder does,
// when the spec asks for them (always: whether it asks or not). It records
// what each binding's spec asked.
type lazyBinder struct {
	stream.Binder
	always bool
	mu     sync.Mutex
	asked  map[string]bool
}

// DelayedRetries passes retry-delays on to the in-process binder.
func (b *lazyBinder) DelayedRetries(spec stream.ConsumerSpec) error {
	return b.Binder.(stream.DelayedRetrier).DelayedRetries(spec)
}

func (b *lazyBinder) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	b.mu.Lock()
	b.asked[spec.Binding] = spec.LazyHeaders
	b.mu.Unlock()
	if h := spec.Handler; h != nil && (spec.LazyHeaders || b.always) {
		spec.Handler = func(ctx context.Context, m stream.Envelope) error {
			m.SetLazyHeaders(mapLazy(m.Headers))
			m.Headers = nil
			return h(ctx, m)
		}
	}
	if h := spec.BatchHandler; h != nil && b.always {
		spec.BatchHandler = func(ctx context.Context, ms []stream.Envelope) error {
			lazy := make([]stream.Envelope, len(ms))
			for i, m := range ms {
				m.SetLazyHeaders(mapLazy(m.Headers))
				m.Headers = nil
				lazy[i] = m
			}
			return h(ctx, lazy)
		}
	}
	return b.Binder.BindConsumer(ctx, spec)
}

func lazyApp(t *testing.T, always bool, cfg *stream.Config, fns *stream.Catalog, opts ...stream.Option) (*running, *lazyBinder) {
	t.Helper()
	lb := &lazyBinder{always: always, asked: map[string]bool{}}
	f := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		lb.Binder = b
		return lb, err
	}
	return start(t, cfg, fns, append(opts, stream.WithBinderType(memory.Type, f))...), lb
}

// TestLazyHeadersAskedByPayloadConsumers: the core asks for lazy headers
// for a consumer of a payload type only, reads the contentType header
// through them (a binding's content type that would not decode the
// payload), and gives a message that failed to the error handler with
// every header.
func TestLazyHeadersAskedByPayloadConsumers(t *testing.T) {
	typed, raw, msgs := make(chan Order, 1), make(chan []byte, 1), make(chan stream.Message[Order], 1)
	failed := make(chan stream.FailedMessage, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "typed", func(_ context.Context, o Order) error {
		if o.OrderID == "bad" {
			return stream.Permanent(errors.New("refused"))
		}
		typed <- o
		return nil
	})
	stream.AddConsumer(fns, "raw", func(_ context.Context, b []byte) error { raw <- b; return nil })
	stream.AddConsumer(fns, "msg", func(_ context.Context, m stream.Message[Order]) error { msgs <- m; return nil })
	stream.AddFunction(fns, "fn", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "typed;raw;msg;fn"},
		OutputBindings: "in",
		Bindings: map[string]stream.BindingConfig{
			// text/plain would not decode an Order: the message's own
			// contentType header (application/json) must be read.
			"typed-in-0": {Destination: "orders", Group: "t", ContentType: "text/plain"},
			"raw-in-0":   {Destination: "orders", Group: "r"},
			"msg-in-0":   {Destination: "orders", Group: "m"},
			"fn-in-0":    {Destination: "orders", Group: "f"},
			"fn-out-0":   {Destination: "copies"},
			"in":         {Destination: "orders"},
		},
	}
	r, lb := lazyApp(t, false, cfg, fns, stream.WithErrorHandler("typed-in-0", func(_ context.Context, m stream.FailedMessage) { failed <- m }))
	lb.mu.Lock()
	asked := maps.Clone(lb.asked)
	lb.mu.Unlock()
	if want := map[string]bool{"typed-in-0": true, "raw-in-0": true, "msg-in-0": false, "fn-in-0": false}; !maps.Equal(asked, want) {
		t.Fatalf("lazy headers asked: %v, want %v", asked, want)
	}
	send := func(id string) {
		t.Helper()
		env := stream.Envelope{Payload: []byte(`{"orderId":"` + id + `"}`), Headers: stream.Headers{stream.HeaderContentType: "application/json", "x-app": "shop"}}
		if err := r.app.Bridge().Send(context.Background(), "in", env); err != nil {
			t.Fatal(err)
		}
	}
	send("o-1")
	if o := recv(t, typed); o.OrderID != "o-1" {
		t.Fatalf("typed consumer got %+v", o)
	}
	if b := recv(t, raw); string(b) != `{"orderId":"o-1"}` {
		t.Fatalf("raw consumer got %s", b)
	}
	if m := recv(t, msgs); m.Headers["x-app"] != "shop" {
		t.Fatalf("Message consumer's headers %v", m.Headers)
	}
	send("bad")
	fm := recv(t, failed)
	if fm.Envelope.Headers["x-app"] != "shop" || fm.Envelope.Headers[stream.HeaderContentType] != "application/json" {
		t.Fatalf("the error handler's message has headers %v, want every header", fm.Envelope.Headers)
	}
}

// TestLazyHeadersUnaskedAreLoaded: lazy headers a binder gives a handler
// that did not ask for them are loaded before anything reads them.
func TestLazyHeadersUnaskedAreLoaded(t *testing.T) {
	msgs, copies := make(chan stream.Message[Order], 1), make(chan stream.Message[[]byte], 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "msg", func(_ context.Context, m stream.Message[Order]) error { msgs <- m; return nil })
	// A payload output carries its input's headers (as SCSt).
	stream.AddFunction(fns, "fn", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	stream.AddConsumer(fns, "copy", func(_ context.Context, m stream.Message[[]byte]) error { copies <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "msg;fn;copy"},
		OutputBindings: "in",
		Bindings: map[string]stream.BindingConfig{
			"msg-in-0":  {Destination: "orders", Group: "m"},
			"fn-in-0":   {Destination: "orders", Group: "f"},
			"fn-out-0":  {Destination: "copies"},
			"copy-in-0": {Destination: "copies", Group: "c"},
			"in":        {Destination: "orders"},
		},
	}
	r, _ := lazyApp(t, true, cfg, fns)
	env := stream.Envelope{Payload: []byte(`{"orderId":"o-1"}`), Headers: stream.Headers{"x-app": "shop"}}
	if err := r.app.Bridge().Send(context.Background(), "in", env); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, msgs); m.Headers["x-app"] != "shop" || m.Payload.OrderID != "o-1" {
		t.Fatalf("Message consumer got %+v", m)
	}
	if m := recv(t, copies); m.Headers["x-app"] != "shop" {
		t.Fatalf("the function's output has headers %v, want its input's x-app", m.Headers)
	}
}

// TestLazyHeadersUnaskedInBatchMode: a batch's lazy headers, which the core
// never asks for in batch mode, are loaded before the function sees them.
func TestLazyHeadersUnaskedInBatchMode(t *testing.T) {
	batches := make(chan []stream.Message[Order], 1)
	failed := make(chan stream.FailedMessage, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "batch", func(_ context.Context, ms []stream.Message[Order]) error {
		batches <- ms
		return stream.Permanent(errors.New("refused"))
	})
	cfg := &stream.Config{
		OutputBindings: "in",
		Bindings: map[string]stream.BindingConfig{
			"batch-in-0": {Destination: "orders", Group: "b", Consumer: stream.ConsumerConfig{BatchMode: true}},
			"in":         {Destination: "orders"},
		},
	}
	r, _ := lazyApp(t, true, cfg, fns, stream.WithErrorHandler("batch-in-0", func(_ context.Context, m stream.FailedMessage) { failed <- m }))
	env := stream.Envelope{Payload: []byte(`{"orderId":"o-1"}`), Headers: stream.Headers{"x-app": "shop"}}
	if err := r.app.Bridge().Send(context.Background(), "in", env); err != nil {
		t.Fatal(err)
	}
	if ms := recv(t, batches); len(ms) != 1 || ms[0].Headers["x-app"] != "shop" {
		t.Fatalf("batch consumer got %+v, want one message with x-app", ms)
	}
	if fm := recv(t, failed); fm.Envelope.Headers["x-app"] != "shop" {
		t.Fatalf("the error handler's message has headers %v, want x-app", fm.Envelope.Headers)
	}
}

// TestLazyHeadersNotAskedWhenHeadersAreRead: a payload consumer whose
// message's headers are read on its way to success — by tracing (the
// trace context), a header mapping, an idempotent consumer (its key),
// retry-delays (the retry mark) or header-mode none — is bound without
// lazy headers; the same consumer without them asks for them.
func TestLazyHeadersNotAskedWhenHeadersAreRead(t *testing.T) {
	cases := []struct {
		name string
		bc   stream.BindingConfig
		fs   *stream.FunctionSettings
		opts []stream.Option
		idem bool
		want bool
	}{
		{name: "plain", want: true},
		{name: "tracing", opts: []stream.Option{stream.WithTracerProvider(sdktrace.NewTracerProvider())}},
		{name: "header mapping", fs: &stream.FunctionSettings{InputHeaderMappingExpression: map[string]any{"x-n": "'1'"}}},
		{name: "idempotent consumer", idem: true},
		{name: "retry-delays", bc: stream.BindingConfig{Consumer: stream.ConsumerConfig{RetryDelays: []time.Duration{time.Second}}}},
		{name: "header-mode none", bc: stream.BindingConfig{Consumer: stream.ConsumerConfig{HeaderMode: stream.HeaderModeNone}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "c", func(context.Context, []byte) error { return nil })
			bc := c.bc
			bc.Destination, bc.Group = "orders", "g"
			cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{"c-in-0": bc}}
			if c.fs != nil {
				cfg.Function.Configuration = map[string]stream.FunctionSettings{"c": *c.fs}
			}
			lb := &lazyBinder{asked: map[string]bool{}}
			f := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
				b, err := memory.New(ctx, s)
				lb.Binder = b
				return lb, err
			}
			opts := append([]stream.Option{stream.WithBinderType(memory.Type, f), stream.WithoutSignals(), stream.WithLogger(testLogger(t))}, c.opts...)
			app, err := stream.NewApp(cfg, fns, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if c.idem {
				if err := app.UseIdempotency("c-in-0", func(next stream.Handler) stream.Handler { return next }); err != nil {
					t.Fatal(err)
				}
			}
			runApp(t, app)
			lb.mu.Lock()
			asked, ok := lb.asked["c-in-0"]
			lb.mu.Unlock()
			if !ok || asked != c.want {
				t.Fatalf("bound: %v, lazy headers asked: %v; want asked %v", ok, asked, c.want)
			}
		})
	}
}
