package nats

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A running member follows its group's durable as the server has it: an
// operator (or a member of another version) that raises the ack-wait and
// sets max-deliver has the member time its in-progress acks and lapse
// detection by the raised one — else a member configured with 2s would
// take messages for lapsed (given to another member) that the server still
// keeps for 30s — and a lowered one is followed as well, within
// configRefresh.
func TestAckWaitFollowsServer(t *testing.T) {
	ctx, url, dest, b := internalBinder(t, "timing")
	sc, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Handler:   func(context.Context, stream.Envelope) error { return nil },
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"ack-wait": "2s"}})
	if err != nil {
		t.Fatal(err)
	}
	c := sc.(*consumer)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.ackWait(); got != 2*time.Second {
		t.Fatalf("ack-wait after the bind: %v, want 2s", got)
	}
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	update := func(ackWait time.Duration, maxDeliver int) {
		t.Helper()
		cfg := c.cfg
		cfg.AckWait, cfg.MaxDeliver = ackWait, maxDeliver
		if _, err := js.UpdateConsumer(ctx, c.ref.name, cfg); err != nil {
			t.Fatal(err)
		}
	}
	await := func(ackWait time.Duration, maxDeliver int64) {
		t.Helper()
		deadline := time.After(3 * configRefresh)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for c.ackWait() != ackWait || c.maxDeliver() != maxDeliver {
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("after %v the member times by ack-wait %v, max-deliver %d; want %v, %d", 3*configRefresh, c.ackWait(), c.maxDeliver(), ackWait, maxDeliver)
			}
		}
	}
	update(30*time.Second, 5)
	await(30*time.Second, 5)
	update(3*time.Second, -1)
	await(3*time.Second, -1)
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// An ack-wait another member's bind announced as lowered holds over what
// the server still says until the server has it or announceHold passed.
func TestAnnouncedAckWaitHolds(t *testing.T) {
	c := &consumer{}
	c.timing.announced.Store(int64(2 * time.Second))
	c.timing.announcedUntil.Store(monoNow() + int64(time.Minute))
	if got := c.serverAckWait(jetstream.ConsumerConfig{AckWait: 30 * time.Second}); got != 2*time.Second {
		t.Fatalf("before the update: %v, want the announced 2s", got)
	}
	if got := c.serverAckWait(jetstream.ConsumerConfig{AckWait: 2 * time.Second}); got != 2*time.Second || c.timing.announced.Load() != 0 {
		t.Fatalf("after the update: %v (announcement %v), want 2s and the announcement done", got, c.timing.announced.Load())
	}
	c.timing.announced.Store(int64(2 * time.Second))
	c.timing.announcedUntil.Store(monoNow() - 1)
	if got := c.serverAckWait(jetstream.ConsumerConfig{AckWait: 30 * time.Second}); got != 30*time.Second {
		t.Fatalf("an expired announcement: %v, want the server's 30s", got)
	}
	if got := c.serverAckWait(jetstream.ConsumerConfig{}); got != 30*time.Second {
		t.Fatalf("unset: %v, want JetStream's default 30s", got)
	}
}

// internalBinder is the set-up of this package's internal tests against
// the real server: a binder of natstest's server (closed at the end), a
// destination of the test's own (its stream deleted at the end, named
// with suffix) and a context of a minute.
func internalBinder(t *testing.T, suffix string) (context.Context, string, string, stream.Binder) {
	t.Helper()
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := "natstest." + strings.ToLower(t.Name()) + "-" + uuid.NewString()[:8] + "." + suffix
	natstest.DeleteStreams(t, url, func() []string { return []string{StreamName(dest)} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	b, err := New(ctx, stream.BinderSettings{Name: "nats", Type: Type, Environment: map[string]any{"servers": url}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return ctx, url, dest, b
}
