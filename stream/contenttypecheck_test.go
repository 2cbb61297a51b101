package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// An output binding whose content type no registered converter handles,
// for a function that returns a typed payload, is refused at start-up at
// the content-type key and its line, naming the binding, the type and the
// converters there are: the app started and then failed every send (a
// ported SCSt service's application/*+avro or application/x-protobuf).
// An input binding's content type is only the default of the messages
// without a contentType header of their own: the same words are a WARN at
// the key, not a refusal (TestContentTypeOfInputIsOnlyTheDefault).
func TestContentTypeWithoutConverterRefused(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "enrich", func(_ context.Context, o Order) (Order, error) { return o, nil })
	stream.AddConsumer(fns, "audit", func(context.Context, stream.Message[Payment]) error { return nil })
	stream.AddConsumer(fns, "batch", func(context.Context, []Order) error { return nil })
	for _, tc := range []struct {
		name, yaml string
		want       map[string]string // key → origin, refused
		warn       map[string]string // key → origin, warned
		says       []string
	}{
		{"own keys", `stream:
  function: {definition: enrich;audit}
  bindings:
    enrich-in-0:
      destination: orders
      content-type: application/*+avro
    enrich-out-0:
      destination: enriched
      content-type: application/x-protobuf
    audit-in-0:
      destination: payments
      content-type: application/x-protobuf; proto=shop.Payment
`, map[string]string{
			"stream.bindings.enrich-out-0.content-type": "application.yaml:9",
		}, map[string]string{
			"stream.bindings.enrich-in-0.content-type": "application.yaml:6",
			"stream.bindings.audit-in-0.content-type":  "application.yaml:12",
		}, []string{
			`binding enrich-in-0: no converter for content type "application/*+avro"`,
			`function "enrich" takes stream_test.Order`,
			`binding enrich-out-0: no converter for content type "application/x-protobuf"`,
			`function "enrich" returns stream_test.Order`,
			`function "audit" takes stream.Message[github.com/streambind/streambind/stream_test.Payment]`,
			"converters: application/json (also for any +json type), application/octet-stream, text/plain",
			"stream.WithConverter",
			"the messages without a contentType header of their own fail to decode",
		}},
		{"stream.default", `stream:
  function: {definition: batch}
  default:
    content-type: application/x-protobuf
  bindings:
    batch-in-0: {destination: orders, consumer: {batch-mode: true}}
`, nil, map[string]string{"stream.default.content-type": "application.yaml:4"}, []string{
			`binding batch-in-0: no converter for content type "application/x-protobuf"`,
			`function "batch" takes stream_test.Order`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warns, err := newAppWarned(loadYAML(t, tc.yaml), fns, typesOpts("memory")...)
			var es stream.ConfigErrors
			if len(tc.want) > 0 && !errors.As(err, &es) {
				t.Fatalf("NewApp: %v, want configuration errors", err)
			}
			if len(tc.want) == 0 && err != nil {
				t.Fatalf("NewApp: %v, want it to start", err)
			}
			got := map[string]string{}
			for _, e := range es {
				got[e.Path] = e.Origin
			}
			for k, o := range tc.want {
				if g, ok := got[k]; !ok || g != o {
					t.Errorf("no error at %s (%s):\n%v", k, o, err)
				}
			}
			if len(es) != len(tc.want) {
				t.Errorf("%d errors, want %d:\n%v", len(es), len(tc.want), err)
			}
			warned := map[string]string{}
			text := fmt.Sprint(err)
			for _, w := range warns {
				warned[w.property] = w.origin
				text += "\n" + w.msg
			}
			for k, o := range tc.warn {
				if g, ok := warned[k]; !ok || g != o {
					t.Errorf("no warning at %s (%s): %v", k, o, warns)
				}
			}
			if len(warns) != len(tc.warn) {
				t.Errorf("%d warnings, want %d: %v", len(warns), len(tc.warn), warns)
			}
			for _, s := range tc.says {
				if !strings.Contains(text, s) {
					t.Errorf("neither error nor warning says %q:\n%s", s, text)
				}
			}
		})
	}
}

// ctWarning is a WARN NewApp logged about a binding's content type.
type ctWarning struct{ msg, property, origin string }

// ctWarnHandler collects the WARNs whose property is a content-type key.
type ctWarnHandler struct {
	mu  *sync.Mutex
	got *[]ctWarning
}

func (h ctWarnHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h ctWarnHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h ctWarnHandler) WithGroup(string) slog.Handler            { return h }
func (h ctWarnHandler) Handle(_ context.Context, r slog.Record) error {
	w := ctWarning{msg: r.Message}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "property":
			w.property = a.Value.String()
		case "origin":
			w.origin = a.Value.String()
		}
		return true
	})
	if r.Level == slog.LevelWarn && strings.HasSuffix(w.property, "content-type") {
		h.mu.Lock()
		*h.got = append(*h.got, w)
		h.mu.Unlock()
	}
	return nil
}

// newAppWarned runs NewApp and returns the content-type WARNs it logged
// and its error.
func newAppWarned(cfg *stream.Config, fns *stream.Catalog, opts ...stream.Option) ([]ctWarning, error) {
	var got []ctWarning
	h := ctWarnHandler{mu: &sync.Mutex{}, got: &got}
	_, err := stream.NewApp(cfg, fns, append(opts, stream.WithLogger(slog.New(h)))...)
	return got, err
}

// An input binding's content type is the default of the messages without
// a contentType header of their own: a service whose
// stream.default.content-type is text/plain (for its string output) and
// whose input takes JSON orders, labelled application/json by their
// producers as SCSt's and streambind's label them, decoded every one until
// b07b546/c95ab7b refused it at start-up. So did a function returning a
// Message that carries its contentType header, under a binding of a type
// no converter has. Both start, with a WARN at the key, and convert.
func TestContentTypeOfInputIsOnlyTheDefault(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "label", func(_ context.Context, o Order) (string, error) { return "order " + o.OrderID, nil })
	stream.AddFunction(fns, "pass", func(_ context.Context, o Order) (stream.Message[Order], error) {
		return stream.Message[Order]{Payload: o, Headers: stream.Headers{stream.HeaderContentType: "application/json"}}, nil
	})
	cfg := loadYAML(t, `stream:
  function: {definition: label;pass}
  default:
    content-type: text/plain
  bindings:
    label-in-0: {destination: orders, group: g}
    label-out-0: {destination: labels}
    pass-in-0: {destination: more, group: g, content-type: application/json}
    pass-out-0: {destination: passed, content-type: application/x-protobuf}
`)
	warns, err := newAppWarned(cfg, fns, typesOpts("memory")...)
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	want := map[string]string{"stream.default.content-type": "application.yaml:4", "stream.bindings.pass-out-0.content-type": "application.yaml:9"}
	if len(warns) != len(want) {
		t.Errorf("warnings %v, want one at each of %v", warns, want)
	}
	for _, w := range warns {
		if want[w.property] != w.origin {
			t.Errorf("warning at %s (%s): %s", w.property, w.origin, w.msg)
		}
	}
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "label-in-0", Order{OrderID: "o-1"}, stream.HeaderContentType, "application/json")
	if m, err := env.ReceiveEnvelope("label-out-0"); err != nil || string(m.Payload) != "order o-1" {
		t.Errorf("label-out-0: %q %v, want order o-1", m.Payload, err)
	}
	env.Send(t, "pass-in-0", Order{OrderID: "o-2"})
	if m, err := env.ReceiveEnvelope("pass-out-0"); err != nil || string(m.Payload) != `{"orderId":"o-2","customerId":"","quantity":0,"amount":0}` {
		t.Errorf("pass-out-0: %s %v, want the order's JSON", m.Payload, err)
	}
}

// What works today stays allowed: []byte and string payloads (and
// Messages, batches of them) pass through whatever the content type, as in
// SCSt; parameters, case and +json types (application/*+json too) find the
// JSON converter; a registered converter serves its type; native
// decoding and encoding leave the bytes to the binder.
func TestContentTypeConvertersAllowed(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "raw", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	stream.AddFunction(fns, "text", func(_ context.Context, s string) (*stream.Message[string], error) { return nil, nil })
	stream.AddConsumer(fns, "msg", func(context.Context, stream.Message[[]byte]) error { return nil })
	stream.AddConsumer(fns, "batchraw", func(context.Context, [][]byte) error { return nil })
	stream.AddConsumer(fns, "batchmsg", func(context.Context, []stream.Message[string]) error { return nil })
	stream.AddSupplier(fns, "tick", func(context.Context) ([]byte, error) { return nil, nil })
	stream.AddFunction(fns, "typed", func(_ context.Context, o Order) (Order, error) { return o, nil })
	stream.AddFunction(fns, "native", func(_ context.Context, b []byte) (stream.Message[[]byte], error) {
		return stream.Message[[]byte]{}, nil
	})
	stream.AddFunction(fns, "avro", func(_ context.Context, o Order) (Order, error) { return o, nil })
	yaml := `stream:
  function: {definition: raw;text;msg;batchraw;batchmsg;tick;typed;native;avro}
  default:
    content-type: application/x-protobuf
  bindings:
    raw-in-0: {destination: a, content-type: "application/*+avro"}
    text-in-0: {destination: b}
    msg-in-0: {destination: c, content-type: image/png}
    batchraw-in-0: {destination: d, consumer: {batch-mode: true}}
    batchmsg-in-0: {destination: e, consumer: {batch-mode: true}}
    typed-in-0: {destination: f, content-type: "application/json;charset=UTF-8"}
    typed-out-0: {destination: g, content-type: "application/*+json"}
    native-in-0: {destination: h, consumer: {use-native-decoding: true}}
    native-out-0: {destination: i, producer: {use-native-encoding: true}}
    avro-in-0: {destination: j, content-type: "application/*+avro"}
    avro-out-0: {destination: k, content-type: "Application/X-Protobuf; proto=shop.Order"}
`
	opts := append(typesOpts("memory"), stream.WithConverter("application/*+avro", stream.JSONConverter{}),
		stream.WithConverter("application/x-protobuf", stream.JSONConverter{}))
	if _, err := stream.NewApp(loadYAML(t, yaml), fns, opts...); err != nil {
		t.Fatalf("NewApp with the converters registered: %v", err)
	}
	// Without them, only the outputs of the functions that need a
	// converter are refused, and their inputs warned.
	warns, err := newAppWarned(loadYAML(t, yaml), fns, typesOpts("memory")...)
	if len(warns) != 1 || warns[0].property != "stream.bindings.avro-in-0.content-type" {
		t.Errorf("warnings %v, want one, at stream.bindings.avro-in-0.content-type", warns)
	}
	var es stream.ConfigErrors
	if !errors.As(err, &es) {
		t.Fatalf("NewApp: %v, want configuration errors", err)
	}
	var paths []string
	for _, e := range es {
		paths = append(paths, e.Path)
	}
	if want := []string{"stream.bindings.avro-out-0.content-type"}; strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("refused %v, want only %v:\n%v", paths, want, err)
	}
	for _, ct := range []string{"APPLICATION/JSON; charset=utf-8", "application/vnd.shop.order+json"} {
		cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "typed"}, Bindings: map[string]stream.BindingConfig{
			"typed-in-0": {Destination: "f", ContentType: ct}, "typed-out-0": {Destination: "g", ContentType: ct}}}
		if _, err := stream.NewApp(cfg, fns, typesOpts("memory")...); err != nil {
			t.Errorf("content type %q: %v", ct, err)
		}
	}
}

// textID is text/plain both ways; binID application/octet-stream.
type textID struct{ v string }

func (t textID) MarshalText() ([]byte, error)    { return []byte(t.v), nil }
func (t *textID) UnmarshalText(b []byte) error   { t.v = string(b); return nil }
func (t textID) MarshalBinary() ([]byte, error)  { return []byte(t.v), nil }
func (t *textID) UnmarshalBinary(b []byte) error { t.v = string(b); return nil }
func (s shownOnly) String() string               { return string(s) }

// shownOnly is a fmt.Stringer: text/plain encodes it, cannot decode it.
type shownOnly string

// The built-in text/plain and application/octet-stream converters serve
// only the types their own type switches take: a struct output as
// text/plain failed every message, so it is refused at start-up too,
// naming what the converter takes (an input warned, as a message's own
// contentType header picks its converter); a registered converter for the
// type is not second-guessed.
func TestContentTypeBuiltinConverterCannotServeType(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "order", func(_ context.Context, o Order) (Order, error) { return o, nil })
	stream.AddConsumer(fns, "orders", func(context.Context, []stream.Message[Order]) error { return nil })
	stream.AddFunction(fns, "id", func(_ context.Context, id textID) (textID, error) { return id, nil })
	stream.AddFunction(fns, "ptr", func(_ context.Context, s *string) (*[]byte, error) { return nil, nil })
	stream.AddFunction(fns, "shown", func(_ context.Context, id *textID) (shownOnly, error) { return "", nil })
	stream.AddFunction(fns, "named", func(_ context.Context, id textID) (shownOnly, error) { return "", nil })
	stream.AddSupplier(fns, "anything", func(context.Context) (any, error) { return nil, nil })
	bind := func(def, ct string, batch bool) *stream.Config {
		return &stream.Config{Function: stream.FunctionConfig{Definition: def}, Bindings: map[string]stream.BindingConfig{
			def + "-in-0":  {Destination: "in", ContentType: ct, Consumer: stream.ConsumerConfig{BatchMode: batch}},
			def + "-out-0": {Destination: "out", ContentType: ct},
		}}
	}
	for _, tc := range []struct {
		def, ct string
		batch   bool
		want    []string // what is said: refused ("cannot encode", an output) or warned ("cannot decode", an input); nil for nothing
	}{
		{"order", "text/plain", false, []string{
			`stream.bindings.order-in-0.content-type: binding order-in-0: content type "text/plain" has the converter stream.TextConverter, which cannot decode stream_test.Order, the type function "order" takes: it decodes only string, []byte and encoding.TextUnmarshaler types`,
			`stream.bindings.order-out-0.content-type: binding order-out-0: content type "text/plain" has the converter stream.TextConverter, which cannot encode stream_test.Order, the type function "order" returns: it encodes only string, []byte, fmt.Stringer and encoding.TextMarshaler types`,
		}},
		{"order", "application/octet-stream; x=y", false, []string{
			`stream.bindings.order-in-0.content-type: binding order-in-0: content type "application/octet-stream; x=y" has the converter stream.OctetStreamConverter, which cannot decode stream_test.Order`,
			`which cannot encode stream_test.Order, the type function "order" returns: it encodes only []byte, string and encoding.BinaryMarshaler types`,
		}},
		{"orders", "text/plain", true, []string{`which cannot decode stream.Message[github.com/streambind/streambind/stream_test.Order], the type function "orders" takes`}},
		{"named", "application/octet-stream", false, []string{`which cannot encode stream_test.shownOnly, the type function "named" returns`}},
		{"shown", "text/plain", false, []string{`which cannot decode *stream_test.textID, the type function "shown" takes`}},
		{"order", "application/vnd.shop+json", false, nil},
		{"id", "text/plain", false, nil},
		{"id", "application/octet-stream", false, nil},
		{"ptr", "text/plain", false, nil},
		{"ptr", "application/octet-stream", false, nil},
		{"named", "text/plain", false, nil},
		{"anything", "text/plain", false, nil},
	} {
		warns, err := newAppWarned(bind(tc.def, tc.ct, tc.batch), fns, typesOpts("memory")...)
		var refused, warned int
		for _, w := range tc.want {
			if strings.Contains(w, "cannot encode") {
				refused++
			} else {
				warned++
			}
		}
		var es stream.ConfigErrors
		if refused > 0 && (!errors.As(err, &es) || len(es) != refused) || refused == 0 && err != nil {
			t.Errorf("%s as %s: %v, want %d errors", tc.def, tc.ct, err, refused)
			continue
		}
		if len(warns) != warned {
			t.Errorf("%s as %s: warnings %v, want %d", tc.def, tc.ct, warns, warned)
		}
		text := fmt.Sprint(err)
		for _, w := range warns {
			text += "\n" + w.property + ": " + w.msg
		}
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s as %s: neither error nor warning says %q:\n%s", tc.def, tc.ct, w, text)
			}
		}
	}
	// A converter registered for text/plain is the user's: not checked.
	if _, err := stream.NewApp(bind("order", "text/plain", false), fns, append(typesOpts("memory"), stream.WithConverter("text/plain", stream.JSONConverter{}))...); err != nil {
		t.Errorf("order as text/plain with a registered converter: %v", err)
	}
}

// A converter registered for a wildcard type, as SCSt's Avro converter is
// for application/*+avro, serves the types it matches
// (application/vnd.order.v1+avro): the binding starts and its messages
// convert both ways. Refused at start-up without it, and before, each
// message failed with "no converter registered" though one was.
func TestContentTypeWildcardConverter(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relabel", func(_ context.Context, o ctOrder) (ctOrder, error) {
		o.ID += "!"
		return o, nil
	})
	const avro = "application/vnd.order.v1+avro"
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "relabel"}, Bindings: map[string]stream.BindingConfig{
		"relabel-in-0":  {Destination: "in", Group: "g", ContentType: avro, Consumer: stream.ConsumerConfig{DLQ: true}},
		"relabel-out-0": {Destination: "out", ContentType: avro + "; v=1"},
	}}
	env := streamtest.Start(t, cfg, fns, stream.WithConverter("Application/*+Avro", upperConverter{}))
	env.Send(t, "relabel-in-0", "UPPER:O-7", stream.HeaderContentType, avro)
	m, err := env.ReceiveEnvelope("relabel-out-0")
	if err != nil || string(m.Payload) != "UPPER:O-7!" {
		t.Errorf("output %q %v, want UPPER:O-7! (application/*+avro's converter both ways)", m.Payload, err)
	}
	env.ExpectNoDeadLetter(t, "relabel-in-0")
	for _, ct := range []string{"application/*", "*/*"} {
		if _, err := stream.NewApp(cfg, fns, append(typesOpts("memory"), stream.WithConverter(ct, upperConverter{}))...); err != nil {
			t.Errorf("with a converter for %s: %v", ct, err)
		}
	}
	for _, ct := range []string{"application/*+json", "text/*", "application/x-protobuf"} {
		_, err := stream.NewApp(cfg, fns, append(typesOpts("memory"), stream.WithConverter(ct, upperConverter{}))...)
		if err == nil || !strings.Contains(err.Error(), `no converter for content type "application/vnd.order.v1+avro; v=1"`) {
			t.Errorf("with a converter for %s only: %v, want refused", ct, err)
		}
	}
}
