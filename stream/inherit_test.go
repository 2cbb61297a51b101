package stream_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// inputHeaders are an input message's headers: the user's (key, tenant),
// and those that describe its delivery or are set per message, which its
// output must not carry.
func inputHeaders() stream.Headers {
	return stream.Headers{
		"key": "k0", "tenant": "acme",
		stream.HeaderContentType: "application/json", stream.HeaderID: "in-1", stream.HeaderPartition: "3",
		stream.HeaderExceptionMessage: "old failure", stream.HeaderOriginalTopic: "elsewhere",
		stream.HeaderRetryAttempts: "2", stream.HeaderReplayCount: "1",
		"x-death": "[...]", "x-first-death-queue": "q", "kafka_receivedTopic": "t", "amqp_receivedRoutingKey": "rk",
		"traceparent":                   "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		stream.HeaderFunctionDefinition: "upper",
	}
}

// notCarried are the headers of inputHeaders an output never has from its
// input.
var notCarried = []string{stream.HeaderExceptionMessage, stream.HeaderOriginalTopic, stream.HeaderRetryAttempts,
	stream.HeaderReplayCount, "x-death", "x-first-death-queue", "kafka_receivedTopic", "amqp_receivedRoutingKey",
	stream.HeaderFunctionDefinition}

type item struct {
	N int `json:"n"`
}

// As in Spring Cloud Function, a function that returns a payload passes
// the input's headers on to its output (less the per-delivery ones), so
// that the output's partition-key-expression headers['key'] finds the
// key; a function that returns a Message sets its output's headers.
func TestOutputCarriesInputHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, def string
		add       func(*stream.Catalog)
		// explicit: the output's headers are the Message's, not the input's.
		explicit bool
	}{
		{"bytes", "upper", func(c *stream.Catalog) {
			stream.AddFunction(c, "upper", func(_ context.Context, b []byte) ([]byte, error) { return []byte(strings.ToUpper(string(b))), nil })
		}, false},
		{"typed", "upper", func(c *stream.Catalog) {
			stream.AddFunction(c, "upper", func(_ context.Context, i item) (item, error) { return item{i.N + 1}, nil })
		}, false},
		{"composed", "upper|more", func(c *stream.Catalog) {
			stream.AddFunction(c, "upper", func(_ context.Context, i item) (item, error) { return item{i.N + 1}, nil })
			stream.AddFunction(c, "more", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
		}, false},
		{"message", "upper", func(c *stream.Catalog) {
			stream.AddFunction(c, "upper", func(_ context.Context, m stream.Message[item]) (stream.Message[item], error) {
				return stream.NewMessage(m.Payload, "key", "k9"), nil
			})
		}, true},
		{"message then payload", "upper|more", func(c *stream.Catalog) {
			stream.AddFunction(c, "upper", func(_ context.Context, m stream.Message[item]) (stream.Message[item], error) {
				return stream.NewMessage(m.Payload, "key", "k9"), nil
			})
			stream.AddFunction(c, "more", func(_ context.Context, i item) (item, error) { return i, nil })
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broker := newBroker(t)
			out := tap(t, broker, "out")
			fns := stream.NewCatalog()
			tc.add(fns)
			fn := strings.ReplaceAll(tc.def, "|", "")
			cfg := &stream.Config{
				OutputBindings: "in",
				Function:       stream.FunctionConfig{Definition: tc.def},
				Bindings: map[string]stream.BindingConfig{
					"in":          {Destination: "a"},
					fn + "-in-0":  {Destination: "a", Group: "g"},
					fn + "-out-0": {Destination: "out", Producer: stream.ProducerConfig{PartitionCount: 4, PartitionKeyExpression: "headers['key']"}},
				},
			}
			r := startOn(t, broker, cfg, fns, discardLogger())
			if err := r.app.Bridge().Send(context.Background(), "in", stream.Envelope{Payload: []byte(`{"n":1}`), Headers: inputHeaders()}); err != nil {
				t.Fatal(err)
			}
			m := recv(t, out)
			key := "k0"
			if tc.explicit {
				key = "k9"
			}
			want := strconv.Itoa(stream.SelectPartition(stream.PartitionHash(key), 4))
			// The partition key selects the partition only: no message key.
			if m.Headers["key"] != key || m.Headers[stream.HeaderPartition] != want || len(m.Key) != 0 {
				t.Errorf("key %q (header %q), partition %q; want header %s in %s and no message key", m.Key, m.Headers["key"], m.Headers[stream.HeaderPartition], key, want)
			}
			if tenant := m.Headers["tenant"]; (tenant == "acme") == tc.explicit {
				t.Errorf("tenant header %q (the function returns a Message: %v)", tenant, tc.explicit)
			}
			for _, h := range append(notCarried, "traceparent") {
				if v, ok := m.Headers[h]; ok {
					t.Errorf("output carries %s=%q of its input", h, v)
				}
			}
			if id := m.Headers[stream.HeaderID]; id == "in-1" {
				t.Errorf("output has its input's id %q", id)
			}
		})
	}
}

// With tracing, the output's traceparent is its send span's, not the
// input's copied.
func TestOutputTraceparentIsItsOwn(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	broker := newBroker(t)
	out := tap(t, broker, "out")
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "upper", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	cfg := &stream.Config{
		OutputBindings: "in",
		Function:       stream.FunctionConfig{Definition: "upper"},
		Bindings: map[string]stream.BindingConfig{
			"in":          {Destination: "a"},
			"upper-in-0":  {Destination: "a", Group: "g"},
			"upper-out-0": {Destination: "out"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.Factory(broker)), stream.WithoutSignals(),
		stream.WithLogger(discardLogger()), stream.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	h := inputHeaders()
	if err := r.app.Bridge().Send(context.Background(), "in", stream.Envelope{Payload: []byte(`x`), Headers: h}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, out)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	var send sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "send out" {
			send = s
		}
	}
	if send == nil {
		t.Fatal("no send span")
	}
	tp0 := m.Headers["traceparent"]
	if !strings.Contains(tp0, send.SpanContext().SpanID().String()) || !strings.Contains(tp0, send.SpanContext().TraceID().String()) {
		t.Errorf("output traceparent %q, want that of its send span %s", tp0, send.SpanContext().SpanID())
	}
	if m.Headers["tenant"] != "acme" {
		t.Errorf("tenant %q", m.Headers["tenant"])
	}
}

// On RabbitMQ too, in a vhost of the test's own: the key header of the
// input reaches the output's partition-key-expression and its consumer.
func TestOutputCarriesInputHeadersRabbit(t *testing.T) {
	vhost := rabbittest.VHost(t)
	got := make(chan stream.Headers, 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "upper", func(_ context.Context, b []byte) ([]byte, error) { return []byte(strings.ToUpper(string(b))), nil })
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[[]byte]) error { got <- m.Headers; return nil })
	cfg := &stream.Config{
		OutputBindings: "in",
		DefaultBinder:  "rabbit",
		Function:       stream.FunctionConfig{Definition: "upper;sink"},
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: rabbit.Type,
			Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost}}},
		Bindings: map[string]stream.BindingConfig{
			"in":          {Destination: "a", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"upper-in-0":  {Destination: "a", Group: "g"},
			"upper-out-0": {Destination: "b", Producer: stream.ProducerConfig{PartitionCount: 1, PartitionKeyExpression: "headers['key']", RequiredGroups: []string{"g"}}},
			"sink-in-0":   {Destination: "b", Group: "g"},
		},
	}
	r := start(t, cfg, fns, stream.WithBinderType(rabbit.Type, rabbit.New))
	if err := r.app.Bridge().Send(context.Background(), "in", stream.Envelope{Payload: []byte(`x`), Headers: inputHeaders()}); err != nil {
		t.Fatal(err)
	}
	h := recv(t, got)
	if h["key"] != "k0" || h["tenant"] != "acme" || h[stream.HeaderPartition] != "0" {
		t.Errorf("sink got headers %v; want key k0, tenant acme, partition 0", h)
	}
	in := inputHeaders()
	for _, k := range append(notCarried, "traceparent") {
		v, ok := h[k]
		// The sink's own delivery has an amqp_receivedRoutingKey (b-0, as
		// every RabbitMQ delivery has, as Spring AMQP's): the input's (rk)
		// must not be it.
		if ok && (k != "amqp_receivedRoutingKey" || v == in[k]) {
			t.Errorf("output carries %s=%q of its input", k, v)
		}
	}
	if v := h["amqp_receivedRoutingKey"]; v != "b-0" {
		t.Errorf("sink's amqp_receivedRoutingKey %q, want its own delivery's b-0", v)
	}
}
