package redis_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestRestartHandlesGivenBackFirst: a member stopped gracefully while it
// holds entries it has not handled gives them back; the member that
// starts next in the group (a rolling restart) handles them before the
// entries nobody has read yet, so the stream's order holds. Its Start's
// reclaim ran beside the first read of new entries, and with concurrency 1
// the reclaimer's goroutine and the handling goroutine took turns, so the
// given-back entries were handled interleaved with later ones (found by
// the rolling-deployment trial).
func TestRestartHandlesGivenBackFirst(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	dest := "stoporder"
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	const n = 40
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("m%02d", i))
	}
	send(t, p, want)
	started := make(chan struct{})
	unblock := make(chan struct{})
	var once sync.Once
	first := func(ctx context.Context, m stream.Envelope) error {
		once.Do(func() {
			close(started)
			<-unblock // the first entry is in flight when Stop begins
		})
		return nil
	}
	ext := map[string]any{"prefetch": 8}
	a := bindReadingAhead(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: first, Extension: ext})
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first member received nothing")
	}
	time.Sleep(200 * time.Millisecond) // it reads up to prefetch meanwhile
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- a.Stop(ctx)
	}()
	time.Sleep(200 * time.Millisecond)
	close(unblock)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []string
	tr := newTracker()
	second := func(ctx context.Context, m stream.Envelope) error {
		time.Sleep(5 * time.Millisecond) // a handler that takes a while, as in the trial
		mu.Lock()
		got = append(got, m.Headers[idHeader])
		mu.Unlock()
		tr.receive(m.Headers[idHeader])
		return nil
	}
	// A binder of its own, as a restarted process has.
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: dest, Group: "g", Handler: second, Extension: ext})
	tr.wait(t, want[1:], 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if !slices.IsSorted(got) || slices.Contains(got, "m01") {
		t.Errorf("the member starting next handled %v; want m02..m%02d in order", got, n)
	}
}
