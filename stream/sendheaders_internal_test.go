package stream

import (
	"log/slog"
	"testing"
)

// TestPrepareSendLeavesContentTypeToBinder: an output without a
// contentType header reaches the producer as it is; the binder writes the
// binding's content type (ProducerSpec.ContentType, checked for every
// binder by the bindertest conformance suite). Stamping it here cost a copy
// of the headers map per message (two allocations on the pipelined Kafka
// path).
func TestPrepareSendLeavesContentTypeToBinder(t *testing.T) {
	b := newBinding("fn-out-0", false, BindingConfig{Destination: "out", ContentType: "application/octet-stream"}, "b", "memory", slog.New(slog.DiscardHandler))
	b.state.Store(StateStarted)
	for _, in := range []Envelope{{Payload: []byte("x")}, {Payload: []byte("x"), Headers: Headers{"a": "1"}}} {
		var out Envelope
		allocs := testing.AllocsPerRun(100, func() {
			out = in
			if err := b.prepareSend(&out, nil); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("headers %v: %v allocations a send; want 0", in.Headers, allocs)
		}
		if _, ok := out.Headers[HeaderContentType]; ok || len(out.Headers) != len(in.Headers) {
			t.Errorf("headers %v became %v; want them unchanged", in.Headers, out.Headers)
		}
	}
}
