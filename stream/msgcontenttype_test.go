package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// ctOrder is encoded differently by each converter of these tests.
type ctOrder struct {
	ID string `json:"id"`
}

// String makes ctOrder a text/plain payload too (JSON ignores it).
func (o ctOrder) String() string { return "order " + o.ID }

// upperConverter is a converter registered for application/x-upper.
type upperConverter struct{}

func (upperConverter) Marshal(v any) ([]byte, error) {
	o, ok := v.(ctOrder)
	if !ok {
		return nil, fmt.Errorf("x-upper: %T", v)
	}
	return []byte("UPPER:" + strings.ToUpper(o.ID)), nil
}

func (upperConverter) Unmarshal(data []byte, v any) error {
	o, ok := v.(*ctOrder)
	s, found := strings.CutPrefix(string(data), "UPPER:")
	if !ok || !found {
		return fmt.Errorf("x-upper: %T from %q", v, data)
	}
	o.ID = strings.ToLower(s)
	return nil
}

// A Message output's contentType header picks the converter of its
// payload (CONVENTIONS: content-type, "header contentType on the message
// wins"), with the lookup inputs use (case and parameters ignored, +json
// as JSON); the binding's converter encoded it before, whatever the header
// said, and sent JSON labelled text/plain or application/x-upper.
func TestMessageOutputContentTypeHeaderPicksConverter(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "label", func(_ context.Context, in stream.Message[string]) (stream.Message[ctOrder], error) {
		return stream.NewMessage(ctOrder{ID: "o-1"}, stream.HeaderContentType, in.Payload), nil
	})
	stream.AddFunction(fns, "raw", func(_ context.Context, in string) (stream.Message[[]byte], error) {
		return stream.NewMessage([]byte("\x89PNG"), stream.HeaderContentType, in), nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "label;raw"},
		Bindings: map[string]stream.BindingConfig{
			"label-in-0":  {Destination: "label-in", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true}},
			"label-out-0": {Destination: "label-out"},
			"raw-in-0":    {Destination: "raw-in", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true}},
			"raw-out-0":   {Destination: "raw-out"},
		},
	}
	env := streamtest.Start(t, cfg, fns, stream.WithConverter("application/x-upper", upperConverter{}))

	for _, c := range []struct{ ct, want string }{
		{"application/x-upper", "UPPER:O-1"},
		{"Application/X-Upper; charset=utf-8", "UPPER:O-1"},
		{"text/plain", "order o-1"},
		{"application/vnd.shop+json", `{"id":"o-1"}`},
		{"application/json", `{"id":"o-1"}`},
	} {
		env.Send(t, "label-in-0", c.ct)
		m, err := env.ReceiveEnvelope("label-out-0")
		if err != nil {
			t.Fatalf("%s: %v", c.ct, err)
		}
		if string(m.Payload) != c.want || m.Headers[stream.HeaderContentType] != c.ct {
			t.Errorf("output with contentType %q: sent %q labelled %q, want %q labelled as given", c.ct, m.Payload, m.Headers[stream.HeaderContentType], c.want)
		}
	}
	env.ExpectNoDeadLetter(t, "label-in-0")

	// []byte (and string) payloads travel as they are, whatever the label,
	// even one no converter is registered for.
	env.Send(t, "raw-in-0", "image/png")
	if m, err := env.ReceiveEnvelope("raw-out-0"); err != nil || string(m.Payload) != "\x89PNG" || m.Headers[stream.HeaderContentType] != "image/png" {
		t.Errorf("raw Message output: %q %v %v", m.Payload, m.Headers, err)
	}
	env.ExpectNoDeadLetter(t, "raw-in-0")

	// No converter for the header's content type: the input is
	// dead-lettered with a ConversionError naming the output binding, the
	// content type and the type, and nothing mislabelled is sent.
	env.Send(t, "label-in-0", "application/x-unknown")
	dl, err := env.DeadLetter("label-in-0")
	if err != nil {
		t.Fatal(err)
	}
	msg := dl.Headers[stream.HeaderExceptionMessage]
	for _, want := range []string{"label-out-0", "cannot encode application/x-unknown", "stream_test.ctOrder", "no converter"} {
		if !strings.Contains(msg, want) {
			t.Errorf("dead letter's exception message %q does not say %q", msg, want)
		}
	}
	env.ExpectNoOutput(t, "label-out-0")
}

// The send bridge encodes a Message by its contentType header too, and
// refuses one whose content type has no converter.
func TestBridgeMessageContentTypeHeaderPicksConverter(t *testing.T) {
	cfg := &stream.Config{
		OutputBindings: "out",
		Bindings:       map[string]stream.BindingConfig{"out": {Destination: "out"}},
	}
	env := streamtest.Start(t, cfg, stream.NewCatalog(), stream.WithConverter("application/x-upper", upperConverter{}))
	br := env.App.Bridge()
	ctx := context.Background()

	if err := br.Send(ctx, "out", stream.NewMessage(ctOrder{ID: "o-2"}, stream.HeaderContentType, "application/x-upper")); err != nil {
		t.Fatal(err)
	}
	if m, err := env.ReceiveEnvelope("out"); err != nil || string(m.Payload) != "UPPER:O-2" {
		t.Errorf("bridge Message with contentType application/x-upper: sent %q (%v)", m.Payload, err)
	}
	p := &stream.Message[ctOrder]{Payload: ctOrder{ID: "o-3"}, Headers: stream.Headers{stream.HeaderContentType: "text/plain"}}
	if err := br.Send(ctx, "out", p); err != nil {
		t.Fatal(err)
	}
	if m, err := env.ReceiveEnvelope("out"); err != nil || string(m.Payload) != "order o-3" {
		t.Errorf("bridge *Message with contentType text/plain: sent %q (%v)", m.Payload, err)
	}
	if e, err := br.Encode("out", stream.NewMessage(ctOrder{ID: "o-4"}, stream.HeaderContentType, "application/x-upper")); err != nil || string(e.Payload) != "UPPER:O-4" {
		t.Errorf("Bridge.Encode of a Message with contentType application/x-upper: %q %v", e.Payload, err)
	}
	if err := br.Send(ctx, "out", stream.NewMessage([]byte("as is"), stream.HeaderContentType, "image/png")); err != nil {
		t.Fatalf("a []byte Message needs no converter: %v", err)
	}
	if m, err := env.ReceiveEnvelope("out"); err != nil || string(m.Payload) != "as is" {
		t.Errorf("bridge []byte Message: sent %q (%v)", m.Payload, err)
	}

	err := br.Send(ctx, "out", stream.NewMessage(ctOrder{ID: "o-5"}, stream.HeaderContentType, "application/x-unknown"))
	var ce *stream.ConversionError
	if !errors.As(err, &ce) || !stream.IsPermanent(err) || ce.Binding != "out" || ce.ContentType != "application/x-unknown" || ce.Type != "stream_test.ctOrder" {
		t.Fatalf("bridge Message with an unregistered contentType: want a permanent ConversionError naming out, application/x-unknown and stream_test.ctOrder, got %v", err)
	}
	env.ExpectNoOutput(t, "out")
}

// In a composition a|b, a Message a returns is decoded for b by its
// contentType header, the converter it was encoded with.
func TestCompositionMessageContentTypeHeader(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "a", func(_ context.Context, id string) (stream.Message[ctOrder], error) {
		return stream.NewMessage(ctOrder{ID: id}, stream.HeaderContentType, "application/x-upper"), nil
	})
	stream.AddFunction(fns, "b", func(_ context.Context, o ctOrder) (string, error) { return "got " + o.ID, nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "a|b"},
		Bindings: map[string]stream.BindingConfig{
			"a|b-in-0":  {Destination: "ab-in", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true}},
			"a|b-out-0": {Destination: "ab-out"},
		},
	}
	env := streamtest.Start(t, cfg, fns, stream.WithConverter("application/x-upper", upperConverter{}))
	env.Send(t, "a|b-in-0", "o-6")
	if m, err := env.ReceiveEnvelope("a|b-out-0"); err != nil || string(m.Payload) != "got o-6" {
		t.Errorf("composition: sent %q (%v)", m.Payload, err)
	}
	env.ExpectNoDeadLetter(t, "a|b-in-0")
}
