package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// A function's output carries its input's NativeHeaders (values in the
// input binder's own types) only to a producer of the input's binder
// type: another kind would send them as text and warn of each message.
// Two type names share one in-process broker here, so that the output is
// read back whichever binder sends it.
func TestNativeHeadersCarriedToSameBinderTypeOnly(t *testing.T) {
	testNativeHeadersCarried(t, "pass", "pass")
}

// A composition's output carries them as a single function's does (the
// chain's output got none).
func TestNativeHeadersCarriedByComposition(t *testing.T) {
	testNativeHeadersCarried(t, "pass|again", "passagain")
}

func testNativeHeadersCarried(t *testing.T, definition, binding string) {
	for _, tc := range []struct {
		outBinder string
		want      bool
	}{{"a", true}, {"b", false}} {
		t.Run("output on "+tc.outBinder, func(t *testing.T) {
			broker := newBroker(t)
			out := tap(t, broker, "native-out")
			fns := stream.NewCatalog()
			stream.AddFunction(fns, "pass", func(_ context.Context, p []byte) ([]byte, error) { return p, nil })
			stream.AddFunction(fns, "again", func(_ context.Context, p []byte) ([]byte, error) { return p, nil })
			cfg := loadYAML(t, `stream:
  function:
    definition: `+definition+`
  default-binder: a
  binders:
    a:
      type: memory
    b:
      type: memoryb
  bindings:
    `+binding+`-in-0:
      destination: native-in
      group: g
    `+binding+`-out-0:
      destination: native-out
      binder: `+tc.outBinder+`
`)
			app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.Factory(broker)),
				stream.WithBinderType("memoryb", memory.Factory(broker)), stream.WithoutSignals(), stream.WithLogger(discardLogger()))
			if err != nil {
				t.Fatal(err)
			}
			r := runApp(t, app)
			defer func() { _ = r.stop() }()

			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			bi, err := memory.Factory(broker)(ctx, stream.BinderSettings{Name: "in", Type: memory.Type})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = bi.Close(context.Background()) }()
			p, err := bi.BindProducer(ctx, stream.ProducerSpec{Binding: "in", Destination: "native-in", ContentType: "text/plain"})
			if err != nil {
				t.Fatal(err)
			}
			native := map[string]any{"priority": int32(5), "gone": true}
			if err := p.Send(ctx, stream.Envelope{Payload: []byte("x"), Headers: stream.Headers{"priority": "5"}, NativeHeaders: native}); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-out:
				v, ok := m.NativeHeaders["priority"]
				if ok != tc.want || ok && v != int32(5) {
					t.Errorf("output NativeHeaders %v; want priority int32(5): %v", m.NativeHeaders, tc.want)
				}
				if _, ok := m.NativeHeaders["gone"]; ok {
					t.Errorf("output NativeHeaders %v carry gone, which names no header of the output", m.NativeHeaders)
				}
			case <-time.After(wait):
				t.Fatal("no output")
			}
		})
	}
}
