package nats_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestStreamRemadeWhilePausedNoStaleAck: a member paused while it holds a
// message of its stream (old-2, sequence 2); right after its 5s consumer
// info, another program deletes the stream and another member makes it
// and the durable again, and holds the new stream's messages 1 and 2. The
// paused member resumes before its next consumer info: it must not
// acknowledge old-2 on the new durable (that acknowledged new-2, held
// by the other member, unhandled). It did: Resume handled what it held
// at once, and only the 5s consumer info told the stream was made again.
func TestStreamRemadeWhilePausedNoStaleAck(t *testing.T) {
	// Not parallel: Pause has no hook telling it took effect, and the
	// test gives it 300ms (below).
	b, _ := shared(t, nil)
	dest := unique(t, "remade-paused")
	ext := map[string]any{"prefetch": 2}
	old1In, old1Go, old2Done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var once1, once2, goOnce sync.Once
	release1 := func() { goOnce.Do(func() { close(old1Go) }) }
	defer release1()
	hB := func(_ context.Context, m stream.Envelope) error {
		switch m.Headers[idHeader] {
		case "old-1":
			once1.Do(func() { close(old1In); <-old1Go })
		case "old-2":
			once2.Do(func() { close(old2Done) })
		}
		return nil
	}
	ll := newLineLog()
	cB := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: hB, Extension: ext, Logger: slog.New(ll)})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	for _, id := range []string{"old-1", "old-2"} {
		if err := p.Send(ctx, msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	<-old1In
	// old-2 is received (prefetch 2) and waits behind old-1.
	if !ackPending(t, dest, "g", 2, 10*time.Second) {
		t.Fatal("old-2 was not delivered to member B")
	}
	paused := make(chan error, 1)
	go func() { paused <- cB.Pause(ctx) }()
	// Pause has no hook telling it took effect; old-1 returns after it
	// did (else old-2 is handled before Resume: checked below).
	time.Sleep(300 * time.Millisecond)
	release1()
	if err := <-paused; err != nil {
		t.Fatal(err)
	}

	// B's consumer info requests (every 5s): act right after one.
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	infos, err := nc.SubscribeSync("$JS.API.CONSUMER.INFO." + natsbinder.StreamName(dest) + ".g")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := infos.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("no consumer info from member B: %v", err)
	}
	start := time.Now()
	deleteStream(t, dest)
	// Member A (another process) makes the stream and the durable again
	// and holds the new stream's messages.
	b2 := tracked{newBinder(t, natstest.URL(), nil), newStreams(t, natstest.URL())}
	closeBinder(t, b2)
	holdA := make(chan struct{})
	defer close(holdA)
	startConsumer(t, b2, stream.ConsumerSpec{Destination: dest, Group: "g", Extension: ext,
		Handler: func(ctx context.Context, _ stream.Envelope) error {
			select {
			case <-holdA:
			case <-ctx.Done():
			}
			return stream.ErrNak
		}})
	for _, id := range []string{"new-1", "new-2"} {
		if err := p.Send(ctx, msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	if !ackPending(t, dest, "g", 2, 3*time.Second) {
		t.Fatal("member A did not receive new-1 and new-2")
	}
	if ll.wait("deleted and made again", 0) {
		t.Skip("member B noticed before it resumed (its 5s consumer info)")
	}
	select {
	case <-old2Done:
		t.Fatal("old-2 was handled before Resume")
	default:
	}
	if err := cB.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	<-old2Done
	if d := time.Since(start); d > 4*time.Second {
		t.Skipf("member B resumed %s after its consumer info: its next one may have noticed", d)
	}
	if ackPending(t, dest, "g", 1, 2*time.Second) {
		t.Error("new-2, held by member A, was acknowledged by member B's old-2")
	}
}
