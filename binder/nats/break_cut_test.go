package nats_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakCutMidStream: the binder's connection is cut again and again
// while eight senders each have a send in flight and a group consumes
// (concurrency 4, keyed) with acks in flight. Every send returns (nil or
// an error) within its context; every message whose send returned nil is
// handled; a send that failed may or may not be stored (at-least-once),
// and the order of each key is kept except where a redelivery repeats
// messages.
func TestBreakCutMidStream(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	px := newHoleProxy(t, srv.Addr())
	b := newBinder(t, px.url(), map[string]any{"reconnect-initial-interval": "20ms", "reconnect-max-interval": "200ms", "reconnect-stable-interval": "100ms"})
	closeBinder(t, b)
	dest := unique(t, "cut")
	tr := newTracker()
	var (
		omu   sync.Mutex
		order = map[string][]int{} // key → sequence numbers as handled
	)
	h := func(_ context.Context, m stream.Envelope) error {
		n, _ := strconv.Atoi(m.Headers["x-n"])
		omu.Lock()
		order[string(m.Key)] = append(order[string(m.Key)], n)
		omu.Unlock()
		tr.receive(0, m.Headers[idHeader])
		return nil
	}
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
		Consumer:  stream.ConsumerConfig{Concurrency: 4},
		Extension: map[string]any{"ack-wait": "3s", "prefetch": 64}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{}})

	const senders, per = 8, 250
	var (
		mu      sync.Mutex
		ok      []string
		failed  int
		slowest time.Duration
		stop    atomic.Bool
	)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "k" + strconv.Itoa(s)
			for i := range per {
				id := fmt.Sprintf("s%d-%d", s, i)
				m := msg(id)
				m.Key = []byte(key)
				m.Headers["x-n"] = strconv.Itoa(i)
				const d = 3 * time.Second
				ctx, cancel := context.WithTimeout(context.Background(), d)
				start := time.Now()
				err := p.Send(ctx, m)
				took := time.Since(start)
				cancel()
				mu.Lock()
				slowest = max(slowest, took)
				if err == nil {
					ok = append(ok, id)
				} else {
					failed++
				}
				mu.Unlock()
				if stop.Load() {
					return
				}
			}
		}()
	}
	sendsDone := make(chan struct{})
	go func() { wg.Wait(); close(sendsDone) }()
	cuts := 0
	tick := time.NewTicker(150 * time.Millisecond)
cutting:
	for {
		select {
		case <-sendsDone:
			break cutting
		case <-tick.C:
			px.cut()
			cuts++
		}
	}
	tick.Stop()
	mu.Lock()
	confirmed := append([]string(nil), ok...)
	t.Logf("%d cuts; %d sends confirmed, %d failed; slowest send %s", cuts, len(confirmed), failed, slowest.Round(time.Millisecond))
	if slowest > 3*time.Second+500*time.Millisecond {
		t.Errorf("a send took %s with a 3s context", slowest)
	}
	mu.Unlock()
	if len(confirmed) < senders*per/2 {
		t.Fatalf("only %d of %d sends confirmed", len(confirmed), senders*per)
	}
	tr.wait(t, confirmed, 30*time.Second)

	tr.mu.Lock()
	dups := 0
	for _, n := range tr.got {
		dups += n - 1
	}
	tr.mu.Unlock()
	omu.Lock()
	defer omu.Unlock()
	backwards := 0
	for k, ns := range order {
		// Allowed: a redelivery goes back to a message not acknowledged
		// before the cut; then the key's messages repeat in order.
		for i := 1; i < len(ns); i++ {
			if ns[i] < ns[i-1] {
				backwards++
				_ = k
			}
		}
	}
	t.Logf("%d duplicate deliveries, %d times a key went back (redeliveries)", dups, backwards)
}
