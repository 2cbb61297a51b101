package stream

import (
	"context"
	"log/slog"
	"testing"
)

type discardProducer struct{}

func (discardProducer) Send(context.Context, Envelope) error { return nil }
func (discardProducer) Close(context.Context) error          { return nil }

// A supplier's or source's []byte output is sent without an allocation of
// the core's: looking for a Message's key (4a259f9) boxed every value
// into an interface, one allocation an emit whatever its type; only a
// Message is looked at now. A Message's key is still sent.
func TestEmitBytesDoesNotAllocate(t *testing.T) {
	b := newBinding("src-out-0", false, BindingConfig{Destination: "out"}, "b", "memory", slog.New(slog.DiscardHandler))
	b.state.Store(StateStarted)
	b.producer = discardProducer{}
	rt := &runtimeBinding{out: b, outCx: convCtx{binding: "src-out-0", contentType: DefaultContentType}, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	p := []byte("payload")
	c := codecFor[[]byte]()
	if n := testing.AllocsPerRun(1000, func() {
		if err := emitValue(ctx, rt, c, p, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations an emit of []byte; want 0", n)
	}
	var sent Envelope
	b.producer = producerFunc(func(_ context.Context, env Envelope) error { sent = env; return nil })
	if err := emitValue(ctx, rt, codecFor[Message[[]byte]](), Message[[]byte]{Payload: p, Key: []byte("k")}, nil); err != nil {
		t.Fatal(err)
	}
	if string(sent.Key) != "k" {
		t.Errorf("a Message emitted with key k was sent with key %q", sent.Key)
	}
}

type producerFunc func(context.Context, Envelope) error

func (f producerFunc) Send(ctx context.Context, env Envelope) error { return f(ctx, env) }
func (producerFunc) Close(context.Context) error                    { return nil }

// A Message output's key is read in place (codec.key), not by boxing
// the Message into an interface to ask it: one allocation a Message
// output of a function or a source.
func TestCodecKeyDoesNotAllocate(t *testing.T) {
	m := Message[string]{Payload: "p", Headers: Headers{"a": "b"}, Key: []byte("k")}
	c, pc := codecFor[Message[string]](), codecFor[*Message[string]]()
	if string(c.key(m)) != "k" || string(pc.key(&m)) != "k" || pc.key(nil) != nil {
		t.Fatalf("keys %q %q %q, want k k nil", c.key(m), pc.key(&m), pc.key(nil))
	}
	if n := testing.AllocsPerRun(100, func() { c.key(m); pc.key(&m) }); n != 0 {
		t.Errorf("%v allocations reading a Message's key; want 0", n)
	}
}
