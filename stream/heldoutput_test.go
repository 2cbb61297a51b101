package stream_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// heldDelay is the memory broker's redelivery-delay in the held-output
// tests: short, so that a function called again at every redelivery (the
// behaviour they guard against) is called many times in heldWindow.
const (
	heldDelay  = 10 * time.Millisecond
	heldWindow = 30 * heldDelay
)

// asyncOutBinder is a memory binder whose producers send without waiting
// (stream.AsyncProducer), so that, with pipeliningBinder's consumers, a
// function binding processes pipelined (processAsync).
type asyncOutBinder struct{ stream.Binder }

func (b asyncOutBinder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	p, err := b.Binder.BindProducer(ctx, spec)
	if err != nil {
		return nil, err
	}
	return asyncProducer{p}, nil
}

type asyncProducer struct{ stream.Producer }

func (p asyncProducer) SendAsync(ctx context.Context, m stream.Envelope, done func(error)) {
	go func() { done(p.Send(ctx, m)) }()
}

// lineCounter is a slog handler that counts the records whose message
// contains sub.
type lineCounter struct {
	sub string
	mu  sync.Mutex
	n   int
	buf bytes.Buffer
}

func (h *lineCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *lineCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.sub) {
		h.mu.Lock()
		h.n++
		fmt.Fprintf(&h.buf, "%s %s\n", r.Level, r.Message)
		h.mu.Unlock()
	}
	return nil
}
func (h *lineCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lineCounter) WithGroup(string) slog.Handler      { return h }
func (h *lineCounter) count() (int, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n, h.buf.String()
}

// heldRig is an app whose function "relay" (in -> out) runs on a memory
// broker with redelivery-delay heldDelay; seen gets the input messages
// of each call of it.
type heldRig struct {
	broker *memory.Broker
	r      *running
	seen   chan []string
	out    <-chan stream.Envelope // what reaches the held output's destination
	in     *stream.Binding
	held   *stream.Binding // the output binding the test stops or pauses
	logs   *lineCounter
}

type heldCase struct {
	name      string
	pipelined bool
	batch     bool
	routed    bool // the function's output goes to side-out by HeaderSendToDestination
	concur    int
}

func newHeldRig(t *testing.T, c heldCase) *heldRig {
	t.Helper()
	broker, err := memory.NewBroker(memory.Config{RedeliveryDelay: heldDelay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	rig := &heldRig{broker: broker, seen: make(chan []string, 100), logs: &lineCounter{sub: "outputs wait until"}}
	fns := stream.NewCatalog()
	switch {
	case c.batch:
		stream.AddFunction(fns, "relay", func(_ context.Context, ss []string) (string, error) {
			rig.seen <- ss
			return strings.Join(ss, ","), nil
		})
	case c.routed:
		stream.AddFunction(fns, "relay", func(_ context.Context, s string) (stream.Message[string], error) {
			rig.seen <- []string{s}
			return stream.NewMessage(s, stream.HeaderSendToDestination, "side-out"), nil
		})
	default:
		stream.AddFunction(fns, "relay", func(_ context.Context, s string) (string, error) {
			rig.seen <- []string{s}
			return s, nil
		})
	}
	consumer := fastRetry(3)
	consumer.Concurrency = c.concur
	consumer.BatchMode = c.batch
	consumer.MaxInFlight = 8
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "relay"},
		OutputBindings: "side-out",
		Bindings: map[string]stream.BindingConfig{
			"relay-in-0":  {Destination: "in", Group: "g", ContentType: "text/plain", Consumer: consumer},
			"relay-out-0": {Destination: "out", ContentType: "text/plain"},
			"side-out":    {Destination: "side", ContentType: "text/plain"},
		},
		ShutdownTimeout: 30 * time.Second,
	}
	factory := memory.Factory(broker)
	if c.pipelined {
		factory = func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
			b, err := memory.Factory(broker)(ctx, s)
			if err != nil {
				return nil, err
			}
			return pipeliningBinder{asyncOutBinder{b}}, nil
		}
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, factory), stream.WithoutSignals(),
		stream.WithLogger(slog.New(rig.logs)))
	if err != nil {
		t.Fatal(err)
	}
	rig.r = runApp(t, app)
	rig.in = app.Binding("relay-in-0")
	if c.routed {
		rig.held, rig.out = app.Binding("side-out"), tap(t, broker, "side")
	} else {
		rig.held, rig.out = app.Binding("relay-out-0"), tap(t, broker, "out")
	}
	return rig
}

// send sends n inputs m-0 ... and returns their payloads.
func (rig *heldRig) send(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprint("m-", i)
		if err := rig.r.app.Bridge().Send(context.Background(), "relay-in-0", id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// calls waits until the function was called for want messages and returns
// them.
func (rig *heldRig) calls(t *testing.T, want int) []string {
	t.Helper()
	var got []string
	for len(got) < want {
		select {
		case ss := <-rig.seen:
			got = append(got, ss...)
		case <-time.After(wait):
			t.Fatalf("the function was called for %d messages %v, want %d", len(got), got, want)
		}
	}
	return got
}

// noMoreCalls asserts that the function is not called within heldWindow.
func (rig *heldRig) noMoreCalls(t *testing.T, why string) {
	t.Helper()
	select {
	case ss := <-rig.seen:
		t.Fatalf("%s: the function was called again for %v within %s (redelivery-delay %s)", why, ss, heldWindow, heldDelay)
	case <-time.After(heldWindow):
	}
}

// outputs receives the payloads of n outputs (a batch's are split at ',').
func (rig *heldRig) outputs(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		select {
		case m := <-rig.out:
			got = append(got, strings.Split(string(m.Payload), ",")...)
		case <-time.After(wait):
			t.Fatalf("%d outputs %v, want %d", len(got), got, n)
		}
	}
	return got
}

// processed waits until the input binding counted n messages processed
// (acknowledged).
func (rig *heldRig) processed(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for rig.in.Stats().Processed < n {
		if time.Now().After(deadline) {
			t.Fatalf("input stats %+v, want %d processed", rig.in.Stats(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %v, want each of %v once", what, got, want)
	}
}

// A function whose output binding is paused or stopped is called once
// for each input: its output waits until the binding is resumed (or
// started), and the input is acknowledged once it was sent. Each output
// send failed at once: the input was left for redelivery and the function
// called again every redelivery-delay (max-attempts calls each time), for
// as long as the output stayed paused — its side effects repeated, every
// call counted as an error and a retry and logged.
func TestHeldOutputCallsFunctionOnce(t *testing.T) {
	const n = 4
	for _, c := range []heldCase{
		{name: "paused", concur: n},
		{name: "stopped", concur: n},
		{name: "pipelined", pipelined: true, concur: n},
		{name: "batch", batch: true, concur: n},
		{name: "routed", routed: true, concur: n},
	} {
		t.Run(c.name, func(t *testing.T) {
			rig := newHeldRig(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			change, undo, state := rig.held.Pause, rig.held.Resume, "PAUSED"
			if c.name == "stopped" {
				change, undo, state = rig.held.Stop, rig.held.Start, "STOPPED"
			}
			if err := change(ctx); err != nil {
				t.Fatal(err)
			}
			ids := rig.send(t, n)
			sameSet(t, "the function's inputs", rig.calls(t, n), ids)
			rig.noMoreCalls(t, "output "+state)
			in, out := rig.in.Stats(), rig.held.Stats()
			if in.Errors != 0 || in.Retried != 0 || in.Failed != 0 || out.Errors != 0 || in.Processed != 0 {
				t.Errorf("while the output is %s: input stats %+v, output stats %+v; want no errors, no retries, nothing processed yet", state, in, out)
			}
			if in.InFlight != n {
				t.Errorf("in flight while the output is %s: %d, want the %d held inputs", state, in.InFlight, n)
			}
			if lines, text := rig.logs.count(); lines != 1 || !strings.Contains(text, "INFO output "+rig.held.Name()+" is "+state+": function relay's outputs wait until") {
				t.Errorf("%d log lines about the held outputs, want one INFO:\n%s", lines, text)
			}
			if err := undo(ctx); err != nil {
				t.Fatal(err)
			}
			sameSet(t, "outputs", rig.outputs(t, n), ids)
			rig.processed(t, n)
			select {
			case m := <-rig.out:
				t.Fatalf("a duplicate output %q", m.Payload)
			case ss := <-rig.seen:
				t.Fatalf("the function called again for %v after the output was started", ss)
			case <-time.After(heldWindow):
			}
			if in := rig.in.Stats(); in.Errors != 0 || in.Retried != 0 || in.InFlight != 0 {
				t.Errorf("input stats %+v after the output was started, want no errors, no retries, nothing in flight", in)
			}
		})
	}
}

// A Stop or Pause of the input binding, or the app's shutdown, ends the
// waits of its function's outputs for a paused output at once — they wait
// for the handlers in flight, which wait for the output — and leaves the
// inputs for redelivery: handled again, and their outputs sent, once the
// output is resumed and the input started (in the same app or the next).
func TestHeldOutputLetsInputStop(t *testing.T) {
	const n = 3
	for _, how := range []string{"stop input", "pause input", "shutdown"} {
		for _, pipelined := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s pipelined=%v", how, pipelined), func(t *testing.T) {
				rig := newHeldRig(t, heldCase{pipelined: pipelined, concur: n})
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				if err := rig.held.Pause(ctx); err != nil {
					t.Fatal(err)
				}
				ids := rig.send(t, n)
				sameSet(t, "the function's inputs", rig.calls(t, n), ids)
				begin := time.Now()
				var err error
				switch how {
				case "stop input":
					err = rig.in.Stop(ctx)
				case "pause input":
					err = rig.in.Pause(ctx)
				default:
					err = rig.r.stop()
				}
				if took := time.Since(begin); err != nil || took > 2*time.Second {
					t.Fatalf("%s with the output paused: %v after %s", how, err, took)
				}
				if in := rig.in.Stats(); in.Errors != 0 || in.Retried != 0 || in.Processed != 0 || in.Failed != 0 {
					t.Errorf("input stats %+v after %s, want no errors, retries, nothing processed or failed", in, how)
				}
				if how == "shutdown" {
					// The next app on the broker handles them.
					next := newHeldRigOn(t, rig.broker, pipelined, n)
					sameSet(t, "the inputs handled again", next.calls(t, n), ids)
					sameSet(t, "outputs", next.outputs(t, n), ids)
					next.processed(t, n)
					return
				}
				rig.noMoreCalls(t, how)
				if err := rig.held.Resume(ctx); err != nil {
					t.Fatal(err)
				}
				if err := rig.in.Start(ctx); err != nil {
					t.Fatal(err)
				}
				sameSet(t, "the inputs handled again", rig.calls(t, n), ids)
				sameSet(t, "outputs", rig.outputs(t, n), ids)
				rig.processed(t, n)
			})
		}
	}
}

// newHeldRigOn is a heldRig's app on broker (a second app of the same
// broker: the first one's inputs are in its group's queue).
func newHeldRigOn(t *testing.T, broker *memory.Broker, pipelined bool, concur int) *heldRig {
	t.Helper()
	fns := stream.NewCatalog()
	rig := &heldRig{broker: broker, seen: make(chan []string, 100)}
	stream.AddFunction(fns, "relay", func(_ context.Context, s string) (string, error) {
		rig.seen <- []string{s}
		return s, nil
	})
	consumer := fastRetry(3)
	consumer.Concurrency = concur
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "relay"},
		Bindings: map[string]stream.BindingConfig{
			"relay-in-0":  {Destination: "in", Group: "g", ContentType: "text/plain", Consumer: consumer},
			"relay-out-0": {Destination: "out", ContentType: "text/plain"},
		},
	}
	rig.out = tapGroup(t, broker, "out", "tap2")
	rig.r = startOn(t, broker, cfg, fns, discardLogger())
	rig.in = rig.r.app.Binding("relay-in-0")
	return rig
}
