package redis_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// retrySignal is a slog handler that counts the WARNs of a held dead
// letter (written again after a delay) and closes retried at the first.
type retrySignal struct {
	once    *sync.Once
	retried chan struct{}
	warns   *atomic.Int64
}

func (h retrySignal) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h retrySignal) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && strings.Contains(r.Message, "dead-lettering failed") {
		h.warns.Add(1)
		h.once.Do(func() { close(h.retried) })
	}
	return nil
}
func (h retrySignal) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h retrySignal) WithGroup(string) slog.Handler      { return h }

// TestDeadLetterHeldCountsInFlight: while Redis cannot take a failed
// entry's dead letter (black-holed: the XADD times out, a failure for
// now), the binder holds the entry, unacknowledged, and writes the dead
// letter again after a delay: the entry is not settled, so it counts in
// flight through the spec's Holding hook (the core's in-flight gauges)
// until its dead letter is written, then no longer. Before, the count
// ended when the handler returned: 0 during the hold. The hold is the
// other binders' (dlhold): after 3 failed attempts the binding's Health
// reports its dead letters down, and its WARN lines are paced (one in
// the first 5s; before, one an attempt and Health never down).
func TestDeadLetterHeldCountsInFlight(t *testing.T) {
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name, "command-timeout": "300ms"})
	var holding bindertest.Holding
	sig := retrySignal{once: new(sync.Once), retried: make(chan struct{}), warns: new(atomic.Int64)}
	failed := make(chan struct{}, 1)
	var frozen atomic.Bool
	spec := stream.ConsumerSpec{Binding: "test-in-0", Destination: "heldinflight", Group: "g", ContentType: stream.DefaultContentType,
		Consumer: stream.ConsumerConfig{DLQ: true, Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Logger:   slog.New(sig),
		Handler: func(context.Context, stream.Envelope) error {
			if !frozen.Swap(true) {
				px.freeze() // the dead letter cannot be written for now
			}
			select {
			case failed <- struct{}{}:
			default: // handled again: the test says so
			}
			return errors.New("poison")
		},
		Holding: holding.Hold}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := bindConsumer(t, b, spec)
	// Sent around the proxy: the handler freezes it at once, maybe
	// before the XADD's reply came back through it (CI: the send timed out).
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "heldinflight"})
	send(t, p, []string{"poison"})
	select {
	case <-failed:
	case <-ctx.Done():
		t.Fatal("the handler was not called")
	}
	select {
	case <-sig.retried:
	case <-ctx.Done():
		t.Fatal("no WARN that the dead letter is written again after a delay")
	}
	firstWarn := time.Now()
	if n := holding.N(); n != 1 {
		t.Errorf("%d entries counted in flight while the dead letter is retried; want 1", n)
	}
	hc := c.(stream.BindingHealthChecker)
	waitFor(t, 10*time.Second, "Health down after 3 failed attempts", func() bool { return hc.Health(ctx) != nil })
	if err := hc.Health(ctx); err != nil && !strings.Contains(err.Error(), "cannot send dead letters") {
		t.Errorf("Health while held: %v; want its dead letters down", err)
	}
	// Paced: one WARN, then DEBUG for 5s (then 10s, ...). On a slow
	// machine the 3 attempts may outlast the first 5s: one more then.
	n, within := sig.warns.Load(), time.Since(firstWarn)
	if want := int64(1 + within/(5*time.Second)); n < 1 || n > want {
		t.Errorf("%d WARNs in the hold's first %v; want 1 (paced: DEBUG between), at most %d", n, within.Round(time.Millisecond), want)
	}
	px.thaw()
	waitFor(t, 20*time.Second, "nothing in flight once the dead letter went", func() bool { return holding.N() == 0 })
	waitFor(t, 10*time.Second, "Health up once the dead letter went", func() bool { return hc.Health(ctx) == nil })
	if s := c.(stream.DeadLetterReporter).DeadLetterStats(); s.Dropped != 0 {
		t.Errorf("dead-letter stats %+v: the entry was dropped, not dead-lettered", s)
	}
	select {
	case <-failed:
		t.Error("the held entry was handled again")
	default:
	}
}
