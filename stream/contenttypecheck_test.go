package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// A binding whose content type no registered converter handles, for a
// function that needs one (a typed input or output), is refused at
// start-up at the content-type key and its line, naming the binding, the
// type and the converters there are: the app started and then failed every
// send, and dead-lettered every message received (a ported SCSt service's
// application/*+avro or application/x-protobuf).
func TestContentTypeWithoutConverterRefused(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "enrich", func(_ context.Context, o Order) (Order, error) { return o, nil })
	stream.AddConsumer(fns, "audit", func(context.Context, stream.Message[Payment]) error { return nil })
	stream.AddConsumer(fns, "batch", func(context.Context, []Order) error { return nil })
	for _, tc := range []struct {
		name, yaml string
		want       map[string]string // key → origin
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
			"stream.bindings.enrich-in-0.content-type":  "application.yaml:6",
			"stream.bindings.enrich-out-0.content-type": "application.yaml:9",
			"stream.bindings.audit-in-0.content-type":   "application.yaml:12",
		}, []string{
			`binding enrich-in-0: no converter for content type "application/*+avro"`,
			`function "enrich" takes stream_test.Order`,
			`binding enrich-out-0: no converter for content type "application/x-protobuf"`,
			`function "enrich" returns stream_test.Order`,
			`function "audit" takes stream.Message[github.com/streambind/streambind/stream_test.Payment]`,
			"converters: application/json (also for any +json type), application/octet-stream, text/plain",
			"stream.WithConverter",
		}},
		{"stream.default", `stream:
  function: {definition: batch}
  default:
    content-type: application/x-protobuf
  bindings:
    batch-in-0: {destination: orders, consumer: {batch-mode: true}}
`, map[string]string{"stream.default.content-type": "application.yaml:4"}, []string{
			`binding batch-in-0: no converter for content type "application/x-protobuf"`,
			`function "batch" takes stream_test.Order`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stream.NewApp(loadYAML(t, tc.yaml), fns, typesOpts("memory")...)
			var es stream.ConfigErrors
			if !errors.As(err, &es) {
				t.Fatalf("NewApp: %v, want configuration errors", err)
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
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q:\n%v", s, err)
				}
			}
		})
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
	// Without them, only the functions that need a converter are refused.
	_, err := stream.NewApp(loadYAML(t, yaml), fns, typesOpts("memory")...)
	var es stream.ConfigErrors
	if !errors.As(err, &es) {
		t.Fatalf("NewApp: %v, want configuration errors", err)
	}
	var paths []string
	for _, e := range es {
		paths = append(paths, e.Path)
	}
	if want := []string{"stream.bindings.avro-in-0.content-type", "stream.bindings.avro-out-0.content-type"}; strings.Join(paths, " ") != strings.Join(want, " ") {
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
// only the types their own type switches take: a struct as text/plain
// failed every message, so it is refused at start-up too, naming what the
// converter takes; a registered converter for the type is not second-guessed.
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
		want    []string // "" for none
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
		_, err := stream.NewApp(bind(tc.def, tc.ct, tc.batch), fns, typesOpts("memory")...)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s as %s: %v", tc.def, tc.ct, err)
			}
			continue
		}
		var es stream.ConfigErrors
		if !errors.As(err, &es) || len(es) != len(tc.want) {
			t.Errorf("%s as %s: %v, want %d errors", tc.def, tc.ct, err, len(tc.want))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s as %s: error does not say %q:\n%v", tc.def, tc.ct, w, err)
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
		if err == nil || !strings.Contains(err.Error(), `no converter for content type "application/vnd.order.v1+avro"`) {
			t.Errorf("with a converter for %s only: %v, want refused", ct, err)
		}
	}
}
