package nats_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// countingHandler counts the log records at WARN and above.
type countingHandler struct{ n *atomic.Int64 }

func (h countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h countingHandler) Handle(context.Context, slog.Record) error    { h.n.Add(1); return nil }
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h countingHandler) WithGroup(string) slog.Handler                { return h }

// TestBreakConsumerCannotBeMadeAgain: the group's durable consumer is
// deleted and cannot be made again (the stream's max_consumers is taken
// by another consumer meanwhile). The binding reports itself down with the
// server's reason, retries with back-off (not in a tight loop of requests
// and log lines), and consumes again once the consumer can be made.
func TestBreakConsumerCannotBeMadeAgain(t *testing.T) {
	t.Parallel() // waits on ack-wait and timers: runs beside the others
	srv := natstest.Start(t, natstest.Options{})
	dest := unique(t, "maxcons")
	js := jsAt(t, srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := natsbinder.StreamName(dest)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{dest, dest + ".>"}, MaxConsumers: 1}); err != nil {
		t.Fatal(err)
	}
	var warns atomic.Int64
	bb, err := natsbinder.New(ctx, stream.BinderSettings{Name: "nats", Type: natsbinder.Type,
		Environment: map[string]any{"servers": srv.URL()}, Logger: slog.New(countingHandler{&warns})})
	if err != nil {
		t.Fatal(err)
	}
	b := bb.(*natsbinder.Binder)
	closeBinder(t, b)
	tr := newTracker()
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0)})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	if err := p.Send(ctx, msg("before")); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"before"}, 10*time.Second)

	// The binding may make g again between the delete and the squatter
	// (it notices a lost consumer quickly): then delete it again.
	for {
		if err := js.DeleteConsumer(ctx, name, "g"); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Logf("delete consumer g: %v; again", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		_, err := js.CreateOrUpdateConsumer(ctx, name, jetstream.ConsumerConfig{Durable: "squatter", AckPolicy: jetstream.AckExplicitPolicy})
		if err == nil {
			break
		}
		if !errors.Is(err, jetstream.ErrMaximumConsumersLimit) {
			t.Fatal(err)
		}
		t.Logf("the binding made g again first (%v); again", err)
	}
	health := c.(stream.BindingHealthChecker)
	waitFor(t, 20*time.Second, "the binding to report itself down", func() bool { return health.Health(ctx) != nil })
	herr := health.Health(ctx)
	t.Logf("binding health: %v", herr)
	if !strings.Contains(herr.Error(), "maximum consumers") {
		t.Errorf("binding health %q does not give the server's reason", herr)
	}
	before := warns.Load()
	time.Sleep(5 * time.Second)
	n := warns.Load() - before
	t.Logf("%d WARN lines in 5s while the consumer cannot be made", n)
	if n > 10 {
		t.Errorf("%d WARN lines in 5s: retrying without back-off", n)
	}
	if err := js.DeleteConsumer(ctx, name, "squatter"); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, msg("after")); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"after"}, 20*time.Second)
	waitFor(t, 10*time.Second, "the binding to report itself up", func() bool { return health.Health(ctx) == nil })
}
