package rabbit

import (
	"context"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestPipelinedPauseHandsBackNak: a pipelined worker (AsyncHandler) holds
// a Nak'ed delivery for redelivery-delay (10s here) before it requeues
// it. The delivery counts as active until it is settled, so a Pause cuts
// that wait short: the delivery is nacked (handed back) before Pause
// returns, and handled again right after Resume, not 10s later. Before,
// the worker stopped counting it before the wait, and Pause returned with
// the delivery still held, unacknowledged, for the rest of the delay.
func TestPipelinedPauseHandsBackNak(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "pipenakpause")
	var logs syncbuf.Buffer
	cc := newCallCounter()
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "pipenak-in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"redelivery-delay": "10s"},
		Logger:    slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Handler: func(_ context.Context, m stream.Envelope) error {
			cc.add(string(m.Payload))
			return stream.ErrNak
		},
		AsyncHandler: func(_ context.Context, m stream.Envelope, done func(error)) {
			cc.add(string(m.Payload))
			done(stream.ErrNak)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if w := c.(stream.PipelineReporter).PipelineWindow(); w < 2 {
		t.Fatalf("pipeline window %d: not pipelined", w)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	ch := rabbittest.Channel(t, vhost)
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte("m0")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cc.calls:
	case <-ctx.Done():
		t.Fatal("m0 not handled")
	}
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	start := time.Now()
	err = c.Pause(pctx)
	pcancel()
	if err != nil {
		t.Fatalf("Pause with a Nak'ed delivery held for redelivery-delay: %v", err)
	}
	took := time.Since(start)
	// Handed back before Pause returned: the broker delivers it again at
	// once (to this consumer, whose subscription a Pause keeps), and after
	// Resume it is handled again promptly — not once the 10s
	// redelivery-delay has passed, as when Pause left it held.
	if _, n := cc.snapshot(); n != 1 {
		t.Errorf("%d handler calls while paused; want 1", n)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cc.calls:
	case <-time.After(3 * time.Second):
		t.Fatalf("m0 not handled again within 3s of Resume (Pause took %s): Pause left it held for redelivery-delay (10s) rather than hand it back; logs:\n%s", took.Round(time.Millisecond), logs.String())
	}
}
