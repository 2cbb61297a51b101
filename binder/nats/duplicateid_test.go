package nats_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/internal/testproxy"
	"github.com/streambind/streambind/stream"
)

// TestDuplicateIDWarnedAndCounted: a second, different message that
// reuses an id within the stream's duplicate-window is not stored by
// JetStream (Nats-Msg-Id de-duplication; its PubAck says duplicate), and
// its Send succeeds: the producer says so in a WARN, paced (one line for
// three such sends), naming the binding, the id and the window, and counts
// each in stream.SendStats.Duplicates. Before, nothing told of the loss.
func TestDuplicateIDWarnedAndCounted(t *testing.T) {
	b, _ := shared(t, map[string]any{"stream": map[string]any{"duplicate-window": "90s"}})
	dest := unique(t, "dupid")
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil)).With("binding", "orders-out-0")
	p := bindProducer(t, b, stream.ProducerSpec{Binding: "orders-out-0", Destination: dest, Logger: log})
	for _, payload := range []string{"first", "second", "third", "fourth"} {
		m := msg(payload)
		m.Headers[stream.HeaderID] = "order-7"
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatalf("Send %s: %v", payload, err)
		}
	}
	if got := p.(stream.SendReporter).SendStats().Duplicates; got != 3 {
		t.Errorf("SendStats().Duplicates = %d, want 3", got)
	}
	var warns []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=WARN") {
			warns = append(warns, l)
		}
	}
	if len(warns) != 1 {
		t.Fatalf("want one (paced) WARN for the three duplicates, got %d:\n%s", len(warns), logs.String())
	}
	for _, want := range []string{"binding=orders-out-0", "id=order-7", "duplicate_window=1m30s", "duplicate"} {
		if !strings.Contains(warns[0], want) {
			t.Errorf("WARN lacks %q: %s", want, warns[0])
		}
	}
}

// TestDuplicateOfOwnRetryNotWarned: the binder's own retry of a send whose
// PubAck was lost is acknowledged as a duplicate of the first attempt,
// which was stored; that is the de-duplication doing its work, neither
// warned nor counted.
func TestDuplicateOfOwnRetryNotWarned(t *testing.T) {
	natstest.Require(t)
	u, err := url.Parse(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	px := testproxy.Start(t, u.Host)
	b := newBinder(t, "nats://"+px.Addr(), nil)
	closeBinder(t, b)
	tb := tracked{b, newStreams(t, natstest.URL())}
	dest := unique(t, "dupretry")
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := bindProducer(t, tb, stream.ProducerSpec{Destination: dest, Logger: log,
		Extension: map[string]any{"send-timeout": "300ms", "send-attempts": 20}})
	if err := p.Send(context.Background(), msg("warm-up")); err != nil {
		t.Fatal(err)
	}

	px.Freeze(testproxy.Down) // the PubAck of the first attempt is held back
	done := make(chan error, 1)
	go func() {
		m := msg("once")
		m.Headers[stream.HeaderID] = "retried-7"
		done <- p.Send(context.Background(), m)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "send failed; retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("the first attempt did not time out:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	px.Thaw()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Send did not end")
	}
	if got := p.(stream.SendReporter).SendStats().Duplicates; got != 0 {
		t.Errorf("SendStats().Duplicates = %d after the binder's own retry, want 0", got)
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("a WARN for the binder's own retry:\n%s", logs.String())
	}
}
