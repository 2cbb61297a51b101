package nats_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestStopGivesBackInOrder: a member stopped gracefully while it holds
// queued messages and the client still buffers later ones gives them all
// back (Nak) in stream order, so that the member taking over (a rolling
// restart) handles them in order. The client's late ones were given back
// first, and the restarted member handled them before the older queued
// ones (found by the rolling-deployment trial).
// With concurrency 4 the messages carry one key (one route).
func TestStopGivesBackInOrder(t *testing.T) {
	for _, conc := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency-%d", conc), func(t *testing.T) { stopGivesBackInOrder(t, conc) })
	}
}

func stopGivesBackInOrder(t *testing.T, conc int) {
	b, _ := shared(t, nil)
	dest := unique(t, "stoporder")
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	const n = 16
	var want []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("m%02d", i)
		want = append(want, id)
		m := msg(id)
		m.Key = []byte("k")
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	started := make(chan struct{})
	unblock := make(chan struct{})
	var once sync.Once
	first := func(ctx context.Context, m stream.Envelope) error {
		once.Do(func() {
			close(started)
			<-unblock // the first message is in flight when Stop begins
		})
		return nil
	}
	ext := map[string]any{"prefetch": 4}
	a := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: first, Extension: ext,
		Consumer: stream.ConsumerConfig{Concurrency: conc}})
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first member received nothing")
	}
	time.Sleep(300 * time.Millisecond) // the client buffers a further pull meanwhile
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- a.Stop(ctx)
	}()
	time.Sleep(300 * time.Millisecond)
	close(unblock)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []string
	tr := newTracker()
	second := func(ctx context.Context, m stream.Envelope) error {
		mu.Lock()
		got = append(got, m.Headers[idHeader])
		mu.Unlock()
		tr.receive(1, m.Headers[idHeader])
		return nil
	}
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: second, Extension: ext,
		Consumer: stream.ConsumerConfig{Concurrency: conc}})
	tr.wait(t, want[1:], 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if !slices.IsSorted(got) || slices.Contains(got, "m01") {
		t.Errorf("the member taking over handled %v; want m02..m%02d in order", got, n)
	}
}
