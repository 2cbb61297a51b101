package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
)

// TestRestartsSpendNoDeliveriesOfUnhandled: entries read ahead of
// handling and given back by a Stop spend none of their max-deliveries.
// Each Stop gave them back (XCLAIM ... JUSTID, no delivery counted) but
// the next Start's claim counted one, so after max-deliveries orderly
// restarts entries that no handler had seen were dropped as poison (found
// by a breaker: 540-560 of 600 after repeated Stop/Start with prefetch
// 1000). Here each of 5 runs blocks on one new entry until Stop runs out
// of time (that entry spends a delivery, as it should), with the other
// entries read ahead; max-deliveries is 3. Every entry must be handled in
// the end.
func TestRestartsSpendNoDeliveriesOfUnhandled(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	dest := "restartdeliveries"
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	all := ids("m", 30)
	send(t, p, all)

	var mu sync.Mutex
	blocked := map[string]bool{} // entries a run blocked on
	handled := map[string]int{}
	blocking := true
	called := make(chan struct{}, 1)
	h := func(ctx context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		mu.Lock()
		block := blocking && !blocked[id]
		if block {
			blocked[id], blocking = true, false
		}
		mu.Unlock()
		if block {
			called <- struct{}{}
			<-ctx.Done() // until Stop runs out of time
			return ctx.Err()
		}
		mu.Lock()
		handled[id]++
		mu.Unlock()
		return nil
	}
	ext := map[string]any{"prefetch": 64, "max-deliveries": 3, "claim-min-idle": "1s"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "test-in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Handler:  h, Extension: ext, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	redisbinder.MeasuredCost(c, time.Microsecond) // it reads ahead (see bindReadingAhead)
	for run := range 5 {
		mu.Lock()
		blocking = true
		mu.Unlock()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-called: // the run read its reply and is in the handler
		case <-ctx.Done():
			t.Fatalf("run %d: no handler call", run)
		}
		sctx, scancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_ = c.Stop(sctx) // runs out of time: the blocked entry is given back
		scancel()
	}
	mu.Lock()
	blocking = false
	mu.Unlock()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()
	for {
		mu.Lock()
		missing := ""
		for _, id := range all {
			if handled[id] == 0 {
				missing = id
				break
			}
		}
		mu.Unlock()
		if missing == "" {
			return
		}
		select {
		case <-ctx.Done():
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s never handled (handled %d of %d): entries read ahead spent deliveries at each restart and were dropped", missing, len(handled), len(all))
		case <-time.After(20 * time.Millisecond): // polling the handled set, bounded by ctx
		}
	}
}
