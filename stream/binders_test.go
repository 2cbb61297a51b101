package stream_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// Two named binders of one type are separate brokers: a message sent on one
// never reaches a consumer of the same destination on the other.
func TestSeveralNamedBinders(t *testing.T) {
	gotA, gotB := make(chan string, 10), make(chan string, 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "onA", func(_ context.Context, s string) error { gotA <- s; return nil })
	stream.AddConsumer(fns, "onB", func(_ context.Context, s string) error { gotB <- s; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "onA;onB"},
		DefaultBinder:  "a",
		OutputBindings: "toA;toB",
		Binders: map[string]stream.BinderConfig{
			"a": {Type: "memory"},
			"b": {Type: "memory", Environment: map[string]any{"buffer-size": 16}},
		},
		Bindings: map[string]stream.BindingConfig{
			"toA":      {Destination: "events"},
			"toB":      {Destination: "events", Binder: "b"},
			"onA-in-0": {Destination: "events", Group: "g"},
			"onB-in-0": {Destination: "events", Group: "g", Binder: "b"},
		},
	}
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "toA", "for a"); err != nil {
		t.Fatal(err)
	}
	if err := r.app.Bridge().Send(context.Background(), "toB", "for b"); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, gotA); s != "for a" {
		t.Fatalf("a got %q", s)
	}
	if s := recv(t, gotB); s != "for b" {
		t.Fatalf("b got %q", s)
	}
	_ = r.stop()
	if len(gotA)+len(gotB) != 0 {
		t.Fatal("a message crossed binders")
	}
	if n := len(r.app.Binders()); n != 2 {
		t.Fatalf("%d binders, want 2", n)
	}
	if b := r.app.Binding("onB-in-0"); b.Binder() != "b" || b.BinderType() != "memory" {
		t.Fatalf("onB-in-0 on %s (%s)", b.Binder(), b.BinderType())
	}
}

// rot13 is a custom "text/rot13" converter for strings.
type rot13 struct{}

func rot(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		}
		return r
	}, s)
}

func (rot13) Marshal(v any) ([]byte, error) {
	if w, ok := v.(Word); ok {
		return []byte(rot(string(w))), nil
	}
	return nil, fmt.Errorf("rot13: %T", v)
}

func (rot13) Unmarshal(b []byte, v any) error {
	if w, ok := v.(*Word); ok {
		*w = Word(rot(string(b)))
		return nil
	}
	return fmt.Errorf("rot13: %T", v)
}

// Word is a payload type the rot13 converter handles.
type Word string

func TestCustomConverterAndKeyExtractor(t *testing.T) {
	got := make(chan stream.Message[[]byte], 10)
	words := make(chan Word, 10)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, w Word) (Word, error) { return w, nil })
	stream.AddConsumer(fns, "raw", func(_ context.Context, m stream.Message[[]byte]) error { got <- m; return nil })
	stream.AddConsumer(fns, "typed", func(_ context.Context, w Word) error { words <- w; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "relay;raw;typed"},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":         {Destination: "in", ContentType: "text/rot13"},
			"relay-in-0":  {Destination: "in", Group: "g", ContentType: "text/rot13"},
			"relay-out-0": {Destination: "out", ContentType: "text/rot13", Producer: stream.ProducerConfig{PartitionKeyExtractorName: "firstLetter", PartitionCount: 4, RequiredGroups: []string{"g", "h"}}},
			"raw-in-0":    {Destination: "out", Group: "g"},
			"typed-in-0":  {Destination: "out", Group: "h"},
		},
	}
	firstLetter := func(payload any, _ stream.Headers) (any, error) { return string(payload.(Word)[:1]), nil }
	r := start(t, cfg, fns, stream.WithConverter("text/rot13", rot13{}), stream.WithKeyExtractor("firstLetter", firstLetter))
	if err := r.app.Bridge().Send(context.Background(), "src", "Uryyb"); err != nil { // rot13("Hello")
		t.Fatal(err)
	}
	m := recv(t, got)
	if string(m.Payload) != "Uryyb" || m.Headers[stream.HeaderContentType] != "text/rot13" {
		t.Fatalf("raw output %q %v", m.Payload, m.Headers)
	}
	if want := fmt.Sprint(stream.SelectPartition(stream.StringHash("H"), 4)); m.Headers[stream.HeaderPartition] != want {
		t.Fatalf("partition %q, want %s", m.Headers[stream.HeaderPartition], want)
	}
	if w := recv(t, words); w != "Hello" {
		t.Fatalf("typed consumer got %q (the contentType header must select the rot13 converter)", w)
	}
}
