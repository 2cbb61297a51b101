package stream

import (
	"errors"
	"strings"
	"testing"
)

type order struct {
	OrderID  string  `json:"orderId"`
	Quantity int     `json:"quantity"`
	Amount   float64 `json:"amount"`
}

func TestCodecs(t *testing.T) {
	cx := &convCtx{binding: "b-in-0", converters: NewConverters(), contentType: DefaultContentType}

	bc := codecFor[[]byte]()
	raw := []byte("not json at all")
	got, err := bc.decode(cx, Envelope{Payload: raw}, "application/json")
	if err != nil || &got[0] != &raw[0] {
		t.Fatalf("[]byte decode must pass the payload through unchanged: %q %v", got, err)
	}
	if !bc.isNil(nil) || bc.isNil([]byte{}) {
		t.Fatal("nil []byte is no output, an empty one is")
	}

	sc := codecFor[string]()
	if s, err := sc.decode(cx, Envelope{Payload: []byte("hi")}, "text/plain"); s != "hi" || err != nil {
		t.Fatalf("string decode: %q %v", s, err)
	}

	oc := codecFor[order]()
	o, err := oc.decode(cx, Envelope{Payload: []byte(`{"orderId":"o-1","quantity":2,"amount":1.5}`)}, "application/json; charset=utf-8")
	if err != nil || o != (order{"o-1", 2, 1.5}) {
		t.Fatalf("json decode: %+v %v", o, err)
	}
	_, err = oc.decode(cx, Envelope{Payload: []byte(`{"orderId":`)}, "application/json")
	var ce *ConversionError
	if !errors.As(err, &ce) || !IsPermanent(err) || !ce.Decode {
		t.Fatalf("bad JSON must be a permanent ConversionError, got %v", err)
	}
	for _, want := range []string{"b-in-0", "application/json", "stream.order"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("conversion error %q does not name %q", err, want)
		}
	}
	if _, err := oc.decode(cx, Envelope{Payload: []byte(`x`)}, "application/x-unknown"); !IsPermanent(err) {
		t.Fatalf("unknown content type must be permanent: %v", err)
	}
	if _, err := oc.decode(cx, Envelope{Payload: []byte(`x`)}, "application/octet-stream"); !IsPermanent(err) {
		t.Fatalf("a struct from octet-stream must fail permanently: %v", err)
	}

	pc := codecFor[*order]()
	if !pc.isNil(nil) || pc.isNil(&order{}) {
		t.Fatal("pointer nil check")
	}
	ic := codecFor[any]()
	if !ic.isNil(nil) || ic.isNil(any(0)) {
		t.Fatal("interface nil check")
	}

	mc := codecFor[Message[order]]()
	m, err := mc.decode(cx, Envelope{Payload: []byte(`{"orderId":"o-2"}`), Headers: Headers{"h": "v"}}, "application/json")
	if err != nil || m.Payload.OrderID != "o-2" || m.Headers["h"] != "v" {
		t.Fatalf("Message decode: %+v %v", m, err)
	}
	data, hdr, err := mc.encode(cx, NewMessage(order{OrderID: "o-3"}, "x", "y"))
	if err != nil || string(data) != `{"orderId":"o-3","quantity":0,"amount":0}` || hdr["x"] != "y" {
		t.Fatalf("Message encode: %s %v %v", data, hdr, err)
	}
}

func TestConvertersLookup(t *testing.T) {
	cs := NewConverters()
	for _, ct := range []string{"application/json", "Application/JSON; charset=UTF-8", "application/vnd.shop.order+json", "text/plain", "application/octet-stream"} {
		if _, ok := cs.Lookup(ct); !ok {
			t.Errorf("no converter for %q", ct)
		}
	}
	if _, ok := cs.Lookup("application/avro"); ok {
		t.Error("unexpected converter for application/avro")
	}
	cs.Add("application/avro", TextConverter{})
	if _, ok := cs.Lookup("application/avro"); !ok {
		t.Error("registered converter not found")
	}

	// Wildcards, the most specific first; an exact type wins over them.
	avro, any, all, own := OctetStreamConverter{}, TextConverter{}, JSONConverter{}, TextConverter{}
	cs = NewConverters()
	cs.Add("application/*+avro", avro)
	cs.Add("application/*", any)
	cs.Add("*/*", all)
	cs.Add("application/vnd.own+avro", own)
	for ct, want := range map[string]Converter{
		"application/vnd.order.v1+avro; v=1": avro,
		"Application/*+Avro":                 avro,
		"application/vnd.own+avro":           own,
		"application/vnd.shop+json":          JSONConverter{}, // +json before application/*
		"application/x-protobuf":             any,
		"image/png":                          all,
		"text/plain":                         TextConverter{},
	} {
		if c, ok := cs.Lookup(ct); !ok || c != want {
			t.Errorf("Lookup(%q) = %T %v, want %T", ct, c, ok, want)
		}
	}
	cs = NewConverters()
	cs.Add("application/*+avro", avro)
	for _, ct := range []string{"application/x-protobuf", "text/vnd.x+avro", "application/avro"} {
		if c, ok := cs.Lookup(ct); ok {
			t.Errorf("Lookup(%q) = %T, want none", ct, c)
		}
	}
}

func TestEncodeAnyText(t *testing.T) {
	cx := &convCtx{binding: "b", converters: NewConverters(), contentType: "text/plain"}
	if _, _, err := encodeAny(cx, order{}); !IsPermanent(err) {
		t.Fatalf("a struct as text/plain must fail: %v", err)
	}
	b, _, err := encodeAny(cx, "hi")
	if err != nil || string(b) != "hi" {
		t.Fatalf("%q %v", b, err)
	}
	b, h, err := encodeAny(&convCtx{converters: NewConverters(), contentType: DefaultContentType}, NewMessage(order{OrderID: "o"}, "k", "v"))
	if err != nil || h["k"] != "v" || !strings.Contains(string(b), `"orderId":"o"`) {
		t.Fatalf("%s %v %v", b, h, err)
	}
}

func TestRetryBackOff(t *testing.T) {
	p := newRetryPolicy(ConsumerConfig{MaxAttempts: 5, BackOffInitialInterval: 100, BackOffMultiplier: 2, BackOffMaxInterval: 350})
	want := []int64{100, 200, 350, 350}
	for i, w := range want {
		if got := p.backOff(i + 1); int64(got) != w {
			t.Errorf("backOff(%d) = %d, want %d", i+1, got, w)
		}
	}
}

func TestDeadLetterHeaders(t *testing.T) {
	base := errors.New("quantity must be positive")
	err := Permanent(&ConversionError{Binding: "b", ContentType: "application/json", Type: "T", Decode: true, Err: base})
	h := DeadLetterHeaders(Headers{"orig": "1"}, err)
	if h["orig"] != "1" || h[HeaderExceptionMessage] != "binding b: cannot decode application/json as T: quantity must be positive" || h[HeaderExceptionFQCN] != "*stream.ConversionError" {
		t.Fatalf("headers: %v", h)
	}
	if n := strings.Count(h[HeaderExceptionStacktrace], "\n"); n != 1 {
		t.Fatalf("want 2 lines of error chain (the Permanent marker left out), got %q", h[HeaderExceptionStacktrace])
	}
}
