package rabbit

import (
	"context"
	"encoding/binary"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// lineCatcher is a slog handler that sends every line, its message and
// attributes as text, to lines (dropping what does not fit).
type lineCatcher struct{ lines chan string }

func (h lineCatcher) Enabled(context.Context, slog.Level) bool { return true }
func (h lineCatcher) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	select {
	case h.lines <- b.String():
	default:
	}
	return nil
}
func (h lineCatcher) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h lineCatcher) WithGroup(string) slog.Handler      { return h }

// consumerTimeoutReason is what RabbitMQ 3.10 closes a channel with when a
// delivery was not acknowledged within its consumer_timeout.
const consumerTimeoutReason = "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 1800000 ms. This timeout value can be configured, see consumers doc guide to learn more"

// TestConsumerTimeoutWarns: when the broker closes the consumer channel
// for its consumer_timeout (prefetched messages count toward it: with
// prefetch 128, handlers slower than about 14 s a message reach the 30
// minutes), the binder says so and what to change, instead of a bare
// "consumer channel lost". The closure is injected by a proxy, on the
// channel the binder consumes on: the broker's consumer_timeout is
// broker-wide on 3.10 (no queue argument or policy sets it). The broker,
// which did not close the channel, answers the client's close-ok by
// closing the connection (503 COMMAND_INVALID); the binder reconnects.
func TestConsumerTimeoutWarns(t *testing.T) {
	t.Parallel()
	var consumeCh atomic.Int32
	consumeCh.Store(-1)
	px := rabbittest.NewProxy(t, func(typ byte, channel uint16, payload []byte) {
		if typ == 1 && len(payload) >= 4 && binary.BigEndian.Uint16(payload) == 60 && binary.BigEndian.Uint16(payload[2:]) == 20 {
			consumeCh.Store(int32(channel)) // basic.consume
		}
	})
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost, "addresses": px.Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lines := make(chan string, 64)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "ct-in-0", Destination: uniqueDest(t, "ctimeout"), Group: "g",
		Logger:  slog.New(lineCatcher{lines}),
		Handler: func(context.Context, stream.Envelope) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ch := consumeCh.Load()
	if ch < 0 {
		t.Fatal("no basic.consume seen")
	}
	if n := px.CloseChannel(uint16(ch), amqp.PreconditionFailed, consumerTimeoutReason); n == 0 {
		t.Fatal("no connection to send channel.close to")
	}
	for {
		select {
		case l := <-lines:
			if !strings.Contains(l, "consumer channel") {
				continue
			}
			for _, want := range []string{"WARN", "consumer_timeout", "lower prefetch", "raise the broker's consumer_timeout", "prefetch=128", "consumer_timeout=30m0s"} {
				if !strings.Contains(l, want) {
					t.Fatalf("the line on the closure does not say %q: %s", want, l)
				}
			}
			return
		case <-ctx.Done():
			t.Fatal("nothing logged about the closed consumer channel")
		}
	}
}

// TestConsumerTimedOut: which closures are the broker's consumer_timeout.
func TestConsumerTimedOut(t *testing.T) {
	for _, tc := range []struct {
		e     *amqp.Error
		want  bool
		after time.Duration
	}{
		{nil, false, 0},
		{&amqp.Error{Code: amqp.PreconditionFailed, Reason: consumerTimeoutReason}, true, 30 * time.Minute},
		{&amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - delivery acknowledgement on channel 3 timed out"}, true, 0},
		{&amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - unknown delivery tag 7"}, false, 0},
		{&amqp.Error{Code: amqp.ConnectionForced, Reason: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"}, false, 0},
	} {
		got, after := consumerTimedOut(tc.e)
		if got != tc.want || after != tc.after {
			t.Errorf("%v: %v %s, want %v %s", tc.e, got, after, tc.want, tc.after)
		}
	}
}

// TestStopSaysWhatItWaitsFor: a Stop whose context ends while the broker
// has not answered the consumer's basic.cancel (a stalled connection: a
// proxy holds the broker's frames) says so; it said "handlers still
// running" with no handler running.
func TestStopSaysWhatItWaitsFor(t *testing.T) {
	t.Parallel()
	px := rabbittest.NewProxy(t, nil)
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost, "addresses": px.Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "st-in-0", Destination: uniqueDest(t, "stopwait"), Group: "g",
		Handler: func(context.Context, stream.Envelope) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	px.Stall()
	defer px.Unstall()
	sctx, scancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer scancel()
	err = c.Stop(sctx)
	if err == nil {
		t.Fatal("Stop returned nil while the broker's answer to basic.cancel was held")
	}
	if msg := err.Error(); strings.Contains(msg, "handlers still running") || !strings.Contains(msg, "basic.cancel") {
		t.Fatalf("Stop: %v; want it to name the broker's basic.cancel it waits for, not handlers", err)
	}
	px.Unstall()
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop once the broker answers: %v", err)
	}
}
