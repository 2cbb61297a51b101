package nats_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestStopWhilePausedGivesBackInOrder: a paused member (concurrency above
// 1) that is stopped gives back what it holds in stream order. While the
// binding is paused, a worker of the pool that took a key's next message
// waits with it for Resume; Stop released that message from the worker's
// goroutine while it released the key's later (queued) messages itself, so
// that a later one was often given back first and the member taking over
// got it before the older one (seen by a Pause/Resume/Stop trial with a
// producer running: key k0 handled 77 79 78).
func TestStopWhilePausedGivesBackInOrder(t *testing.T) {
	// Not parallel: its steps wait fixed times for the pull queue to
	// fill (failed once beside a full run of the binder packages).
	b, _ := shared(t, nil)
	js := jsAt(t, natstest.URL())
	for round := range 8 {
		dest := unique(t, fmt.Sprintf("stoppaused%d", round))
		p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
		const n = 12
		for i := 1; i <= n; i++ {
			m := msg(fmt.Sprintf("m%02d", i))
			m.Key = []byte("k") // one route: the later ones queue behind m01
			if err := p.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		started, unblock := make(chan struct{}), make(chan struct{})
		var once sync.Once
		var mu sync.Mutex
		var handled []string
		h := func(ctx context.Context, m stream.Envelope) error {
			once.Do(func() {
				close(started)
				<-unblock
			})
			mu.Lock()
			handled = append(handled, m.Headers[idHeader])
			mu.Unlock()
			return nil
		}
		c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
			Consumer: stream.ConsumerConfig{Concurrency: 4}, Extension: map[string]any{"prefetch": 8}})
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the member received nothing")
		}
		time.Sleep(100 * time.Millisecond) // the others of the pull queue behind m01
		// Pause waits for m01's call; once it returned, a free worker
		// takes m02 and waits for Resume with it.
		paused := make(chan error, 1)
		go func() { paused <- c.Pause(context.Background()) }()
		// Let m01's call return only once Pause holds the consumer's
		// lifecycle lock (released earlier, the member would handle the
		// queued ones itself): a Start with an ended context is a no-op on
		// the started consumer while the lock is free, and fails while
		// Pause holds it.
		ended, endedCancel := context.WithCancel(context.Background())
		endedCancel()
		deadline := time.Now().Add(10 * time.Second)
		for c.Start(ended) == nil {
			if time.Now().After(deadline) {
				t.Fatal("Pause did not take the consumer's lock within 10s")
			}
			time.Sleep(time.Millisecond) // polling the lock, bounded by the deadline
		}
		close(unblock)
		if err := <-paused; err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.Stop(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		cons, err := js.Consumer(bindCtx(t), natsbinder.StreamName(dest), natsbinder.DurableName("g", -1))
		if err != nil {
			t.Fatal(err)
		}
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			got = fmt.Sprintf("m%02d", md.Sequence.Stream)
			_ = m.Nak()
		}
		mu.Lock()
		want := fmt.Sprintf("m%02d", len(handled)+1) // handled: a prefix, in order
		h2 := append([]string(nil), handled...)
		mu.Unlock()
		if got != want {
			t.Fatalf("round %d: the first message fetched after Stop is %s; want %s, the oldest the stopped member gave back (it handled %v)", round, got, want, h2)
		}
	}
}
