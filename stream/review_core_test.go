package stream_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// bomb panics when marshalled as JSON for its first n marshals.
type bomb struct{ n *atomic.Int64 }

func (b bomb) MarshalJSON() ([]byte, error) {
	if b.n.Add(-1) >= 0 {
		panic("marshal boom")
	}
	return []byte(`"ok"`), nil
}

// A panic of a supplier — a polled one, the value it returns (its
// MarshalJSON), a function composed after it, or an event-driven source —
// is an error like a handler's, not the end of the process: the panic went
// up the supplier's goroutine and crashed the test binary. A polled
// supplier goes on with its next poll; a source ends, logged as if it had
// returned an error.
func TestSupplierPanicDoesNotCrash(t *testing.T) {
	polled := func(fns *stream.Catalog) {
		var n atomic.Int64
		stream.AddSupplier(fns, "tick", func(context.Context) (string, error) {
			if n.Add(1) == 1 {
				panic("supplier boom")
			}
			return "ok", nil
		})
	}
	for _, tc := range []struct {
		name, def string
		add       func(*stream.Catalog)
		log       string
	}{
		{"polled", "tick", polled, "supplier boom"},
		{"marshal", "tick", func(fns *stream.Catalog) {
			n := new(atomic.Int64)
			n.Store(1)
			stream.AddSupplier(fns, "tick", func(context.Context) (bomb, error) { return bomb{n}, nil })
		}, "marshal boom"},
		{"composed first", "tick|same", func(fns *stream.Catalog) {
			polled(fns)
			stream.AddFunction(fns, "same", func(_ context.Context, s string) (string, error) { return s, nil })
		}, "supplier boom"},
		{"composed later", "tick|same", func(fns *stream.Catalog) {
			var n atomic.Int64
			stream.AddSupplier(fns, "tick", func(context.Context) (string, error) { return "ok", nil })
			stream.AddFunction(fns, "same", func(_ context.Context, s string) (string, error) {
				if n.Add(1) == 1 {
					panic("function boom")
				}
				return s, nil
			})
		}, "function boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broker := newBroker(t)
			got := tap(t, broker, "d")
			fns := stream.NewCatalog()
			tc.add(fns)
			cfg := &stream.Config{
				Function: stream.FunctionConfig{Definition: tc.def},
				Bindings: map[string]stream.BindingConfig{tc.def + "-out-0": {Destination: "d",
					Producer: stream.ProducerConfig{Poller: stream.PollerConfig{FixedDelay: time.Millisecond}}}},
			}
			var logs syncbuf.Buffer
			r := startOn(t, broker, cfg, fns, slog.New(slog.NewTextHandler(&logs, nil)))
			if m := recv(t, got); string(bytes.Trim(m.Payload, `"`)) != "ok" {
				t.Fatalf("payload %q", m.Payload)
			}
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			// Logged as an error: "supplier failed", or for the value's
			// MarshalJSON "supplier output not sent" (the emit's error).
			if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, tc.log) {
				t.Fatalf("the panic is not logged as a failure; log:\n%s", l)
			}
		})
	}
	t.Run("source", func(t *testing.T) {
		fns := stream.NewCatalog()
		ended := make(chan struct{})
		stream.AddSource(fns, "src", func(ctx context.Context, emit stream.Emitter[string]) error {
			defer close(ended)
			if err := emit(ctx, "first"); err != nil {
				return err
			}
			panic("source boom")
		})
		cfg := &stream.Config{
			Function: stream.FunctionConfig{Definition: "src"},
			Bindings: map[string]stream.BindingConfig{"src-out-0": {Destination: "d"}},
		}
		var logs syncbuf.Buffer
		r := startOn(t, newBroker(t), cfg, fns, slog.New(slog.NewTextHandler(&logs, nil)))
		recv(t, ended)
		if err := r.stop(); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if l := logs.String(); !strings.Contains(l, "source ended with an error") || !strings.Contains(l, "source boom") {
			t.Fatalf("the source's panic is not logged; log:\n%s", l)
		}
	})
}

// A panic of a binding's ErrorHandler is logged and the message is
// dead-lettered with its own error: the panic went up the handler's
// goroutine, where the memory binder turned it into the message's error
// (the dead letter said "memory: handler panicked: ...") and a binder that
// relies on the core's recovery (Kafka; a pipelined send's failure on any
// binder, handled on a goroutine of its own) crashed the process.
func TestErrorHandlerPanicIsLogged(t *testing.T) {
	var logs syncbuf.Buffer
	r, dead, _ := dlqApp(t, func(context.Context, Order) error { return errors.New("the handler's error") }, fastRetry(2),
		stream.WithErrorHandler("work-in-0", func(context.Context, stream.FailedMessage) { panic("error handler boom") }),
		stream.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := r.app.Bridge().Send(context.Background(), "in", Order{OrderID: "o-1"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, dead)
	if got := m.Headers[stream.HeaderExceptionMessage]; got != "the handler's error" {
		t.Fatalf("dead letter's %s = %q, want the handler's error", stream.HeaderExceptionMessage, got)
	}
	_ = r.stop()
	if l := logs.String(); !strings.Contains(l, "error handler panicked") || !strings.Contains(l, "error handler boom") {
		t.Fatalf("the error handler's panic is not logged; log:\n%s", l)
	}
}

// A stray '|' in stream.function.definition is named as such: it was
// reported as `function "" is not registered (registered: ...)`, which
// does not say what is wrong with "parse|".
func TestDefinitionStrayPipe(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "f", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddConsumer(fns, "a", func(context.Context, string) error { return nil })
	for _, def := range []string{"f|", "|a", "f||a", "f | ;a"} {
		_, err := stream.NewApp(&stream.Config{Function: stream.FunctionConfig{Definition: def}}, fns,
			stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(discardLogger()))
		if err == nil {
			t.Fatalf("%q: no error", def)
		}
		if msg := err.Error(); strings.Contains(msg, `function "" is not registered`) || !strings.Contains(msg, "a '|' without a function name on each side") {
			t.Errorf("%q: %s", def, msg)
		}
	}
}

// In a composition, a part that takes a stream.Message of the previous
// part's plain output gets the headers that output carries, as
// docs/conventions.md says ("in a composition a|b the headers pass from
// part to part the same way"): it got none when the types differed (the
// output was re-encoded and decoded without headers), e.g. string ->
// Message[string], Order -> Message[[]byte].
func TestComposedMessagePartGetsCarriedHeaders(t *testing.T) {
	got := make(chan stream.Headers, 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "bang", func(_ context.Context, s string) (string, error) { return s + "!", nil })
	stream.AddFunction(fns, "order", func(_ context.Context, s string) (Order, error) { return Order{OrderID: s}, nil })
	stream.AddFunction(fns, "mark", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		return stream.NewMessage(m.Payload, "x-set", "by-mark"), nil
	})
	stream.AddConsumer(fns, "str", func(_ context.Context, m stream.Message[string]) error { got <- m.Headers; return nil })
	stream.AddConsumer(fns, "ord", func(_ context.Context, m stream.Message[Order]) error { got <- m.Headers; return nil })
	stream.AddConsumer(fns, "raw", func(_ context.Context, m stream.Message[[]byte]) error { got <- m.Headers; return nil })
	for _, tc := range []struct {
		def  string
		want stream.Headers
	}{
		{"bang|str", stream.Headers{"x-trace": "t1"}},
		{"order|ord", stream.Headers{"x-trace": "t1"}},
		{"order|raw", stream.Headers{"x-trace": "t1"}},
		{"bang|order|raw", stream.Headers{"x-trace": "t1"}},
		{"mark|bang|str", stream.Headers{"x-set": "by-mark"}}, // a Message's headers replace the input's
	} {
		t.Run(tc.def, func(t *testing.T) {
			r := start(t, fedBySrc(tc.def, ""), fns)
			if err := r.app.Bridge().Send(context.Background(), "src", stream.NewMessage("x", "x-trace", "t1")); err != nil {
				t.Fatal(err)
			}
			h := recv(t, got)
			if len(h) != len(tc.want) {
				t.Fatalf("headers %v, want %v", h, tc.want)
			}
			for k, v := range tc.want {
				if h[k] != v {
					t.Fatalf("headers %v, want %v", h, tc.want)
				}
			}
		})
	}
}

// When the inputs' drain takes the whole shutdown-timeout (a handler that
// ignores its ctx), Run's error names that, and not the bridge: with the
// deadline passed, closing the bridge reported "evicted producers still
// closing" with none evicted, and "sends still in flight" for a dynamic
// destination's producer no send used (select picked the ended ctx before
// the goroutine that would have said otherwise ran).
func TestShutdownTimeoutBlamesOnlyTheDrain(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	inHandler := make(chan struct{}, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error {
		inHandler <- struct{}{}
		<-release // ignores ctx
		return nil
	})
	cfg := fedBySrc("sink", "")
	cfg.ShutdownTimeout = 100 * time.Millisecond
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "elsewhere", "x"); err != nil { // a dynamic destination
		t.Fatal(err)
	}
	if err := r.app.Bridge().Send(context.Background(), "src", "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, inHandler)
	err := r.stop()
	if err == nil || !strings.Contains(err.Error(), "sink-in-0") {
		t.Fatalf("Run: %v, want the drain's error", err)
	}
	if strings.Contains(err.Error(), "bridge") {
		t.Fatalf("Run's error blames the bridge, which had nothing in flight: %v", err)
	}
}

// A source's emit called once the app shuts down, with a ctx of the
// caller's (a goroutine the source started, an HTTP handler it serves),
// fails with ErrBindingStopped when the output binding is not started: it
// waited for the binding to start again, which it never does — for ever,
// a goroutine left behind by Run. Both an emit waiting when shutdown
// begins (the binding stopped through the actuator) and one made after
// Run returned.
func TestSourceEmitDoesNotWaitPastShutdown(t *testing.T) {
	emits := make(chan stream.Emitter[string], 1)
	fns := stream.NewCatalog()
	stream.AddSource(fns, "src", func(ctx context.Context, emit stream.Emitter[string]) error {
		emits <- emit
		<-ctx.Done()
		return nil
	})
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "src"},
		Bindings: map[string]stream.BindingConfig{"src-out-0": {Destination: "d"}}}
	r := start(t, cfg, fns)
	emit := recv(t, emits)
	if err := r.app.Binding("src-out-0").Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() { waiting <- emit(context.Background(), "during") }()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	after := make(chan error, 1)
	go func() { after <- emit(context.Background(), "after") }()
	for name, ch := range map[string]chan error{"an emit waiting at shutdown": waiting, "an emit after Run": after} {
		select {
		case err := <-ch:
			if !errors.Is(err, stream.ErrBindingStopped) {
				t.Errorf("%s: %v, want ErrBindingStopped", name, err)
			}
		case <-time.After(wait):
			t.Fatalf("%s still waits", name)
		}
	}
}

// A *stream.Message[T] input or output is a Message[T] by pointer: its
// payload is T's and its headers are the message's. It went through the
// JSON converter as a plain struct: an input was decoded into the
// Message's own fields (an empty Message: the order was lost without an
// error) and an output's payload was {"Payload":...,"Headers":...} with its
// headers not set. Also as the element of a batch.
func TestPointerMessage(t *testing.T) {
	got := make(chan stream.Message[[]byte], 4)
	in := make(chan *stream.Message[Order], 4)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "pin", func(_ context.Context, m *stream.Message[Order]) error { in <- m; return nil })
	stream.AddConsumer(fns, "batch", func(_ context.Context, ms []*stream.Message[Order]) error {
		for _, m := range ms {
			in <- m
		}
		return nil
	})
	stream.AddFunction(fns, "pout", func(_ context.Context, o Order) (*stream.Message[Order], error) {
		m := stream.NewMessage(o, "x-set", "by-pout")
		return &m, nil
	})
	stream.AddConsumer(fns, "raw", func(_ context.Context, m stream.Message[[]byte]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "pin;batch;pout;raw"},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":        {Destination: "s"},
			"pin-in-0":   {Destination: "s", Group: "pin"},
			"batch-in-0": {Destination: "s", Group: "batch", Consumer: stream.ConsumerConfig{BatchMode: true}},
			"pout-in-0":  {Destination: "s", Group: "pout"},
			"pout-out-0": {Destination: "o"},
			"raw-in-0":   {Destination: "o", Group: "raw"},
		},
	}
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "src", stream.NewMessage(Order{OrderID: "o-1"}, "x-trace", "t1")); err != nil {
		t.Fatal(err)
	}
	for range 2 { // pin and batch
		if m := recv(t, in); m == nil || m.Payload.OrderID != "o-1" || m.Headers["x-trace"] != "t1" {
			t.Fatalf("input %+v, want order o-1 with header x-trace", m)
		}
	}
	m := recv(t, got)
	if string(m.Payload) != `{"orderId":"o-1","customerId":"","quantity":0,"amount":0}` || m.Headers["x-set"] != "by-pout" {
		t.Fatalf("output %s %v, want the order's JSON with header x-set", m.Payload, m.Headers)
	}
}

// resumeFails wraps the in-process binder: the consumers of destination
// "b" fail Resume while fail is set.
type resumeFails struct {
	stream.Binder
	fail *atomic.Bool
}

type resumeFailsConsumer struct {
	stream.Consumer
	fail *atomic.Bool
}

func (c resumeFailsConsumer) Resume(ctx context.Context) error {
	if c.fail.Load() {
		return errors.New("resume refused")
	}
	return c.Consumer.Resume(ctx)
}

func (r resumeFails) BindConsumer(ctx context.Context, s stream.ConsumerSpec) (stream.Consumer, error) {
	c, err := r.Binder.BindConsumer(ctx, s)
	if err != nil || s.Destination != "b" {
		return c, err
	}
	return resumeFailsConsumer{Consumer: c, fail: r.fail}, nil
}

// A Resume that fails for one consumer of a binding leaves the binding
// PAUSED, as its doc says, and nothing is delivered while it is: the
// consumers resumed before the failing one are paused again. They were
// left delivering under a PAUSED binding, whose Pause was then a no-op.
func TestResumeFailureLeavesBindingPaused(t *testing.T) {
	fail := new(atomic.Bool)
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		return resumeFails{Binder: b, fail: fail}, err
	}
	got := make(chan string, 4)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error { got <- s; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		DefaultBinder:  "rf",
		OutputBindings: "toA",
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: "a,b", Group: "g"},
			"toA":       {Destination: "a"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("rf", factory), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	b := r.app.Binding("sink-in-0")
	ctx := context.Background()
	if err := b.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	if err := b.Resume(ctx); err == nil {
		t.Fatal("Resume: no error")
	}
	if s := b.State(); s != stream.StatePaused {
		t.Fatalf("state %s after a failed Resume, want PAUSED", s)
	}
	if err := r.app.Bridge().Send(ctx, "toA", "while paused"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		t.Fatalf("%q delivered while the binding is PAUSED", s)
	case <-time.After(50 * time.Millisecond):
	}
	fail.Store(false)
	if err := b.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got); s != "while paused" {
		t.Fatalf("got %q after Resume", s)
	}
}

// Sku is a named string type: it goes through the converter (JSON here),
// as any type but string and []byte does.
type Sku string

// A batch of a named string type decodes each message as a single message
// of that type is decoded: the batch took them raw, so the JSON a
// function returning Sku sends ("abc" with its quotes) reached the batch
// consumer quoted. use-native-decoding, which hands the binder's bytes
// over unconverted, accepts string but not a named string type, whose
// messages are converted.
func TestNamedStringBatchDecodesLikeSingle(t *testing.T) {
	got := make(chan string, 4)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "mk", func(_ context.Context, s string) (Sku, error) { return Sku(s), nil })
	stream.AddConsumer(fns, "one", func(_ context.Context, s Sku) error { got <- "one " + string(s); return nil })
	stream.AddConsumer(fns, "many", func(_ context.Context, ss []Sku) error {
		for _, s := range ss {
			got <- "many " + string(s)
		}
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "mk;one;many"},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":       {Destination: "s"},
			"mk-in-0":   {Destination: "s", Group: "g"},
			"mk-out-0":  {Destination: "o"},
			"one-in-0":  {Destination: "o", Group: "one"},
			"many-in-0": {Destination: "o", Group: "many", Consumer: stream.ConsumerConfig{BatchMode: true}},
		},
	}
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "src", "abc"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{recv(t, got): true, recv(t, got): true}
	if !seen["one abc"] || !seen["many abc"] {
		t.Fatalf("got %v, want abc (unquoted) for both", seen)
	}

	native := &stream.Config{
		Function: stream.FunctionConfig{Definition: "one"},
		Bindings: map[string]stream.BindingConfig{"one-in-0": {Destination: "o", Consumer: stream.ConsumerConfig{UseNativeDecoding: true}}},
	}
	if msg := newAppErr(t, native, fns); !strings.Contains(msg, "use-native-decoding") {
		t.Fatalf("native decoding into a named string type: %q, want it refused", msg)
	}
}

// calls wraps the in-process binder: its consumers report each Stop and
// Pause (destination and operation) on called when it returns.
type calls struct {
	stream.Binder
	called chan string
}

type callsConsumer struct {
	stream.Consumer
	dest   string
	called chan string
}

func (c callsConsumer) Stop(ctx context.Context) error {
	err := c.Consumer.Stop(ctx)
	c.called <- "stop " + c.dest
	return err
}

func (c callsConsumer) Pause(ctx context.Context) error {
	err := c.Consumer.Pause(ctx)
	c.called <- "pause " + c.dest
	return err
}

func (b calls) BindConsumer(ctx context.Context, s stream.ConsumerSpec) (stream.Consumer, error) {
	c, err := b.Binder.BindConsumer(ctx, s)
	if err != nil {
		return nil, err
	}
	return callsConsumer{Consumer: c, dest: s.Destination, called: b.called}, nil
}

// A binding of several destinations stops (and pauses) the intake of all
// of them at once: one after the other, while the first destination's
// Stop waited for its handler in flight, the second destination's consumer
// went on taking messages — in a shutdown for as long as
// shutdown-timeout, and then with no time left to finish them.
func TestMultiDestinationStopStopsIntakeAtOnce(t *testing.T) {
	for _, op := range []string{"stop", "pause"} {
		t.Run(op, func(t *testing.T) {
			called := make(chan string, 4)
			factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
				b, err := memory.New(ctx, s)
				return calls{Binder: b, called: called}, err
			}
			release := make(chan struct{})
			entered := make(chan struct{}, 1)
			handled := make(chan string, 4)
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error {
				if s == "slow" {
					entered <- struct{}{}
					<-release
				}
				handled <- s
				return nil
			})
			cfg := &stream.Config{
				Function:        stream.FunctionConfig{Definition: "sink"},
				ShutdownTimeout: wait,
				DefaultBinder:   "obs",
				OutputBindings:  "toA;toB",
				Bindings: map[string]stream.BindingConfig{
					"sink-in-0": {Destination: "a,b", Group: "g"},
					"toA":       {Destination: "a"},
					"toB":       {Destination: "b"},
				},
			}
			app, err := stream.NewApp(cfg, fns, stream.WithBinderType("obs", factory), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
			if err != nil {
				t.Fatal(err)
			}
			r := runApp(t, app)
			ctx := context.Background()
			if err := app.Bridge().Send(ctx, "toA", "slow"); err != nil {
				t.Fatal(err)
			}
			recv(t, entered)
			done := make(chan error, 1)
			go func() {
				if op == "pause" {
					done <- app.Binding("sink-in-0").Pause(ctx)
				} else {
					done <- app.Binding("sink-in-0").Stop(ctx)
				}
			}()
			// b has nothing in flight: its consumer is stopped (paused) at
			// once, while a's waits for its handler.
			select {
			case got := <-called:
				if got != op+" b" {
					t.Fatalf("%s returned first, want %s b", got, op)
				}
			case <-time.After(wait / 2):
				t.Fatalf("b's consumer was not told to %s while a's waited for its handler", op)
			}
			if err := app.Bridge().Send(ctx, "toB", "after"); err != nil {
				t.Fatal(err)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if s := recv(t, handled); s != "slow" {
				t.Fatalf("handled %q", s)
			}
			select {
			case s := <-handled:
				t.Fatalf("%q handled after b's %s", s, op)
			default:
			}
			_ = r.stop()
		})
	}
}

// An input destination listed twice ("orders, orders") is a configuration
// error naming the key: the binding got two consumers of one group on it,
// so twice the concurrency and no order between them.
func TestDestinationListedTwice(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "sink"},
		Bindings: map[string]stream.BindingConfig{"sink-in-0": {Destination: "orders, b ,orders", Group: "g"}},
	}
	if msg := newAppErr(t, cfg, fns); !strings.Contains(msg, `stream.bindings.sink-in-0.destination: lists "orders" twice`) {
		t.Fatalf("got %q", msg)
	}
}

// A handler that pauses its own binding does so from another goroutine,
// as Binding.Pause's doc says (called inline it waits for itself): the
// Pause completes once the handler returned, and nothing more is
// delivered until Resume.
func TestHandlerPausesItsBinding(t *testing.T) {
	var app *stream.App
	paused := make(chan error, 1)
	got := make(chan string, 4)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(ctx context.Context, s string) error {
		got <- s
		if s == "pause" {
			go func() { paused <- app.Binding("sink-in-0").Pause(context.WithoutCancel(ctx)) }()
		}
		return nil
	})
	r := start(t, fedBySrc("sink", ""), fns)
	app = r.app
	ctx := context.Background()
	if err := app.Bridge().Send(ctx, "src", "pause"); err != nil {
		t.Fatal(err)
	}
	recv(t, got)
	if err := recv(t, paused); err != nil {
		t.Fatal(err)
	}
	if err := app.Bridge().Send(ctx, "src", "later"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		t.Fatalf("%q delivered while paused", s)
	case <-time.After(50 * time.Millisecond):
	}
	if err := app.Binding("sink-in-0").Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got); s != "later" {
		t.Fatalf("got %q", s)
	}
}

// The bridge refuses a nil *stream.Message with an error: it dereferenced
// it, a panic in the sender's goroutine.
func TestBridgeNilMessagePointer(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	r := start(t, fedBySrc("sink", ""), fns)
	err := r.app.Bridge().Send(context.Background(), "src", (*stream.Message[Order])(nil))
	var ce *stream.ConversionError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "nil message") {
		t.Fatalf("Send of a nil *Message: %v, want a conversion error", err)
	}
}

// A source's emit of a value whose MarshalJSON panics, called from a
// goroutine of the source's own (outside any recovery of the core's), is
// that emit's permanent error: the panic crashed the process. The source
// goes on, and its next emit is sent.
func TestSourceEmitPanicIsItsError(t *testing.T) {
	fns := stream.NewCatalog()
	errs := make(chan error, 2)
	got := make(chan string, 2)
	stream.AddSource(fns, "src", func(ctx context.Context, emit stream.Emitter[bomb]) error {
		go func() { // as a source serving HTTP would
			b := bomb{n: new(atomic.Int64)}
			b.n.Store(1) // the first MarshalJSON panics, the next does not
			errs <- emit(ctx, b)
			errs <- emit(ctx, b)
		}()
		<-ctx.Done()
		return nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, b []byte) error { got <- string(b); return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "src;sink"},
		Bindings: map[string]stream.BindingConfig{"src-out-0": {Destination: "d"}, "sink-in-0": {Destination: "d"}},
	}
	r := start(t, cfg, fns)
	defer r.stop()
	first := recv(t, errs)
	var pe *stream.PanicError
	if !errors.As(first, &pe) || !stream.IsPermanent(first) {
		t.Fatalf("first emit: %v, want a permanent PanicError", first)
	}
	if err := recv(t, errs); err != nil {
		t.Fatalf("second emit: %v", err)
	}
	if s := recv(t, got); s != `"ok"` {
		t.Fatalf("got %s, want \"ok\"", s)
	}
}
