package stream_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

type ccValidated struct {
	Y string
}

type ccCharge struct{ Z bool }

// ccPayment shares orderId with ccRequest (case aside), not amount.
type ccPayment struct {
	OrderID string `json:"OrderId"`
	Amt     string `json:"amt"`
	Note    string `json:"-"`
}

type ccRequest struct {
	OrderID string `json:"orderId"`
	Amount  string `json:"amount"`
}

type ccEmbedded struct {
	ccCharge        // Z, promoted
	Other    string `json:"-"`
}

// ccCents is a named string, decoded through the converter.
type ccCents string

// ccOwn marshals itself: what it makes of a value is its own.
type ccOwn struct{ A int }

func (o ccOwn) MarshalJSON() ([]byte, error) { return []byte(`{"Z":true}`), nil }

func composeErr(t *testing.T, def string, fns *stream.Catalog, opts ...stream.Option) error {
	t.Helper()
	cfg := loadYAML(t, "stream:\n  function:\n    definition: "+def+"\n")
	_, err := stream.NewApp(cfg, fns, append(typesOpts("memory"), opts...)...)
	return err
}

// A user's trial: validate returns a struct, charge takes another struct
// that shares no JSON field with it. The JSON between the parts decoded a
// charge whose every field was zero, without a word; the composition is
// refused at start-up, naming both parts and types.
func TestCompositionOfStructsSharingNoFieldRefused(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "validate", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{Y: "y"}, nil })
	stream.AddFunction(fns, "charge", func(_ context.Context, c ccCharge) (ccCharge, error) { return c, nil })
	err := composeErr(t, "validate|charge", fns)
	want := "composition validate|charge: the output of validate (stream_test.ccValidated: fields Y) shares no JSON field with the input of charge (stream_test.ccCharge: fields Z): every field would be zero; compose through a function converting stream_test.ccValidated to stream_test.ccCharge"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("NewApp: %v\nwant it to contain %q", err, want)
	}
	if !strings.Contains(err.Error(), "stream.function.definition") {
		t.Errorf("not at the definition's key: %v", err)
	}
}

// The check reads the types as the JSON between the parts does: Message
// and pointer parts by their payloads, json tags (and "-"), embedded
// structs' promoted fields.
func TestCompositionCheckMessageAndPointerParts(t *testing.T) {
	for _, c := range []struct {
		name   string
		add    func(fns *stream.Catalog)
		refuse string // "" starts
	}{
		{"message output", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (stream.Message[ccValidated], error) {
				return stream.Message[ccValidated]{}, nil
			})
			stream.AddConsumer(fns, "b", func(_ context.Context, c ccCharge) error { return nil })
		}, "the output of a (stream_test.ccValidated: fields Y) shares no JSON field with the input of b (stream_test.ccCharge: fields Z)"},
		{"message input", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, c stream.Message[ccCharge]) error { return nil })
		}, "shares no JSON field with the input of b (stream_test.ccCharge: fields Z)"},
		{"pointer message both", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (*stream.Message[*ccValidated], error) { return nil, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, c *stream.Message[ccCharge]) error { return nil })
		}, "the output of a (stream_test.ccValidated: fields Y) shares no JSON field"},
		{"pointers", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (*ccValidated, error) { return nil, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, c *ccCharge) error { return nil })
		}, "the output of a (stream_test.ccValidated: fields Y) shares no JSON field with the input of b (stream_test.ccCharge: fields Z)"},
		{"tags, case", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccPayment, error) { return ccPayment{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, c ccValidated) error { return nil })
		}, "the output of a (stream_test.ccPayment: fields OrderId, amt) shares no JSON field with the input of b (stream_test.ccValidated: fields Y)"},
		{"embedded", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccEmbedded, error) { return ccEmbedded{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, c ccCharge) error { return nil })
		}, ""},
		{"embedded, none shared", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccEmbedded, error) { return ccEmbedded{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, c ccValidated) error { return nil })
		}, "(stream_test.ccEmbedded: fields Z) shares no JSON field"},
		{"identical", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (Order, error) { return o, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, o Order) error { return nil })
		}, ""},
		{"pointer to the same", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (*Order, error) { return &o, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, m stream.Message[Order]) error { return nil })
		}, ""},
		{"own MarshalJSON", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccOwn, error) { return ccOwn{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, c ccCharge) error { return nil })
		}, ""},
		{"map input", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, m map[string]any) error { return nil })
		}, ""},
		{"empty struct input", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, _ struct{}) error { return nil })
		}, ""},
		// A struct is a JSON object: no number, bool or (named) string
		// decodes from it; a string or []byte input takes its bytes.
		{"struct to int", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, n int) error { return nil })
		}, "composition a|b: the output of a (stream_test.ccValidated, a JSON object) does not decode into the input of b (int): every message would fail"},
		{"struct to *bool in a Message", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (*ccValidated, error) { return nil, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, m stream.Message[*bool]) error { return nil })
		}, "does not decode into the input of b (*bool)"},
		{"struct to named string", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, c ccCents) error { return nil })
		}, "does not decode into the input of b (stream_test.ccCents)"},
		{"struct to string", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, s string) error { return nil })
		}, ""},
		{"struct to Message[[]byte]", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, m stream.Message[[]byte]) error { return nil })
		}, ""},
		{"struct to json.RawMessage", func(fns *stream.Catalog) {
			stream.AddFunction(fns, "a", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{}, nil })
			stream.AddConsumer(fns, "b", func(_ context.Context, m json.RawMessage) error { return nil })
		}, ""},
	} {
		fns := stream.NewCatalog()
		c.add(fns)
		err := composeErr(t, "a|b", fns)
		switch {
		case c.refuse == "" && err != nil:
			t.Errorf("%s: NewApp: %v", c.name, err)
		case c.refuse != "" && (err == nil || !strings.Contains(err.Error(), c.refuse)):
			t.Errorf("%s: NewApp: %v\nwant it to contain %q", c.name, err, c.refuse)
		}
	}
}

// An application's own application/json converter decides what JSON
// means: the check stands aside.
func TestCompositionCheckOwnJSONConverter(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "validate", func(_ context.Context, o Order) (ccValidated, error) { return ccValidated{}, nil })
	stream.AddConsumer(fns, "charge", func(_ context.Context, c ccCharge) error { return nil })
	if err := composeErr(t, "validate|charge", fns, stream.WithConverter("application/json", ccJSON{})); err != nil {
		t.Fatal(err)
	}
}

type ccJSON struct{ stream.JSONConverter }

// warnRecorder keeps the messages and attributes of the WARNs logged.
type warnRecorder struct {
	ch chan map[string]string
}

func (w warnRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (w warnRecorder) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w warnRecorder) WithGroup(string) slog.Handler            { return w }
func (w warnRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn || !strings.HasPrefix(r.Message, "composition") {
		return nil
	}
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	w.ch <- m
	return nil
}

// Parts whose structs share some fields are a projection: they start,
// with one WARN naming the input's fields the output does not have, and
// the shared fields pass from part to part; []byte parts on either side
// of a struct part convert through JSON, as before.
func TestCompositionProjectionAndBytesStart(t *testing.T) {
	got := make(chan ccRequest, 1)
	raw := make(chan []byte, 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "bytes", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	stream.AddFunction(fns, "pay", func(_ context.Context, o Order) (ccPayment, error) {
		return ccPayment{OrderID: o.OrderID, Amt: "12.50"}, nil
	})
	stream.AddFunction(fns, "request", func(_ context.Context, r ccRequest) (ccRequest, error) { got <- r; return r, nil })
	stream.AddConsumer(fns, "sink", func(_ context.Context, b []byte) error { raw <- b; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "bytes|pay|request|sink"},
		OutputBindings: "raw",
		Bindings: map[string]stream.BindingConfig{
			"raw":                         {Destination: "raw", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"bytes|pay|request|sink-in-0": {Destination: "raw", Group: "g"},
		},
	}
	warns := make(chan map[string]string, 10)
	r := start(t, cfg, fns, stream.WithLogger(slog.New(warnRecorder{ch: warns})))
	if len(warns) != 1 {
		t.Fatalf("%d WARNs at start, want 1", len(warns))
	}
	w := <-warns
	if w["composition"] != "bytes|pay|request|sink" || w["fields"] != "amount" ||
		w["output"] != "pay (stream_test.ccPayment)" || w["input"] != "request (stream_test.ccRequest)" {
		t.Errorf("WARN: %v", w)
	}
	if err := r.app.Bridge().Send(context.Background(), "raw", []byte(`{"orderId":"o-1"}`)); err != nil {
		t.Fatal(err)
	}
	if req := recv(t, got); req != (ccRequest{OrderID: "o-1"}) {
		t.Errorf("request got %+v, want the shared orderId only", req)
	}
	if b := recv(t, raw); string(b) != `{"orderId":"o-1","amount":""}` {
		t.Errorf("sink got %s", b)
	}
	if len(warns) != 0 {
		t.Errorf("WARN after start: %v", <-warns)
	}
}
