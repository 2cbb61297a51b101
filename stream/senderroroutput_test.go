package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// failingBinder is an in-process binder whose producers fail every send
// with err: an output broker that does not take the messages.
type failingBinder struct {
	stream.Binder
	err   error
	async bool // producers that send without waiting (pipelined processing)
}

func (b *failingBinder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	p, err := b.Binder.BindProducer(ctx, spec)
	if err != nil {
		return nil, err
	}
	if b.async {
		return &failingAsyncProducer{failingProducer{Producer: p, err: b.err}}, nil
	}
	return &failingProducer{Producer: p, err: b.err}, nil
}

type failingAsyncProducer struct{ failingProducer }

func (p *failingAsyncProducer) SendAsync(_ context.Context, _ stream.Envelope, done func(error)) {
	done(p.err)
}

type failingProducer struct {
	stream.Producer
	err error
}

func (p *failingProducer) Send(context.Context, stream.Envelope) error { return p.err }

// pipeliningBinder is an in-process binder whose consumers hand each
// message to the spec's AsyncHandler (pipelined processing, one message
// at a time) when there is one.
type pipeliningBinder struct{ stream.Binder }

func (b pipeliningBinder) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	if async := spec.AsyncHandler; async != nil {
		spec.Handler = func(ctx context.Context, m stream.Envelope) error {
			res := make(chan error, 1)
			async(ctx, m, func(err error) { res <- err })
			return <-res
		}
		spec.AsyncHandler = nil
	}
	return b.Binder.BindConsumer(ctx, spec)
}

// logRecord is one record with its attributes, the logger's own (With)
// included.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// recordingHandler sends the records whose message is msg to ch (without
// blocking: the first ones are kept).
type recordingHandler struct {
	msg   string
	ch    chan logRecord
	attrs []slog.Attr
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != h.msg {
		return nil
	}
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { rec.attrs[a.Key] = a.Value.String(); return true })
	select {
	case h.ch <- rec:
	default:
	}
	return nil
}

func (h *recordingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *recordingHandler) WithGroup(string) slog.Handler { return h }

// In a multi-binder app the warning that an output could not be sent
// named only the input's binder: it names the output binding and its
// binder too, for a send that fails every attempt (input left for
// redelivery) and for one the binder refuses for good (dead-lettered).
func TestSendFailureLogNamesTheOutputBinder(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		err       error
		level     slog.Level
		async     bool
	}{
		{"transient", "output send failed after every attempt; input left for redelivery", errors.New("broker unavailable"), slog.LevelWarn, false},
		{"permanent", "message failed, sending to the dead-letter queue", stream.Permanent(errors.New("message too large")), slog.LevelWarn, false},
		{"permanent pipelined", "message failed, sending to the dead-letter queue", stream.Permanent(errors.New("message too large")), slog.LevelWarn, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shared, failing := failingOutputBinders(t, memory.Config{}, tc.err, tc.async)
			inFlight := 1
			if tc.async {
				inFlight = 4
			}
			input := shared
			if tc.async {
				input = func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
					b, err := shared(ctx, s)
					if err != nil {
						return nil, err
					}
					return pipeliningBinder{b}, nil
				}
			}
			cfg := loadYAML(t, fmt.Sprintf(`spring.cloud.stream:
  function.definition: relay
  binders:
    orders: { type: memory }
    warehouse: { type: failing }
  bindings:
    relay-in-0:
      binder: orders
      destination: in
      group: g
      consumer: { max-attempts: 2, back-off-initial-interval: 1ms, back-off-max-interval: 2ms, dlq: true, max-in-flight: %d }
    relay-out-0: { binder: warehouse, destination: out }
`, inFlight))
			h := &recordingHandler{msg: tc.msg, ch: make(chan logRecord, 1)}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sender := runWithSender(ctx, t, cfg, slog.New(h), input, failing, shared)
			dead := make(chan stream.Envelope, 1)
			c, err := sender.BindConsumer(ctx, stream.ConsumerSpec{Binding: "dlq-reader", Destination: stream.DLQName("in", "g"), Group: "reader",
				ContentType: stream.DefaultContentType, Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
				Handler: func(_ context.Context, m stream.Envelope) error {
					m.Headers = m.Headers.Clone()
					select {
					case dead <- m:
					default:
					}
					return nil
				}})
			if err == nil {
				err = c.Start(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Stop(context.Background()) }()
			p, err := sender.BindProducer(ctx, stream.ProducerSpec{Binding: "sender", Destination: "in"})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Send(ctx, stream.Envelope{Payload: []byte("hello")}); err != nil {
				t.Fatal(err)
			}
			var rec logRecord
			select {
			case rec = <-h.ch:
			case <-ctx.Done():
				t.Fatalf("no %q logged", tc.msg)
			}
			want := map[string]string{"binder": "orders", "output_binding": "relay-out-0", "output_binder": "warehouse", "attempts": "2"}
			if tc.err != nil && stream.IsPermanent(tc.err) {
				want["attempts"] = "1"
			}
			for k, v := range want {
				if rec.attrs[k] != v {
					t.Errorf("%s = %q, want %q (record %v)", k, rec.attrs[k], v, rec.attrs)
				}
			}
			if rec.level != tc.level || rec.attrs["error"] == "" {
				t.Errorf("record %v", rec)
			}
			if !stream.IsPermanent(tc.err) {
				return
			}
			// The dead letter carries the binder's error as before: its
			// message and chain, without the marker of a send error.
			select {
			case m := <-dead:
				h := m.Headers
				if h[stream.HeaderExceptionMessage] != "binding relay-out-0: send to out: message too large" || strings.Contains(h[stream.HeaderExceptionStacktrace], "sendError") ||
					h[stream.HeaderExceptionFQCN] != "*errors.errorString" {
					t.Errorf("dead letter headers: message %q, fqcn %q, stack trace %q", h[stream.HeaderExceptionMessage], h[stream.HeaderExceptionFQCN], h[stream.HeaderExceptionStacktrace])
				}
			case <-ctx.Done():
				t.Fatal("no dead letter")
			}
		})
	}
}

// failingOutputBinders returns the memory binder factory of a new broker
// (closed at the test's end) and one on the same broker whose producers
// fail every send with err (asynchronously when async).
func failingOutputBinders(t *testing.T, cfg memory.Config, err error, async bool) (shared, failing stream.BinderFactory) {
	t.Helper()
	broker, berr := memory.NewBroker(cfg)
	if berr != nil {
		t.Fatal(berr)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	shared = memory.Factory(broker)
	failing = func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		s.Type = memory.Type
		b, err2 := shared(ctx, s)
		if err2 != nil {
			return nil, err2
		}
		return &failingBinder{Binder: b, err: err, async: async}, nil
	}
	return shared, failing
}

// runWithSender runs the app of cfg and relayCatalog, logging to logger,
// with the binder types memory (made by input) and "failing", and returns
// a memory binder "sender" made by shared. Both end at the test's end.
func runWithSender(ctx context.Context, t *testing.T, cfg *stream.Config, logger *slog.Logger, input, failing, shared stream.BinderFactory) stream.Binder {
	t.Helper()
	app, err := stream.NewApp(cfg, relayCatalog(), stream.WithoutSignals(), stream.WithLogger(logger),
		stream.WithBinderType(memory.Type, input), stream.WithBinderType("failing", failing))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	t.Cleanup(func() { _ = r.stop() })
	sender, err := shared(ctx, stream.BinderSettings{Name: "sender", Type: memory.Type})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sender.Close(context.Background()) })
	return sender
}
